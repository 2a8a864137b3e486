import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lines, memoryIo, runMain, tempDir } from '../../test/interop/support.ts';
import fileSource from '../connectors/sources/file/index.ts';
import { parseSingerCatalog } from './singer-catalog.ts';
import { runSingerTap } from './singer-tap.ts';

let dir: string;
let source: string;
let config: unknown;

interface CatalogEntry {
  tap_stream_id: string;
  schema: { type: string; properties: Record<string, unknown> };
  key_properties: string[];
  metadata: Array<{ breadcrumb: string[]; metadata: Record<string, unknown> }>;
}

beforeAll(async () => {
  dir = await tempDir();
  const csv = join(dir, 'orders.csv');
  await writeFile(csv, 'id,name,amount\n1,Ann,12345678901234567890\n2,Bé,0.1000000000000000000001\n');
  config = { path: csv, types: { id: 'integer', amount: 'number' } };
  source = join(dir, 'source.json');
  await writeFile(source, JSON.stringify(config));
  config = fileSource.spec.parse(config);
});

async function discover(): Promise<CatalogEntry> {
  const result = await runMain(['singer', 'tap', 'file', '--config', source, '--discover']);
  expect(result.code).toBe(0);
  const catalog = JSON.parse(result.stdout) as { streams: CatalogEntry[] };
  expect(catalog.streams).toHaveLength(1);
  return catalog.streams[0]!;
}

describe('singer tap', () => {
  it('--discover prints a Singer catalog with stream and property metadata', async () => {
    const stream = await discover();
    expect(stream).toMatchObject({ tap_stream_id: 'orders', key_properties: [], schema: { type: 'object' } });
    expect(Object.keys(stream.schema.properties)).toEqual(['id', 'name', 'amount']);
    const top = stream.metadata.find((entry) => entry.breadcrumb.length === 0);
    expect(top?.metadata).toMatchObject({ selected: true, 'replication-method': 'FULL_TABLE', inclusion: 'available' });
    expect(stream.metadata.filter((entry) => entry.breadcrumb[0] === 'properties').map((entry) => entry.breadcrumb[1])).toEqual(['id', 'name', 'amount']);
  });

  it('--catalog: a stream with selected false emits nothing; a deselected property is left out of SCHEMA and RECORDs', async () => {
    const stream = await discover();
    const edit = (selected: boolean, dropName: boolean) => {
      const metadata = stream.metadata.map((entry) => {
        if (entry.breadcrumb.length === 0) return { ...entry, metadata: { ...entry.metadata, selected } };
        if (dropName && entry.breadcrumb[1] === 'name') return { ...entry, metadata: { ...entry.metadata, selected: false } };
        return entry;
      });
      const parsed = parseSingerCatalog({ streams: [{ ...stream, metadata }] });
      if (!parsed.ok) throw new Error('catalog');
      return parsed.catalog;
    };
    const none = memoryIo();
    expect(await runSingerTap(fileSource, config, none.io, { catalog: edit(false, false) })).toBe('ok');
    expect(none.stdout()).toBe('');
    expect(none.stderr.join('\n')).toContain('stream not selected in the catalog; skipped');
    const some = memoryIo();
    expect(await runSingerTap(fileSource, config, some.io, { catalog: edit(true, true) })).toBe('ok');
    const [schema, ...records] = lines(some.stdout());
    expect(Object.keys((JSON.parse(schema!) as CatalogEntry).schema.properties)).toEqual(['id', 'amount']);
    expect(records).toEqual([
      '{"type":"RECORD","stream":"orders","record":{"id":1,"amount":12345678901234567890}}',
      '{"type":"RECORD","stream":"orders","record":{"id":2,"amount":0.1000000000000000000001}}',
    ]);
  });

  it('with a state to resume from (the file source keeps none): SCHEMA, RECORDs, and METRIC lines at the end', async () => {
    const run = memoryIo();
    expect(await runSingerTap(fileSource, config, run.io, { state: { bookmarks: { orders: { at: 1 } } } })).toBe('ok');
    expect(lines(run.stdout()).map((line) => (JSON.parse(line) as { type: string }).type)).toEqual(['SCHEMA', 'RECORD', 'RECORD']);
    expect(run.stderr).toContain('INFO METRIC: {"type":"counter","metric":"record_count","value":2,"tags":{"endpoint":"orders"}}');
  });

  it('--about prints name, capabilities and the settings schema', async () => {
    const result = await runMain(['singer', 'tap', 'file', '--about']);
    expect(result.code).toBe(0);
    const about = JSON.parse(result.stdout) as { name: string; capabilities: string[]; settings: { properties: Record<string, unknown> } };
    expect(about.name).toBe('tap-sluice-file');
    expect(about.capabilities).toEqual(expect.arrayContaining(['catalog', 'discover', 'state']));
    expect(Object.keys(about.settings.properties)).toContain('path');
  });

  it('a bad catalog file or a destination name names the problem and exits 2', async () => {
    const bad = join(dir, 'catalog-bad.json');
    await writeFile(bad, JSON.stringify({ streams: [{ schema: {} }] }));
    const result = await runMain(['singer', 'tap', 'file', '--config', source, '--catalog', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('streams[0]: a stream needs a tap_stream_id');
    const wrongKind = await runMain(['singer', 'tap', 'destination/file', '--config', source]);
    expect(wrongKind.code).toBe(2);
    expect(wrongKind.stderr).toContain('"destination/file" is not a source');
  });
});
