/**
 * The raw floor for PostgreSQL → http: the least a program can do to move a table to the endpoint — one
 * node-postgres client, a server-side cursor in a read-only transaction (`DECLARE … NO SCROLL CURSOR`,
 * `FETCH 10000` at a time, the next fetch asked for as soon as one arrives), rows as objects of PostgreSQL's
 * text for every value (no type parsers: `{"id":"1","amount":"79.19",…}`, as the CSV floor keeps strings —
 * node-postgres's default parsers, which build a Date per timestamptz, would make it ~45% slower), batches of
 * 500 serialized with one `JSON.stringify` into a JSON array body, POSTed with undici `Pool.request`, 4 in
 * flight. No type mapping, no validation, no retries, no state: Sluice, which sends exact JSON types
 * (numbers, booleans, ISO timestamps), is measured against this in the same run.
 *
 * Run as its own child process (by bench/postgres-to-http.ts, with bench/report-rss.mjs preloaded):
 *   node --import tsx bench/postgres-floor.ts --db <postgres url> --table orders --url <endpoint> [--batch 500] [--concurrency 4] [--fetch 10000]
 * Prints one JSON line: `{ records, batches, durationMs, recordsPerSecond }` (the time runs from connecting to
 * the last response). Any non-2xx answer is fatal: the floor must deliver every record, or it is not a floor.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import type { FloorResult } from './floor.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      table: { type: 'string', default: 'orders' },
      url: { type: 'string' },
      batch: { type: 'string', default: '500' },
      concurrency: { type: 'string', default: '4' },
      fetch: { type: 'string', default: '10000' },
    },
  });
  if (values.db === undefined || values.url === undefined) throw new Error('usage: postgres-floor.ts --db <postgres url> --table <table> --url <endpoint> [--batch 500] [--concurrency 4] [--fetch 10000]');
  const batchSize = Number(values.batch);
  const concurrency = Number(values.concurrency);
  const fetchSize = Number(values.fetch);
  const url = new URL(values.url);
  const path = `${url.pathname}${url.search}`;
  const pool = new Pool(url.origin, { connections: concurrency });
  const inFlight = new Set<Promise<void>>();
  let records = 0;
  let batches = 0;

  const post = async (body: string, key: string): Promise<void> => {
    const response = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body });
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new Error(`floor: ${url.host} answered HTTP ${response.statusCode}: ${await response.body.text()}`);
    }
    await response.body.dump();
  };

  const send = async (batch: unknown[]): Promise<void> => {
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    batches++;
    const task = post(JSON.stringify(batch), `pg-floor-${batches}`).finally(() => inFlight.delete(task));
    inFlight.add(task);
  };

  const started = performance.now();
  // Every value as PostgreSQL's text (no parsing into numbers or Dates), as the CSV floor keeps strings.
  const client = new pg.Client({ connectionString: values.db, types: { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig });
  await client.connect();
  try {
    await client.query('begin transaction read only');
    await client.query(`declare floor_cursor no scroll cursor for select * from ${values.table}`);
    const fetch = (): Promise<pg.QueryResult> => client.query(`fetch ${fetchSize} from floor_cursor`);
    let next = fetch();
    let batch: unknown[] = [];
    for (;;) {
      const { rows } = await next;
      if (rows.length === 0) break;
      // Ask for the next rows now, so the server works while these are sent.
      next = fetch();
      for (const row of rows) {
        batch.push(row);
        records++;
        if (batch.length >= batchSize) {
          await send(batch);
          batch = [];
        }
      }
    }
    if (batch.length > 0) await send(batch);
    await Promise.all(inFlight);
    await client.query('commit');
  } finally {
    await client.end();
  }
  const durationMs = performance.now() - started;
  await pool.close();
  const result: FloorResult = { records, batches, durationMs, recordsPerSecond: Math.round((records / durationMs) * 1000) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
