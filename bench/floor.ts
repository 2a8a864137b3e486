/**
 * The raw floor for file → http: the least a program can do to move the same CSV to the same endpoint —
 * csv-parse (streamed, `columns: true`, records as objects of strings), batches of 500 serialized with one
 * `JSON.stringify` into a JSON array body, POSTed with undici `Pool.request`, 4 in flight. No mapping, no
 * validation, no retries, no state: Sluice is measured against this in the same run, as a ratio.
 *
 * Run as its own child process (by bench/run.ts, with bench/report-rss.mjs preloaded for peak RSS):
 *   node --import tsx bench/floor.ts --csv <file> --url <endpoint> [--batch 500] [--concurrency 4]
 * Prints one JSON line: `{ records, batches, durationMs, recordsPerSecond }`. Any non-2xx answer is fatal:
 * the floor must deliver every record, or it is not a floor.
 */
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';
import { Pool } from 'undici';

export interface FloorResult {
  readonly records: number;
  readonly batches: number;
  readonly durationMs: number;
  readonly recordsPerSecond: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      csv: { type: 'string' },
      url: { type: 'string' },
      batch: { type: 'string', default: '500' },
      concurrency: { type: 'string', default: '4' },
    },
  });
  if (values.csv === undefined || values.url === undefined) throw new Error('usage: floor.ts --csv <file> --url <endpoint> [--batch 500] [--concurrency 4]');
  const batchSize = Number(values.batch);
  const concurrency = Number(values.concurrency);
  const url = new URL(values.url);
  const path = `${url.pathname}${url.search}`;
  const pool = new Pool(url.origin, { connections: concurrency });
  const inFlight = new Set<Promise<void>>();
  let records = 0;
  let batches = 0;

  const post = async (body: string, key: string): Promise<void> => {
    const response = await pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body,
    });
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new Error(`floor: ${url.host} answered HTTP ${response.statusCode}: ${await response.body.text()}`);
    }
    await response.body.dump();
  };

  const send = async (batch: Record<string, string>[]): Promise<void> => {
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    batches++;
    const task = post(JSON.stringify(batch), `floor-${batches}`).finally(() => inFlight.delete(task));
    inFlight.add(task);
  };

  const started = performance.now();
  const parser = createReadStream(values.csv).pipe(parse({ columns: true }));
  let batch: Record<string, string>[] = [];
  for await (const record of parser as AsyncIterable<Record<string, string>>) {
    batch.push(record);
    records++;
    if (batch.length >= batchSize) {
      await send(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await send(batch);
  await Promise.all(inFlight);
  const durationMs = performance.now() - started;
  await pool.close();
  const result: FloorResult = { records, batches, durationMs, recordsPerSecond: Math.round((records / durationMs) * 1000) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
