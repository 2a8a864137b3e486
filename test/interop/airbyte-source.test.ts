/**
 * `sluice airbyte <source> read | sluice airbyte <destination> write`: two processes on a real pipe, as the
 * Airbyte platform connects them; and a failing read's TRACE ERROR and exit code, seen from outside.
 * spec, check, discover and read in detail run in process: src/interop/airbyte-source.test.ts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { STACK_TRACE, lines, sluice, sluicePipe, tempDir } from './support.ts';

let dir: string;
let source: string;
let catalog: string;

type Message = Record<string, unknown> & { type: string };
const parse = (stdout: string) => lines(stdout).map((line) => JSON.parse(line) as Message);

beforeAll(async () => {
  dir = await tempDir();
  const csv = join(dir, 'orders.csv');
  await writeFile(csv, 'id,email\n1,a@example.com\n2,b@example.com\n');
  source = join(dir, 'source.json');
  await writeFile(source, JSON.stringify({ path: csv, types: { id: 'integer' } }));
  catalog = join(dir, 'catalog.json');
  const stream = { name: 'orders', json_schema: { type: 'object' }, supported_sync_modes: ['full_refresh'] };
  await writeFile(catalog, JSON.stringify({ streams: [{ stream, sync_mode: 'full_refresh', destination_sync_mode: 'append' }] }));
});

describe('airbyte read', { concurrent: true }, () => {
  it('piped into write: every record arrives, and the closing state is echoed with both counts', async () => {
    const out = join(dir, 'piped.jsonl');
    const destination = join(dir, 'dest.json');
    await writeFile(destination, JSON.stringify({ path: out }));
    const { first, second } = await sluicePipe(['airbyte', 'file', 'read', '--config', source, '--catalog', catalog], ['airbyte', 'file', 'write', '--config', destination, '--catalog', catalog]);
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(lines(second.stdout).filter((line) => line.startsWith('{"type":"STATE"'))).toEqual([
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"orders"},"stream_state":{}},"sourceStats":{"recordCount":2.0},"destinationStats":{"recordCount":2.0}}}',
    ]);
    expect(await readFile(out, 'utf8')).toBe('{"id":1,"email":"a@example.com"}\n{"id":2,"email":"b@example.com"}\n');
  });

  it('a failure is a TRACE ERROR with a failure_type and exit 1 — no stack trace', async () => {
    const gone = join(dir, 'gone.json');
    await writeFile(gone, JSON.stringify({ path: join(dir, 'gone.csv'), format: 'csv' }));
    const result = await sluice(['airbyte', 'file', 'read', '--config', gone, '--catalog', catalog]);
    expect(result.code).toBe(1);
    const messages = parse(result.stdout);
    const error = messages.find((message) => (message.trace as { type?: string } | undefined)?.type === 'ERROR');
    expect(error?.trace).toMatchObject({ error: { failure_type: 'config_error', message: expect.stringContaining('gone.csv does not exist') } });
    expect(result.stdout + result.stderr).not.toMatch(STACK_TRACE);
  });
});
