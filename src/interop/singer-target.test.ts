import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture, fixturesPresent, lines, memoryIo, readJsonl, runMain, tempDir } from '../../test/interop/support.ts';
import fileDestination from '../connectors/destinations/file/index.ts';
import { runSingerTarget } from './singer-target.ts';

let dir: string;
let n = 0;
function destination(): { config: unknown; out: string } {
  const out = join(dir, `out-${++n}.jsonl`);
  return { config: fileDestination.spec.parse({ path: out }), out };
}

beforeAll(async () => {
  dir = await tempDir();
});

describe('singer target (in process)', () => {
  it.skipIf(!fixturesPresent)('schema_updates: all 6 records land across 4 schema changes', async () => {
    const { config, out } = destination();
    const run = memoryIo(await readFile(fixture('singer/schema_updates.singer')));
    expect(await runSingerTarget(fileDestination, config, run.io)).toBe('ok');
    const records = (await readJsonl(out)) as Array<{ id: number }>;
    expect(records.map((record) => record.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(records[0]).toEqual({ id: 1, a1: 101, a2: 'string1' });
    expect(records[5]).toMatchObject({ a5: ['banana', 'orange'], a6: 341 });
    expect(run.stdout()).toBe('{"test_schema_updates":6}\n');
  });

  it('empty input: ok, no state printed, the file left alone', async () => {
    const { config } = destination();
    const run = memoryIo('');
    expect(await runSingerTarget(fileDestination, config, run.io)).toBe('ok');
    expect(run.stdout()).toBe('');
  });

  it('prints a state equal to the one before it only once, and keeps its numbers as written', async () => {
    const { config } = destination();
    const input = ['{"type":"STATE","value":{"n":1.0}}', '{"type":"RECORD","stream":"s","record":{"id":1}}', '{"type":"STATE","value":{"n":1.0}}', '{"type":"STATE","value":{"n":12345678901234567890}}'];
    const run = memoryIo(input.join('\n'));
    expect(await runSingerTarget(fileDestination, config, run.io)).toBe('ok');
    expect(run.stdout()).toBe('{"n":1.0}\n{"n":12345678901234567890}\n');
  });

  it('writes each record exactly — numbers as written, spaced input made compact — across chunk boundaries, and names a bad line', async () => {
    const { config, out } = destination();
    const input = [
      '{"type":"RECORD","stream":"s","record":{"id":1,"big":12345678901234567890,"d":0.1000000000000000000001,"f":2.0},"time_extracted":"2025-01-01T00:00:00Z"}',
      '{"type":"RECORD","stream":"s","record":{ "id": 2, "e": "é\\"}" }}',
      '{"type":"RECORD","stream":"s","record":{"id":3,"id":4}}',
      '{"type":"RECORD","stream":"s","record":{"id":5',
      '{"type":"STATE","value":{"n":1}}',
    ].join('\n');
    // Cut into chunks so lines start in one chunk and end in another.
    const chunks: string[] = [];
    for (let at = 0; at < input.length; at += 37) chunks.push(input.slice(at, at + 37));
    const stdout = new PassThrough();
    let printed = '';
    stdout.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
    const errors: string[] = [];
    expect(await runSingerTarget(fileDestination, config, { input: Readable.from(chunks), output: stdout, errors: (line) => errors.push(line) })).toBe('ok');
    expect(await readFile(out, 'utf8')).toBe('{"id":1,"big":12345678901234567890,"d":0.1000000000000000000001,"f":2.0}\n{"id":2,"e":"é\\"}"}\n{"id":4}\n');
    expect(errors.some((line) => line.includes('stdin line 4: not valid JSON'))).toBe(true);
    expect(printed).toBe('{"n":1}\n');
  });

  it('BATCH: reads jsonl(.gz) files from file:// manifests; an unsupported encoding is a rejected line, not a crash', async () => {
    const { config, out } = destination();
    const plain = join(dir, 'batch-1.jsonl');
    const zipped = join(dir, 'batch-2.jsonl.gz');
    await writeFile(plain, '{"id":1}\n{"id":2}\n');
    await writeFile(zipped, gzipSync('{"id":3}\nnot json\n'));
    const input = [
      JSON.stringify({ type: 'BATCH', stream: 's', encoding: { format: 'jsonl', compression: 'gzip' }, manifest: [pathToFileURL(zipped).href] }),
      JSON.stringify({ type: 'BATCH', stream: 's', encoding: { format: 'jsonl' }, manifest: [pathToFileURL(plain).href] }),
      JSON.stringify({ type: 'BATCH', stream: 's', encoding: { format: 'parquet' }, manifest: ['s3://bucket/x.parquet'] }),
      '{"type":"STATE","value":{"done":true}}',
    ];
    const run = memoryIo(input.join('\n'));
    expect(await runSingerTarget(fileDestination, config, run.io)).toBe('ok');
    expect(await readJsonl(out)).toEqual([{ id: 3 }, { id: 1 }, { id: 2 }]);
    expect(run.stderr).toEqual(
      expect.arrayContaining([expect.stringMatching(/^WARNING .*batch-2\.jsonl\.gz line 2: not valid JSON/), 'WARNING stdin line 3: BATCH encoding "parquet" is not supported (only jsonl)']),
    );
    expect(run.stdout()).toBe('{"done":true}\n');
  });

  it('records the destination rejects are logged with their line, and the run still succeeds', async () => {
    const { out } = destination();
    // Without `columns`, the CSV's columns are the first record's: a record with another field is rejected.
    const csv = fileDestination.spec.parse({ path: out.replace(/\.jsonl$/, '.csv') });
    const run = memoryIo('{"type":"RECORD","stream":"s","record":{"id":1}}\n{"type":"RECORD","stream":"s","record":{"id":2,"extra":true}}\n');
    expect(await runSingerTarget(fileDestination, csv, run.io)).toBe('ok');
    expect(run.stderr.some((line) => /^WARNING stdin line 2: record of stream s rejected/.test(line))).toBe(true);
  });

  it('an invalid config lists its problems with their paths and exits 2; several objects need --object', async () => {
    const config = join(dir, 'bad-dest.json');
    await writeFile(config, JSON.stringify({ path: '', colour: 'red' }));
    const result = await runMain(['singer', 'target', 'file', '--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('colour: unknown key');
    expect(result.stderr).toMatch(/ {2}path: /);
    const zero = await runMain(['singer', 'target', 'file', '--config', config, '--batch-size-rows', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('a whole number of at least 1');
    const run = memoryIo('');
    expect(await runSingerTarget(fileDestination, destination().config, run.io, { object: 'nope' })).toBe('usage');
    expect(run.stderr).toEqual(['error: destination file has no object "nope" that accepts records (objects: records)']);
  });
});

describe.skipIf(!fixturesPresent)('singer target with recorded streams (in process)', () => {
  const A = 'test_multiple_state_messages_a';
  const B = 'test_multiple_state_messages_b';

  it('multiple_state_messages with --batch-size-rows 3: exactly the three states the Singer SDK test expects', async () => {
    const { config, out } = destination();
    const run = memoryIo(await readFile(fixture('singer/multiple_state_messages.singer')));
    expect(await runSingerTarget(fileDestination, config, run.io, { batchSizeRows: 3 })).toBe('ok');
    expect(lines(run.stdout()).map((line) => JSON.parse(line) as unknown)).toEqual([
      { [A]: 1, [B]: 0 },
      { [A]: 3, [B]: 2 },
      { [A]: 5, [B]: 6 },
    ]);
    expect(await readJsonl(out)).toHaveLength(12);
  });

  it('activate_version_soft_with_delete: each ACTIVATE_VERSION is applied only after the records before it are written', async () => {
    const { config, out } = destination();
    const run = memoryIo(await readFile(fixture('singer/activate_version_soft_with_delete.singer')));
    expect(await runSingerTarget(fileDestination, config, run.io)).toBe('ok');
    expect(await readJsonl(out)).toHaveLength(6);
    const applied = run.stderr.filter((line) => line.includes('ACTIVATE_VERSION applied'));
    expect(applied).toHaveLength(2);
    expect(applied[0]).toContain('after the 0 records before it settled');
    expect(applied[1]).toContain('after the 6 records before it settled');
    expect(applied[1]).toContain('"version":1674486431564');
    expect(run.stdout()).toBe('');
  });
});

describe('singer target metrics', () => {
  it('reports record_count per stream periodically, each line counting since the last', async () => {
    const { config } = destination();
    const run = memoryIo(lines('{"type":"RECORD","stream":"s","record":{"id":1}}\n'.repeat(3)).join('\n'));
    expect(await runSingerTarget(fileDestination, config, run.io, { metricsIntervalMs: 60_000 })).toBe('ok');
    expect(run.stderr.filter((line) => line.startsWith('INFO METRIC'))).toEqual(['INFO METRIC: {"type":"counter","metric":"record_count","value":3,"tags":{"endpoint":"s"}}']);
  });
});
