import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lines, memoryIo, runMain, tempDir } from '../../test/interop/support.ts';
import fileSource from '../connectors/sources/file/index.ts';
import { SluiceError } from '../sdk/errors.ts';
import { defineSource } from '../sdk/source.ts';
import { z } from 'zod';
import { type ConfiguredCatalog, parseConfiguredCatalog } from './airbyte-catalog.ts';
import { runAirbyteRead } from './airbyte-source.ts';

let dir: string;
let sourceFile: string;
let config: unknown;
let catalog: ConfiguredCatalog;

type Message = Record<string, unknown> & { type: string };
const parse = (stdout: string) => lines(stdout).map((line) => JSON.parse(line) as Message);
function configured(names: readonly string[]): ConfiguredCatalog {
  const streams = names.map((name) => ({ stream: { name, json_schema: { type: 'object' } }, sync_mode: 'full_refresh', destination_sync_mode: 'append' }));
  const parsed = parseConfiguredCatalog({ streams });
  if (!parsed.ok) throw new Error('catalog');
  return parsed.catalog;
}

beforeAll(async () => {
  dir = await tempDir();
  const csv = join(dir, 'orders.csv');
  await writeFile(csv, 'id,email\n1,a@example.com\n2,b@example.com\n3,"broken\n');
  const raw = { path: csv, types: { id: 'integer' } };
  sourceFile = join(dir, 'source.json');
  await writeFile(sourceFile, JSON.stringify(raw));
  config = fileSource.spec.parse(raw);
  catalog = configured(['orders']);
});

