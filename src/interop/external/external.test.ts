/**
 * The helpers every external connector runs on: masking, private files, and child processes that are
 * stopped whole (process group, SIGKILL after the grace period) and describe their own failure.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { captureLogger, gone } from '../../../test/fixtures/external/support.ts';
import { ExternalProcess } from './child.ts';
import { redactor } from './redact.ts';
import { SecretFiles } from './secret-files.ts';

const node = (script: string) => [process.execPath, '-e', script];

describe('redactor', () => {
  it('masks every string of 4+ characters, longest first, also as JSON escapes it', () => {
    const redact = redactor({ password: 'hunter2-and-more', nested: [{ token: 'hunter2' }], short: 'abc', port: 5432 }, { KEY: 'a"quoted"b' });
    expect(redact('p=hunter2-and-more t=hunter2 s=abc port 5432')).toBe('p=*** t=*** s=abc port 5432');
    expect(redact(JSON.stringify({ key: 'a"quoted"b' }))).toBe('{"key":"***"}');
  });
});

describe('SecretFiles', () => {
  it('writes files only its user can read, in a private directory removed afterwards; sweeps those of dead processes', async () => {
    // A directory left by a Sluice process that was killed outright: its pid no longer exists.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const orphan = join(tmpdir(), `sluice-external-${dead}-left`);
    await mkdir(orphan, { mode: 0o700 });
    const files = await SecretFiles.create();
    await expect(stat(orphan)).rejects.toThrow(/ENOENT/);
    const path = await files.write('config.json', { password: 'x', big: 12345678901234567890n });
    expect((await stat(files.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await files.remove();
    await expect(stat(files.dir)).rejects.toThrow(/ENOENT/);
  });
});

describe('ExternalProcess', { concurrent: true }, () => {
  it('stops the whole process group, with SIGKILL for a child that ignores SIGTERM', async () => {
    const script = "process.on('SIGTERM', () => {}); const c = require('child_process').spawn('sleep', ['30'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);";
    const child = new ExternalProcess({ command: node(script), args: [], logger: captureLogger(), redact: (text) => text });
    const [line] = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next().then((next) => [next.value as string]);
    const grandchild = Number(line);
    const started = Date.now();
    const exit = await child.stop(300);
    expect(exit.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await gone(grandchild, 2000)).toBe(true);
  });

  it('logs stderr by level, keeps METRIC lines out of error messages, and names its exit', async () => {
    const logger = captureLogger();
    const script = "console.error('INFO starting'); console.error('ERROR it broke'); console.error('INFO METRIC: 1'); process.exit(4);";
    const child = new ExternalProcess({ command: node(script), args: [], logger, redact: (text) => text });
    const exit = await child.exited;
    expect(child.describeExit(exit)).toBe('node exited with code 4: ERROR it broke');
    expect(logger.lines.map((line) => line.split(' {')[0])).toEqual(['info node: INFO starting', 'warn node: ERROR it broke', 'debug node: INFO METRIC: 1']);
  });
});
