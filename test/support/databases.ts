/**
 * The databases every store and server test runs against, one fresh and isolated database per
 * `target.create()`:
 * - `pglite`: the embedded default, a PGlite home under the OS temp dir (closing and reopening it keeps
 *   the data, as SLUICE_HOME does), copied from a template initialised once per PGlite version;
 *   `drop()` deletes it.
 * - `postgres`: a real server at SLUICE_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
 *   where each create() makes a database `sluice_test_<random>` and drop() removes it (WITH (FORCE)).
 *   When that server is unreachable the decision, made once per process, is: under CI=true fail loudly;
 *   elsewhere warn once and serve each create() from its own PGlite behind @electric-sql/pglite-socket, so
 *   the tests still go through the wire protocol, `pg` pools and connection URLs.
 * drop() also closes every Database its open() returned and that the test left open.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { describe } from 'vitest';
import { type Database, openDatabase } from '../../src/store/db.ts';

export interface TestDatabase {
  /** The connection URL; undefined for the embedded target. */
  readonly url: string | undefined;
  /** Opens (another) connection to this database; drop() closes any still open. */
  open(): Promise<Database>;
  /** Closes what open() returned and deletes the database. */
  drop(): Promise<void>;
}

export interface DatabaseTarget {
  readonly name: 'pglite' | 'postgres';
  create(): Promise<TestDatabase>;
}

export const POSTGRES_TEST_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const pgliteTarget: DatabaseTarget = {
  name: 'pglite',
  async create() {
    const home = await freshPgliteHome();
    const opened = new OpenDatabases();
    return {
      url: undefined,
      open: () => opened.track(openDatabase({ home })),
      async drop() {
        await opened.closeAll();
        rmSync(home, { recursive: true, force: true });
      },
    };
  },
};

let templateHome: Promise<string> | undefined;

/**
 * A freshly initialised, closed PGlite home, made once per PGlite version and kept in the OS temp dir
 * for later runs: a new PGlite spends seconds in initdb, while opening a copy of this one takes a
 * fraction of a second. Built privately and renamed into place, so concurrent test processes agree.
 */
function pgliteTemplate(): Promise<string> {
  templateHome ??= (async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8')) as { version: string };
    const home = join(tmpdir(), `sluice-test-pglite-${version}`);
    if (existsSync(join(home, 'db', 'PG_VERSION'))) return home;
    const building = mkdtempSync(join(tmpdir(), 'sluice-test-template-'));
    const db = await openDatabase({ home: building });
    await db.close();
    try {
      renameSync(building, home);
    } catch {
      rmSync(building, { recursive: true, force: true }); // another process got there first
    }
    return home;
  })();
  return templateHome;
}

const postgresTarget: DatabaseTarget = {
  name: 'postgres',
  async create() {
    const backend = await postgresBackend();
    const opened = new OpenDatabases();
    if (backend === 'wire-fallback') {
      const wire = await startWireFallback();
      return {
        url: wire.url,
        open: () => opened.track(openDatabase({ databaseUrl: wire.url, maxConnections: 4 })),
        async drop() {
          await opened.closeAll();
          await wire.stop();
        },
      };
    }
    const name = `sluice_test_${randomBytes(6).toString('hex')}`;
    await admin(`create database ${name}`);
    const url = withDatabase(POSTGRES_TEST_URL, name);
    return {
      url,
      open: () => opened.track(openDatabase({ databaseUrl: url, maxConnections: 4 })),
      async drop() {
        await opened.closeAll();
        await admin(`drop database if exists ${name} with (force)`);
      },
    };
  },
};

export const databaseTargets: DatabaseTarget[] = [pgliteTarget, postgresTarget];

/** `describe`s `fn` once per target, e.g. `forEachDatabase((target) => { it(...) })`. */
export function forEachDatabase(fn: (target: DatabaseTarget) => void): void {
  for (const target of databaseTargets) describe(`on ${target.name}`, () => fn(target));
}

export interface WireFallback {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * A fresh PGlite (in a temp dir that stop() deletes) served over the PostgreSQL wire protocol on
 * 127.0.0.1, on a port the OS picks. It takes several connections at once: the server multiplexes them
 * over PGlite's one backend and keeps a transaction's statements together. Stands in for PostgreSQL
 * when none is running.
 */
export async function startWireFallback(): Promise<WireFallback> {
  const home = await freshPgliteHome();
  const db = await PGlite.create(join(home, 'db'));
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A new SLUICE_HOME-style directory holding a freshly initialised PGlite in `db/`. */
async function freshPgliteHome(): Promise<string> {
  const template = await pgliteTemplate();
  const home = mkdtempSync(join(tmpdir(), 'sluice-test-'));
  cpSync(join(template, 'db'), join(home, 'db'), { recursive: true });
  return home;
}

let backendDecision: Promise<'server' | 'wire-fallback'> | undefined;

/** Whether POSTGRES_TEST_URL answers; decided once per process. Rejects under CI when it does not. */
export function postgresBackend(): Promise<'server' | 'wire-fallback'> {
  backendDecision ??= (async () => {
    const reachable = await probe(POSTGRES_TEST_URL);
    if (reachable === true) return 'server';
    if (process.env.CI === 'true') {
      throw new Error(
        `PostgreSQL on 127.0.0.1:5432 is required under CI (${redact(POSTGRES_TEST_URL)}: ${reachable}); .ci/run starts it — check that it did`,
      );
    }
    console.warn('PostgreSQL not reachable on 127.0.0.1:5432: postgres tests use PGlite served over the wire');
    return 'wire-fallback';
  })();
  return backendDecision;
}

/** true, or why not. */
async function probe(url: string): Promise<true | string> {
  // A refused connection answers at once; only a loaded machine is slow, so a slow answer gets a second try.
  const first = await probeOnce(url);
  return first === true || !/timeout/i.test(first) ? first : probeOnce(url);
}

async function probeOnce(url: string): Promise<true | string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

/** The Databases one TestDatabase handed out, so drop() can close the ones a test left open. */
class OpenDatabases {
  readonly #open = new Set<Database>();

  async track(opening: Promise<Database>): Promise<Database> {
    const db = await opening;
    let closing: Promise<void> | undefined;
    const tracked: Database = {
      kind: db.kind,
      location: db.location,
      pglite: db.pglite,
      url: db.url,
      query: <Row>(text: string, params?: readonly unknown[]) => db.query<Row>(text, params),
      transaction: (work) => db.transaction(work),
      exec: (text) => db.exec(text),
      close: () => {
        this.#open.delete(tracked);
        closing ??= db.close();
        return closing;
      },
    };
    this.#open.add(tracked);
    return tracked;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#open].map((db) => db.close()));
  }
}
