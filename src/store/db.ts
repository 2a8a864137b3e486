/**
 * One SQL interface over the two places Sluice keeps its metadata: an embedded PGlite database in a
 * directory under SLUICE_HOME (nothing to install), or a PostgreSQL server named by DATABASE_URL (many
 * workers and API nodes share it). Both speak the same SQL, so one set of migrations and queries serves
 * both. Transactions are short by rule: PGlite has a single backend, and another query waits while one
 * is open.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export interface QueryResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

/** Something SQL can be sent to: the database itself or an open transaction. */
export interface Queryable {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Where it lives, without credentials: a directory, `memory`, or `host:port/database`. */
  readonly location: string;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Several statements in one string, no parameters (migrations). */
  exec(text: string): Promise<void>;
  close(): Promise<void>;
  /** The embedded instance, for the pg-boss adapter; undefined on PostgreSQL. */
  readonly pglite?: PGlite;
  /** The connection string, for pg-boss; undefined on PGlite. */
  readonly url?: string;
}

export interface OpenDatabaseOptions {
  /** A `postgres://` URL; when absent the embedded database is used. */
  readonly databaseUrl?: string;
  /** SLUICE_HOME: the embedded database lives in `<home>/db`. Use `memory://` for a throwaway one. */
  readonly home?: string;
  /** Pool size on PostgreSQL. */
  readonly maxConnections?: number;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.databaseUrl !== undefined && options.databaseUrl !== '') return openPostgres(options.databaseUrl, options.maxConnections ?? 10);
  const home = options.home ?? '.sluice';
  if (home === 'memory://') return openPglite(new PGlite(), 'memory');
  const dir = join(home, 'db');
  mkdirSync(dir, { recursive: true });
  return openPglite(new PGlite(dir), dir);
}

async function openPglite(db: PGlite, location: string): Promise<Database> {
  await db.waitReady;
  // New 16 MB WAL segments are not zero-filled first: with zero-filling, the query that crosses into a new
  // segment stalls for ~55 ms (measured on the event log). A session setting: PGlite has one session.
  await db.exec('set wal_init_zero = off');
  const wrap = (target: Pick<PGlite, 'query'>): Queryable => ({
    async query<Row>(text: string, params?: readonly unknown[]) {
      const result = await target.query<Row>(text, params as unknown[] | undefined);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
  });
  const self = wrap(db);
  return {
    kind: 'pglite',
    location,
    pglite: db,
    query: self.query,
    transaction: (work) => db.transaction((tx) => work(wrap(tx))),
    exec: async (text) => {
      await db.exec(text);
    },
    close: () => db.close(),
  };
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle client's network error would otherwise crash the process; the next query reports it.
  pool.on('error', () => {});
  const parsed = new URL(url);
  const query = async <Row>(text: string, params?: readonly unknown[]) => {
    const result = await pool.query(text, params as unknown[] | undefined);
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
  };
  try {
    await query('select 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  return {
    kind: 'postgres',
    location: `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`,
    url,
    query,
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await work({
          async query<Row>(text: string, params?: readonly unknown[]) {
            const r = await client.query(text, params as unknown[] | undefined);
            return { rows: r.rows as Row[], rowCount: r.rowCount ?? r.rows.length };
          },
        });
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    exec: async (text) => {
      await pool.query(text);
    },
    close: () => pool.end(),
  };
}
