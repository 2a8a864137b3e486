/**
 * Which event source a write key belongs to: the `write_keys` of every source of type `events` in the
 * newest config version, decrypted and with `${ENV}` resolved. Kept in memory and refreshed when the
 * config changes: a request looks up a map; at most once per `maxAgeMs` one request starts a background
 * check of the newest config id, and an unknown key waits for a check (at most one per `unknownEveryMs`),
 * so a key posted a moment ago works at once while a flood of wrong keys costs one query per interval.
 */
import { substituteEnv } from '../../config/env.ts';
import { unwrapConfig } from '../../config/load.ts';
import type { Platform } from '../../platform/context.ts';
import { describeError } from '../../sdk/errors.ts';
import type { ConfigIssue } from '../../sdk/spec.ts';
import { decryptConfigSecrets } from '../../store/config-secrets.ts';
import { latestConfig } from '../../store/configs.ts';

type KeyPlatform = Pick<Platform, 'db' | 'secretKey' | 'env' | 'logger'>;

export interface WriteKeyOptions {
  readonly maxAgeMs?: number;
  readonly unknownEveryMs?: number;
}

export class WriteKeys {
  private keys = new Map<string, string>();
  private configId: number | undefined;
  private loaded = false;
  private checkedAt = 0;
  private unknownAt = 0;
  private refreshing: Promise<void> | undefined;
  private readonly maxAgeMs: number;
  private readonly unknownEveryMs: number;

  constructor(
    private readonly platform: KeyPlatform,
    options: WriteKeyOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 2000;
    this.unknownEveryMs = options.unknownEveryMs ?? 250;
  }

  /** The source name of a write key, or undefined. */
  async sourceOf(key: string): Promise<string | undefined> {
    const now = Date.now();
    if (!this.loaded) await this.refresh();
    else if (now - this.checkedAt > this.maxAgeMs) void this.refresh().catch(() => {});
    const found = this.keys.get(key);
    if (found !== undefined) return found;
    if (now - this.unknownAt < this.unknownEveryMs) return undefined;
    this.unknownAt = now;
    await this.refresh();
    return this.keys.get(key);
  }

  /** Re-reads the keys when the config changed (one check at a time). */
  refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async load(): Promise<void> {
    const { db } = this.platform;
    this.checkedAt = Date.now();
    const { rows } = await db.query<{ id: string | null }>('select max(id) as id from sluice.configs');
    const id = rows[0]?.id == null ? undefined : Number(rows[0].id);
    if (this.loaded && id === this.configId) return;
    const config = id === undefined ? undefined : await latestConfig(db);
    this.keys = config === undefined ? new Map() : this.keysOf(config.value, config.id);
    this.configId = config?.id;
    this.loaded = true;
  }

  private keysOf(stored: unknown, configId: number): Map<string, string> {
    const keys = new Map<string, string>();
    let value: unknown;
    try {
      value = decryptConfigSecrets(unwrapConfig(stored), this.platform.secretKey);
    } catch (error) {
      this.platform.logger.error({ configId, error: describeError(error) }, 'write keys: cannot decrypt the config');
      return keys;
    }
    const sources = (value as { sources?: unknown } | null)?.sources;
    if (sources === null || typeof sources !== 'object') return keys;
    for (const [name, entry] of Object.entries(sources as Record<string, unknown>)) {
      if (entry === null || typeof entry !== 'object' || (entry as { type?: unknown }).type !== 'events') continue;
      const issues: ConfigIssue[] = [];
      const list = substituteEnv((entry as { write_keys?: unknown }).write_keys, this.platform.env, issues);
      if (!Array.isArray(list)) continue;
      for (const key of list) {
        if (typeof key !== 'string' || key === '') continue;
        const taken = keys.get(key);
        if (taken !== undefined && taken !== name) {
          this.platform.logger.warn({ configId, sources: [taken, name] }, 'write keys: two event sources share a write key; events go to the first');
          continue;
        }
        keys.set(key, name);
      }
    }
    return keys;
  }
}

/** The write key of a request: HTTP Basic's user name (`base64(key:)`), else `writeKey` in the body. */
export function basicAuthUser(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? decoded : decoded.slice(0, colon);
  return user === '' ? undefined : user;
}
