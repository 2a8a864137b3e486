/**
 * PostgreSQL for the database benchmarks (postgres-to-http, change-detection, postgres-upsert): a fresh
 * database on the local server per benchmark (dropped afterwards), the 1M-row `orders` source table filled
 * server-side with `insert … select generate_series`, and the 1%-of-rows update the change-detection
 * benchmark makes between runs.
 *
 * The server: `BENCH_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), a user allowed to
 * create and drop databases and to run CHECKPOINT.
 */
import pg from 'pg';

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Rows in the benchmark tables: `BENCH_PG_ROWS` (default 1,000,000). */
export function benchPgRows(): number {
  const rows = Number((process.env.BENCH_PG_ROWS ?? '1000000').replace(/_/g, ''));
  if (!Number.isInteger(rows) || rows < 100) throw new Error(`BENCH_PG_ROWS must be an integer ≥ 100, got ${process.env.BENCH_PG_ROWS}`);
  return rows;
}

/** The URL of database `name` on the benchmark server. */
export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The server as `host:port`, for messages (never the password). */
export function serverName(): string {
  const url = new URL(ADMIN_URL);
  return `${url.hostname}:${url.port || '5432'}`;
}

/** Run `work` with a connected client on `url`; the client is closed afterwards. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`PostgreSQL at ${serverName()} is not reachable (${(error as Error).message}); set BENCH_DATABASE_URL to a server the benchmark may create databases on`);
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Drop database `name` if it exists (and any session on it), then create it empty. */
export async function recreateDatabase(name: string): Promise<string> {
  await withClient(ADMIN_URL, async (client) => {
    await client.query(`drop database if exists ${name} with (force)`);
    await client.query(`create database ${name}`);
  });
  return databaseUrl(name);
}

export async function dropDatabase(name: string): Promise<void> {
  await withClient(ADMIN_URL, async (client) => {
    await client.query(`drop database if exists ${name} with (force)`);
  });
}

/** Flush dirty buffers now, so a checkpoint does not land in the middle of the next measured run. */
export async function checkpoint(url: string): Promise<void> {
  await withClient(url, async (client) => {
    await client.query('checkpoint');
  });
}

export const ORDERS_TABLE = 'orders';

/** The columns of the source table, as `sluice singer tap` and the floor read them. */
export const ORDERS_COLUMNS = 'id bigint, email text, name text, amount numeric(12,2), quantity integer, active boolean, created_at timestamptz, updated_at timestamptz';

/**
 * Create `orders` (8 columns: bigint primary key, 2 text, numeric, integer, boolean, 2 timestamptz) and fill
 * it with `rows` deterministic rows in one `insert … select generate_series`, then add the primary key and
 * `vacuum analyze` (so the first read does not pay for setting hint bits). Fill factor 90: the 1% updates of
 * the change-detection benchmark stay on their page (HOT), so changed rows remain spread through the table
 * as it is read, instead of moving to its end. Returns the table's size in bytes (with its index).
 */
export async function createOrdersTable(url: string, rows: number): Promise<number> {
  return withClient(url, async (client) => {
    await client.query(`create table ${ORDERS_TABLE} (
      id bigint not null, email text not null, name text not null, amount numeric(12,2) not null,
      quantity integer not null, active boolean not null, created_at timestamptz not null, updated_at timestamptz not null
    ) with (fillfactor = 90)`);
    const inserted = await client.query(
      `insert into ${ORDERS_TABLE}
       select i, 'customer' || i || '@example.com', 'Customer ' || to_hex(i * 2654435761 % 4294967296),
              ((i * 7919) % 1000000) / 100.0, (i % 97) + 1, i % 3 <> 0,
              timestamptz '2024-01-01 00:00:00+00' + i * interval '31 seconds',
              timestamptz '2024-06-01 00:00:00+00' + i * interval '7 seconds'
       from generate_series(1::bigint, $1::bigint) as i`,
      [rows],
    );
    if (inserted.rowCount !== rows) throw new Error(`filling ${ORDERS_TABLE}: inserted ${inserted.rowCount} rows, expected ${rows}`);
    await client.query(`alter table ${ORDERS_TABLE} add primary key (id)`);
    await client.query(`vacuum analyze ${ORDERS_TABLE}`);
    await client.query('checkpoint');
    const { rows: size } = await client.query<{ bytes: string }>(`select pg_total_relation_size('${ORDERS_TABLE}') as bytes`);
    return Number(size[0]?.bytes ?? Number.NaN);
  });
}

/**
 * Change 1% of the rows, spread evenly through the table: those with `id % 100 = slot % 100` get a new
 * amount and updated_at. Returns how many rows changed (rows / 100 when rows is a multiple of 100).
 */
export async function changeOnePercent(url: string, slot: number): Promise<number> {
  return withClient(url, async (client) => {
    const result = await client.query(
      `update ${ORDERS_TABLE} set amount = amount + 1, updated_at = updated_at + interval '1 day' where id % 100 = $1`,
      [slot % 100],
    );
    return result.rowCount ?? 0;
  });
}
