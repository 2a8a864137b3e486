/**
 * `sluice test` as a user runs it: a pass/fail table, exit 0 when every check passes, 1 when one fails,
 * 2 for bad usage — against a built-in connector and against an external Singer target command.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.ts';
import type { Output } from '../output.ts';

const TARGET = fileURLToPath(new URL('../../testing/fixtures/jsonl-target.mjs', import.meta.url));
let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-test-cmd-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sluice(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const output: Output = { out: (text) => void (out += `${text}\n`), err: (text) => void (err += `${text}\n`) };
  const code = await main(['node', 'sluice', ...args], output);
  return { code, out, err };
}

describe('sluice test', () => {
  it('runs the suite against an external Singer target and prints a passing table', async () => {
    await writeFile(join(dir, 'target.json'), JSON.stringify({ path: join(dir, 'target.jsonl') }));
    const result = await sluice('test', '--command', `node ${TARGET}`, '--kind', 'singer-target', '--config', join(dir, 'target.json'), '--delivered', join(dir, 'target.jsonl'));
    expect(result.out).toMatch(/✓ singer\.resume-after-kill/);
    expect(result.out).toMatch(/✓ 4 passed, 0 failed, 0 skipped/);
    expect(result.code).toBe(0);
  });

  it('exits 1 with the failing check named when the connector does not conform to its config', async () => {
    await writeFile(join(dir, 'source.yaml'), `type: file\npath: ${join(dir, 'absent.csv')}\n`);
    const result = await sluice('test', 'source/file', '--config', join(dir, 'source.yaml'), '--json');
    const report = JSON.parse(result.out) as { ok: boolean; results: Array<{ id: string; status: string; message: string }> };
    expect(report.ok).toBe(false);
    expect(report.results.find((check) => check.id === 'check.valid')).toMatchObject({ status: 'fail', message: expect.stringMatching(/absent\.csv does not exist/) });
    expect(result.code).toBe(1);
  });

  it('exits 2 for bad usage', async () => {
    expect((await sluice('test', 'destination/http')).err).toMatch(/--config FILE/);
    expect((await sluice('test', '--command', 'true', '--config', join(dir, 'target.json'))).code).toBe(2);
    expect((await sluice('test', 'destination/nope', '--config', join(dir, 'target.json'))).err).toMatch(/no connector named "nope"|CONNECTOR_UNKNOWN/);
  });
});
