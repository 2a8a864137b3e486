import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lines, memoryIo, runMain, tempDir } from '../../test/interop/support.ts';
import { startReceiver } from '../../test/support/receiver.ts';
import fileDestination from '../connectors/destinations/file/index.ts';
import httpDestination from '../connectors/destinations/http/index.ts';
import { type ConfiguredCatalog, parseConfiguredCatalog } from './airbyte-catalog.ts';
import { runAirbyteWrite } from './airbyte-destination.ts';

let dir: string;
let n = 0;
function destination(): { config: unknown; out: string } {
  const out = join(dir, `out-${++n}.jsonl`);
  return { config: fileDestination.spec.parse({ path: out }), out };
}
function catalog(mode: string, names = ['s']): ConfiguredCatalog {
  const streams = names.map((name) => ({ stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: mode }));
  const parsed = parseConfiguredCatalog({ streams });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.catalog;
}
type Message = { type: string; log?: { level: string; message: string }; trace?: Record<string, unknown> };
const parse = (stdout: string) => lines(stdout).map((line) => JSON.parse(line) as Message);

beforeAll(async () => {
  dir = await tempDir();
});

describe('airbyte write (in process)', () => {
  it('echoes all three state forms verbatim — ids, unknown fields, numbers as written — with the records since the last', async () => {
    const { config, out } = destination();
    const input = [
      '{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"n":12345678901234567890}}}',
      '{"type":"STATE","state":{"data":{"cursor":1}}}',
      '{"type":"RECORD","record":{"stream":"elsewhere","emitted_at":1,"data":{"n":2}}}',
      '{"type":"RECORD","record":{"stream":"s","data":',
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"c":0.1000000000000000000001}},"id":7,"sourceStats":{"recordCount":2.0}},"extra":{"kept":true}}',
      '{"type":"FUTURE","future":{}}',
      '{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"s"},"status":"COMPLETE"}}}',
      '{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{"d":1},"stream_states":[]}}}',
    ];
    const run = memoryIo(input.join('\n'));
    expect(await runAirbyteWrite(fileDestination, config, catalog('append'), run.io)).toBe('ok');
    expect(lines(run.stdout()).filter((line) => line.startsWith('{"type":"STATE"'))).toEqual([
      '{"type":"STATE","state":{"data":{"cursor":1},"destinationStats":{"recordCount":1.0}}}',
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"c":0.1000000000000000000001}},"id":7,"sourceStats":{"recordCount":2.0},"destinationStats":{"recordCount":2.0}},"extra":{"kept":true}}',
      '{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{"d":1},"stream_states":[]},"destinationStats":{"recordCount":0.0}}}',
    ]);
    const warnings = parse(run.stdout())
      .filter((message) => message.log?.level === 'WARN')
      .map((message) => message.log!.message);
    expect(warnings).toEqual(
      expect.arrayContaining([
        'stdin line 3: RECORD of stream "elsewhere", which is not in the configured catalog',
        expect.stringMatching(/^stdin line 4: not valid JSON \(/),
        'stdin line 6: unknown message type FUTURE; skipped (and any more of this type)',
      ]),
    );
    expect(await readFile(out, 'utf8')).toBe('{"n":12345678901234567890}\n');
  });

  it('empty input: ok and no state', async () => {
    const run = memoryIo('');
    expect(await runAirbyteWrite(fileDestination, destination().config, catalog('overwrite'), run.io)).toBe('ok');
    expect(parse(run.stdout()).filter((message) => message.type !== 'LOG')).toEqual([]);
  });

  it('a sync mode the destination cannot do, or streams that disagree on one, are a TRACE config_error', async () => {
    const dedup = memoryIo('');
    expect(await runAirbyteWrite(fileDestination, destination().config, catalog('append_dedup'), dedup.io)).toBe('usage');
    expect(parse(dedup.stdout())[0]!.trace).toMatchObject({
      type: 'ERROR',
      error: { failure_type: 'config_error', message: 'destination file cannot do destination_sync_mode append_dedup (streams: s); it supports append, overwrite' },
    });
    const mixed = memoryIo('');
    const both = parseConfiguredCatalog({ streams: [...catalog('append', ['a']).streams, ...catalog('overwrite', ['b']).streams] });
    expect(both.ok && (await runAirbyteWrite(fileDestination, destination().config, both.catalog, mixed.io))).toBe('usage');
    expect(JSON.stringify(parse(mixed.stdout())[0])).toContain('several destination sync modes');
  });

  it('a bad config is a TRACE config_error plus its problems with paths on stderr, exit 2', async () => {
    const bad = join(dir, 'bad-dest.json');
    await writeFile(bad, JSON.stringify({ path: 3 }));
    const catalogFile = join(dir, 'catalog.json');
    await writeFile(catalogFile, JSON.stringify({ streams: [] }));
    const result = await runMain(['airbyte', 'file', 'write', '--config', bad, '--catalog', catalogFile]);
    expect(result.code).toBe(2);
    expect(parse(result.stdout)[0]!.trace).toMatchObject({ type: 'ERROR', error: { failure_type: 'config_error', message: expect.stringContaining('path: ') } });
    expect(result.stderr).toContain('  path: Invalid input');
  });

  it('refused credentials fail the write with a TRACE config_error, and no state passes the unsent records', async () => {
    const receiver = await startReceiver((_request, _index, res) => {
      res.writeHead(401).end('who are you?');
    });
    try {
      const config = httpDestination.spec.parse({ url: receiver.url, max_wait_ms: 0 });
      const run = memoryIo('{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"id":1}}}\n{"type":"STATE","state":{"data":{"n":1}}}\n');
      expect(await runAirbyteWrite(httpDestination, config, catalog('append'), run.io)).toBe('failed');
      const messages = parse(run.stdout());
      expect(messages.filter((message) => message.type === 'STATE')).toEqual([]);
      expect(messages.at(-1)).toMatchObject({ type: 'TRACE', trace: { error: { failure_type: 'config_error', message: expect.stringContaining('AUTH_REFUSED') } } });
    } finally {
      await receiver.close();
    }
  });
});
