/**
 * Private files for an external connector's command line: its config (which holds credentials), a catalog
 * and a state, each written with mode 0600 in a fresh directory of mode 0700, and all removed together
 * when the child is done — or when Sluice exits. The paths are the only thing the child is told; the
 * contents are never logged.
 *
 * A Sluice process killed outright (SIGKILL, power loss) cannot clean up, so directory names carry the
 * pid, and the first directory a process creates sweeps away those of processes that no longer exist.
 */
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringifyJson } from '../../protocol/json.ts';

const PREFIX = 'sluice-external-';
const OWNED = /^sluice-external-(\d+)-/;

/** Directories not yet removed: removed at exit, so a process that ends early leaves no config behind. */
const live = new Set<string>();
let firstUse = true;

export class SecretFiles {
  private constructor(readonly dir: string) {}

  static async create(): Promise<SecretFiles> {
    if (firstUse) {
      firstUse = false;
      process.once('exit', () => {
        for (const path of live) rmSync(path, { recursive: true, force: true });
      });
      await sweepOrphans();
    }
    const dir = await mkdtemp(join(tmpdir(), `${PREFIX}${process.pid}-`));
    // mkdtemp already uses 0700; saying so keeps it true under any platform default.
    await chmod(dir, 0o700);
    live.add(dir);
    return new SecretFiles(dir);
  }

  /** Write `value` as JSON (numbers exact) and return the file's path. */
  async write(name: string, value: unknown): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, stringifyJson(value), { mode: 0o600 });
    return path;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    live.delete(this.dir);
  }
}

/** Remove the directories of Sluice processes that are gone (only ours can be removed: they are 0700). */
async function sweepOrphans(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(OWNED.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || exists(pid)) continue;
    await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Whether a process exists; one we may not signal (EPERM) exists too. */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Create the files, hand them to `use`, and remove them however `use` ends. */
export async function withSecretFiles<T>(use: (files: SecretFiles) => Promise<T>): Promise<T> {
  const files = await SecretFiles.create();
  try {
    return await use(files);
  } finally {
    await files.remove();
  }
}
