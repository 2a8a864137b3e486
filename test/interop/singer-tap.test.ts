/**
 * `sluice singer tap | sluice singer target`: two processes on a real pipe, as a shell or Meltano runs them.
 * Long numbers and non-ASCII must survive both. (Discover and catalogs: src/interop/singer-tap.test.ts.)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sluice, sluicePipe, tempDir } from './support.ts';

let dir: string;
let source: string;

beforeAll(async () => {
  dir = await tempDir();
  const csv = join(dir, 'orders.csv');
  await writeFile(csv, 'id,name,amount\n1,Ann,12345678901234567890\n2,Bé 🇿🇲,0.1000000000000000000001\n3,"broken\n');
  source = join(dir, 'source.json');
  await writeFile(source, JSON.stringify({ path: csv, types: { id: 'integer', amount: 'number' } }));
});

describe('singer tap', { concurrent: true }, () => {
  it('piped into singer target delivers every row, with a big integer and a long decimal exact', async () => {
    const out = join(dir, 'piped.jsonl');
    const destination = join(dir, 'piped-dest.json');
    await writeFile(destination, JSON.stringify({ path: out }));
    const { first, second } = await sluicePipe(['singer', 'tap', 'file', '--config', source], ['singer', 'target', 'file', '--config', destination]);
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(
      '{"id":1,"name":"Ann","amount":12345678901234567890}\n{"id":2,"name":"Bé 🇿🇲","amount":0.1000000000000000000001}\n',
    );
    // The malformed CSV row is the tap's warning (naming file and line), not the target's problem.
    expect(first.stderr).toMatch(/WARNING .*orders\.csv line 4: a quoted field is not closed/);
    expect(first.stderr).toContain('INFO METRIC: {"type":"counter","metric":"record_count","value":2,"tags":{"endpoint":"orders"}}');
  });

  it('--catalog with the stream deselected emits nothing, and exits 0', async () => {
    const catalog = join(dir, 'catalog-off.json');
    const metadata = [{ breadcrumb: [], metadata: { selected: false, 'replication-method': 'FULL_TABLE' } }];
    await writeFile(catalog, JSON.stringify({ streams: [{ tap_stream_id: 'orders', schema: { type: 'object' }, metadata }] }));
    const result = await sluice(['singer', 'tap', 'file', '--config', source, '--catalog', catalog]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('stream not selected in the catalog; skipped');
  });
});
