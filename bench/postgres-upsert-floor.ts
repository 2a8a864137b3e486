/**
 * The raw floor for upserting a CSV into PostgreSQL: the least a program can do — one connection, one
 * transaction: `COPY … FROM STDIN (format csv, header)` of the file's bytes (pg-copy-streams, no parsing in
 * node) into a temporary staging table shaped like the target, then one
 * `INSERT INTO target SELECT … FROM staging ON CONFLICT (id) DO UPDATE SET <every other column>`, commit.
 * No batching, no validation, no per-row outcome, no state: Sluice is measured against this in the same run.
 *
 * Run as its own child process (by bench/postgres-upsert.ts, with bench/report-rss.mjs preloaded):
 *   node --import tsx bench/postgres-upsert-floor.ts --db <postgres url> --table <table> --csv <file>
 * The file's header names the columns; the first is the key. Prints one JSON line:
 * `{ records, upserted, durationMs }` (the time runs from connecting to the commit).
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export interface UpsertFloorResult {
  /** Rows COPY loaded into the staging table. */
  readonly records: number;
  /** Rows the INSERT … ON CONFLICT inserted or updated. */
  readonly upserted: number;
  readonly durationMs: number;
}

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { db: { type: 'string' }, table: { type: 'string' }, csv: { type: 'string' } } });
  if (values.db === undefined || values.table === undefined || values.csv === undefined) throw new Error('usage: postgres-upsert-floor.ts --db <postgres url> --table <table> --csv <file>');
  const head = Buffer.alloc(4096);
  const fd = openSync(values.csv, 'r');
  const length = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const header = head.subarray(0, length).toString('utf8').split('\n')[0]!.trim();
  const columns = header.split(',').map((column) => quote(column.trim()));
  const [key, ...rest] = columns;
  const table = quote(values.table);
  const started = performance.now();
  const client = new pg.Client({ connectionString: values.db });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`create temporary table floor_stage (like ${table}) on commit drop`);
    const copy = client.query(copyFrom(`copy floor_stage (${columns.join(', ')}) from stdin (format csv, header true)`));
    await pipeline(createReadStream(values.csv, { highWaterMark: 1 << 20 }), copy);
    const upsert = await client.query(
      `insert into ${table} (${columns.join(', ')}) select ${columns.join(', ')} from floor_stage
       on conflict (${key}) do update set ${rest.map((column) => `${column} = excluded.${column}`).join(', ')}`,
    );
    await client.query('commit');
    const result: UpsertFloorResult = { records: Number(copy.rowCount), upserted: upsert.rowCount ?? 0, durationMs: performance.now() - started };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await client.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
