/**
 * Benchmark input for the protocol targets: the same N orders as bench/data.ts, as a Singer stream and as
 * an Airbyte stream, in bench/.data/ (gitignored; streamed, deterministic, cached like the CSV):
 *
 * - `singer-<N>.jsonl`:  a SCHEMA, then RECORDs (`{"type":"RECORD","stream":"orders","record":{…},
 *   "time_extracted":…}`, as Singer SDK taps write them) with a STATE every 10k records and after the last.
 * - `airbyte-<N>.jsonl`: the same records as Airbyte RECORD envelopes (`stream`, `data`, `emitted_at`, in
 *   the Python CDK's order) and the same states as legacy `{"type":"STATE","state":{"data":…}}` messages.
 *
 * Every runner writes each record as `JSON.stringify(record)` on a line of its own, so the expected output is
 * known exactly: the sidecar `.json` keeps its size and SHA-256, and `verifyOutput` checks a runner's file
 * against them (and counts its lines) — a benchmark run that loses, repeats or alters a record fails.
 *
 * Standalone: `node --import tsx bench/singer-data.ts 1000000` prints the paths.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR, orderFields } from './data.ts';
import { isMain } from './lib/entry.ts';

/** Bump when the generated content changes, so cached files are rebuilt. */
const GENERATOR_VERSION = 1;
export const STATE_EVERY = 10_000;
export const STREAM = 'orders';
const EMITTED_AT = Date.UTC(2024, 0, 1);

export const ORDERS_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    email: { type: 'string' },
    name: { type: 'string' },
    amount: { type: 'number' },
    country: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

export interface ProtocolStreams {
  readonly rows: number;
  readonly singerPath: string;
  readonly airbytePath: string;
  readonly singerBytes: number;
  readonly airbyteBytes: number;
  /** What every runner's output file must hold: its size, SHA-256 and line count. */
  readonly outputBytes: number;
  readonly outputSha256: string;
  readonly states: number;
  /** The last STATE's value, as JSON text. */
  readonly lastState: string;
}

/** The state value after `records` records: a Singer SDK style bookmark. */
export function stateValue(records: number): { bookmarks: { orders: { replication_key: string; replication_key_value: number } } } {
  return { bookmarks: { orders: { replication_key: 'id', replication_key_value: records } } };
}

function recordJson(id: number): string {
  const o = orderFields(id);
  return JSON.stringify({ id, email: o.email, name: o.name, amount: Number(o.amount), country: o.country, created_at: o.created_at });
}

class Output {
  bytes = 0;
  private readonly stream: WriteStream;
  constructor(readonly temp: string) {
    this.stream = createWriteStream(temp);
  }
  async write(text: string): Promise<void> {
    this.bytes += Buffer.byteLength(text);
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }
  async end(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

export function protocolPaths(rows: number): { singerPath: string; airbytePath: string; metaPath: string } {
  return { singerPath: join(DATA_DIR, `singer-${rows}.jsonl`), airbytePath: join(DATA_DIR, `airbyte-${rows}.jsonl`), metaPath: join(DATA_DIR, `protocol-${rows}.json`) };
}

/** Both streams of `rows` orders, generated (streamed) unless matching ones are cached. */
export async function ensureProtocolStreams(rows: number, log: (message: string) => void = () => {}): Promise<ProtocolStreams> {
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`row count must be a positive integer, got ${rows}`);
  const { singerPath, airbytePath, metaPath } = protocolPaths(rows);
  try {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as ProtocolStreams & { version: number };
    const fresh = meta.version === GENERATOR_VERSION && meta.rows === rows && existsSync(singerPath) && existsSync(airbytePath);
    if (fresh && statSync(singerPath).size === meta.singerBytes && statSync(airbytePath).size === meta.airbyteBytes) return meta;
  } catch {
    // not cached yet
  }
  mkdirSync(DATA_DIR, { recursive: true });
  log(`generating ${singerPath} and ${airbytePath} (${rows} records)…`);
  const singer = new Output(`${singerPath}.${process.pid}.tmp`);
  const airbyte = new Output(`${airbytePath}.${process.pid}.tmp`);
  const hash = createHash('sha256');
  let outputBytes = 0;
  let states = 0;
  let lastState = '';
  await singer.write(`${JSON.stringify({ type: 'SCHEMA', stream: STREAM, schema: ORDERS_SCHEMA, key_properties: ['id'] })}\n`);
  const singerPrefix = `{"type":"RECORD","stream":"${STREAM}","record":`;
  const airbytePrefix = `{"type":"RECORD","record":{"stream":"${STREAM}","data":`;
  for (let start = 1; start <= rows; start += STATE_EVERY) {
    const end = Math.min(rows, start + STATE_EVERY - 1);
    let singerChunk = '';
    let airbyteChunk = '';
    let outputChunk = '';
    for (let id = start; id <= end; id++) {
      const json = recordJson(id);
      singerChunk += `${singerPrefix}${json},"time_extracted":"${new Date(EMITTED_AT + id).toISOString()}"}\n`;
      airbyteChunk += `${airbytePrefix}${json},"emitted_at":${EMITTED_AT + id}}}\n`;
      outputChunk += `${json}\n`;
    }
    lastState = JSON.stringify(stateValue(end));
    states++;
    await singer.write(`${singerChunk}{"type":"STATE","value":${lastState}}\n`);
    await airbyte.write(`${airbyteChunk}{"type":"STATE","state":{"data":${lastState}}}\n`);
    hash.update(outputChunk);
    outputBytes += Buffer.byteLength(outputChunk);
  }
  await Promise.all([singer.end(), airbyte.end()]);
  renameSync(singer.temp, singerPath);
  renameSync(airbyte.temp, airbytePath);
  const result: ProtocolStreams = {
    rows,
    singerPath,
    airbytePath,
    singerBytes: singer.bytes,
    airbyteBytes: airbyte.bytes,
    outputBytes,
    outputSha256: hash.digest('hex'),
    states,
    lastState,
  };
  writeFileSync(metaPath, `${JSON.stringify({ version: GENERATOR_VERSION, ...result }, null, 2)}\n`);
  return result;
}

/** The configured catalog for the Airbyte stream: one stream, overwrite (the file destination's default). */
export function configuredCatalog(): unknown {
  return {
    streams: [
      {
        stream: { name: STREAM, json_schema: ORDERS_SCHEMA, supported_sync_modes: ['full_refresh'] },
        sync_mode: 'full_refresh',
        destination_sync_mode: 'overwrite',
      },
    ],
  };
}

/** Why `path` is not exactly the expected output (size, SHA-256, line count), or undefined when it is. */
export async function verifyOutput(path: string, expected: ProtocolStreams): Promise<string | undefined> {
  if (!existsSync(path)) return `${path} was not written`;
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  }
  if (lines !== expected.rows) return `${path} has ${lines} lines, expected ${expected.rows}`;
  if (bytes !== expected.outputBytes) return `${path} has ${bytes} bytes, expected ${expected.outputBytes}`;
  if (hash.digest('hex') !== expected.outputSha256) return `${path} has the right size but not the expected records (SHA-256 differs)`;
  return undefined;
}

if (isMain(import.meta.url)) {
  const rows = Number(process.argv[2] ?? 1_000_000);
  ensureProtocolStreams(rows, (message) => process.stderr.write(`${message}\n`))
    .then((streams) => process.stdout.write(`${streams.singerPath}\n${streams.airbytePath}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