describe('airbyte spec, check, discover', () => {
  it('spec: source and destination forms; a destination lists its sync modes; a bare ambiguous id is a config_error', async () => {
    const sourceSpec = await runMain(['airbyte', 'source/file', 'spec']);
    expect(sourceSpec.code).toBe(0);
    const [spec] = parse(sourceSpec.stdout);
    expect(spec).toMatchObject({ type: 'SPEC', spec: { connectionSpecification: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', required: ['path'] } } });
    expect(spec!.spec).not.toHaveProperty('supported_destination_sync_modes');
    const destinationSpec = await runMain(['airbyte', 'destination/http', 'spec']);
    expect(parse(destinationSpec.stdout)[0]).toMatchObject({
      type: 'SPEC',
      spec: { supported_destination_sync_modes: ['append', 'append_dedup', 'update'], connectionSpecification: { properties: { headers: { airbyte_secret: true } } } },
    });
    const ambiguous = await runMain(['airbyte', 'file', 'spec']);
    expect(ambiguous.code).toBe(2);
    expect(parse(ambiguous.stdout)[0]).toMatchObject({ type: 'TRACE', trace: { type: 'ERROR', error: { failure_type: 'config_error', message: expect.stringContaining('say source/file or destination/file') } } });
  });

  it('check: SUCCEEDED, or FAILED with the reason — exit 0 either way, as Airbyte expects', async () => {
    const missing = join(dir, 'missing.json');
    await writeFile(missing, JSON.stringify({ path: join(dir, 'nope.csv') }));
    const ok = await runMain(['airbyte', 'source/file', 'check', '--config', sourceFile]);
    expect(ok.code).toBe(0);
    expect(parse(ok.stdout)).toEqual([{ type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } }]);
    const failed = await runMain(['airbyte', 'source/file', 'check', '--config', missing]);
    expect(failed.code).toBe(0);
    expect(parse(failed.stdout)).toEqual([{ type: 'CONNECTION_STATUS', connectionStatus: { status: 'FAILED', message: `${join(dir, 'nope.csv')} does not exist` } }]);
    const invalid = await runMain(['airbyte', 'destination/file', 'check', '--config', sourceFile]);
    expect(parse(invalid.stdout)[0]).toMatchObject({ connectionStatus: { status: 'FAILED', message: expect.stringContaining('types: unknown key') } });
  });

  it('discover: a CATALOG with json_schema, sync modes, cursor and primary key', async () => {
    const result = await runMain(['airbyte', 'file', 'discover', '--config', sourceFile]);
    expect(result.code).toBe(0);
    expect(parse(result.stdout)).toEqual([
      {
        type: 'CATALOG',
        catalog: {
          streams: [
            {
              name: 'orders',
              json_schema: { type: 'object', properties: { id: { type: ['integer', 'null'] }, email: { type: ['string', 'null'] } } },
              supported_sync_modes: ['full_refresh'],
              source_defined_cursor: false,
              default_cursor_field: [],
              source_defined_primary_key: [],
            },
          ],
        },
      },
    ]);
  });
});

describe('airbyte read (in process)', () => {
  it('stream statuses, RECORD envelopes with emitted_at, a LOG for the bad row, then a STATE closing the stream', async () => {
    const before = Date.now();
    const run = memoryIo();
    expect(await runAirbyteRead(fileSource, config, catalog, undefined, run.io)).toBe('ok');
    const messages = parse(run.stdout());
    const summary = messages.map((message) => (message.type === 'TRACE' ? `TRACE ${(message.trace as { stream_status: { status: string } }).stream_status.status}` : message.type));
    expect(summary).toEqual(['TRACE STARTED', 'TRACE RUNNING', 'RECORD', 'RECORD', 'LOG', 'STATE', 'TRACE COMPLETE']);
    const record = messages[2]!.record as { stream: string; emitted_at: number; data: unknown };
    expect(record).toMatchObject({ stream: 'orders', data: { id: 1, email: 'a@example.com' } });
    expect(record.emitted_at).toBeGreaterThanOrEqual(before);
    expect(messages[4]).toMatchObject({ log: { level: 'WARN', message: expect.stringMatching(/orders\.csv line 4: /) } });
    expect(lines(run.stdout())[5]).toBe('{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"orders"},"stream_state":{}},"sourceStats":{"recordCount":2.0}}}');
  });

  it('a stream the source lacks is logged and skipped; a stream not in the catalog is not read', async () => {
    const run = memoryIo();
    expect(await runAirbyteRead(fileSource, config, configured(['customers']), undefined, run.io)).toBe('ok');
    expect(parse(run.stdout())).toEqual([{ type: 'LOG', log: { level: 'WARN', message: 'stream "customers" is in the catalog but the source has no such stream (it has: orders); skipped' } }]);
  });

  it('a state given with --state is resumed from and carried into the closing STATE', async () => {
    const run = memoryIo();
    const state = [{ type: 'STREAM', stream: { stream_descriptor: { name: 'orders' }, stream_state: { seen: 12345678901234567890n } } }];
    expect(await runAirbyteRead(fileSource, config, catalog, state, run.io)).toBe('ok');
    expect(run.stdout()).toContain('"stream_state":{"seen":12345678901234567890}},"sourceStats":{"recordCount":2.0}');
  });

  it('a source failing mid-read: TRACE ERROR system_error, INCOMPLETE for its streams, no closing state', async () => {
    const failing = defineSource({
      id: 'failing',
      title: 'Failing',
      description: 'Fails after one record.',
      spec: z.strictObject({}),
      check: async () => ({ ok: true }),
      discover: async () => [{ name: 'orders', jsonSchema: {}, syncModes: ['full_refresh'] }],
      async *read() {
        yield { type: 'record', stream: 'orders', data: { id: 1 } };
        throw new SluiceError('NETWORK', 'connection reset');
      },
    });
    const run = memoryIo();
    expect(await runAirbyteRead(failing, {}, catalog, undefined, run.io)).toBe('failed');
    const messages = parse(run.stdout());
    expect(messages.map((message) => message.type)).toEqual(['TRACE', 'TRACE', 'RECORD', 'TRACE', 'TRACE']);
    expect(messages[3]).toMatchObject({ trace: { type: 'ERROR', error: { failure_type: 'system_error', message: 'NETWORK: connection reset' } } });
    expect(messages[4]).toMatchObject({ trace: { type: 'STREAM_STATUS', stream_status: { status: 'INCOMPLETE' } } });
  });
});
