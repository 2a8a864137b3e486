/**
 * Discovery once per run. The engine discovers a source's streams, then reads; for an external connector
 * each is a process, and discovery can be slow (a tap introspecting a database). The result is kept per
 * config object for a few minutes, which covers one run; a later run, or a changed config, which is a new
 * object, discovers again. A failed discovery is not kept.
 */
const KEEP_MS = 5 * 60_000;

export class DiscoveryCache<T> {
  private readonly entries = new WeakMap<object, { readonly at: number; readonly value: Promise<T> }>();

  get(config: object, load: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(config);
    if (entry !== undefined && Date.now() - entry.at < KEEP_MS) return entry.value;
    const value = load();
    this.entries.set(config, { at: Date.now(), value });
    value.catch(() => this.entries.delete(config));
    return value;
  }
}
