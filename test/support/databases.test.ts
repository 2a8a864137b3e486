/**
 * The test databases themselves: every target opens, migrates (twice, and concurrently), stores a row
 * and rolls a transaction back; the PGlite-over-the-wire fallback is exercised directly, since on a
 * machine with PostgreSQL running the postgres target never uses it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Database, openDatabase } from '../../src/store/db.ts';
import { MIGRATION_IDS, migrate } from '../../src/store/migrations.ts';
import { type TestDatabase, databaseTargets, startWireFallback } from './databases.ts';

async function storesAndRollsBack(db: Database): Promise<void> {
  await db.query('insert into sluice.configs (label, value) values ($1, $2)', ['kept', { a: 1 }]);
  await expect(
    db.transaction(async (tx) => {
      await tx.query('insert into sluice.configs (label, value) values ($1, $2)', ['rolled-back', { b: 2 }]);
      throw new Error('undo');
    }),
  ).rejects.toThrow('undo');
  const rows = (await db.query<{ label: string; value: unknown }>('select label, value from sluice.configs order by id')).rows;
  expect(rows).toEqual([{ label: 'kept', value: { a: 1 } }]);
}

describe.each(databaseTargets)('test database on $name', (target) => {
  let database: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    database = await target.create();
    db = await database.open();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('opens the right kind of database', () => {
    expect(db.kind).toBe(target.name);
    if (target.name === 'postgres') expect(database.url).toMatch(/^postgres:\/\//);
  });

  it('migrates, and a second migrate applies nothing', async () => {
    expect(await migrate(db)).toEqual(MIGRATION_IDS);
    expect(await migrate(db)).toEqual([]);
    const ids = (await db.query<{ id: number }>('select id from sluice.migrations order by id')).rows.map((row) => row.id);
    expect(ids).toEqual(MIGRATION_IDS);
  });

  it('stores a row in sluice.configs and rolls a failed transaction back', async () => {
    await storesAndRollsBack(db);
  });

  it('keeps data across connections', async () => {
    if (target.name === 'pglite') {
      // One process, one PGlite per directory: reopen after closing.
      await db.close();
      db = await database.open();
    }
    const other = target.name === 'pglite' ? db : await database.open();
    expect((await other.query<{ n: number }>('select count(*)::int as n from sluice.configs')).rows).toEqual([{ n: 1 }]);
    if (other !== db) await other.close();
  });
});

describe('test databases on postgres are isolated', () => {
  const postgres = databaseTargets.find((target) => target.name === 'postgres')!;

  it('two concurrent migrate() calls on a fresh database both succeed; one applies, the other waits', async () => {
    const database = await postgres.create();
    try {
      const [a, b] = await Promise.all([database.open(), database.open()]);
      const applied = await Promise.all([migrate(a), migrate(b)]);
      expect(applied.flat()).toEqual(MIGRATION_IDS);
    } finally {
      await database.drop();
    }
  });

  it('each create() is a separate database, gone after drop()', async () => {
    const [one, two] = await Promise.all([postgres.create(), postgres.create()]);
    try {
      expect(one.url).not.toBe(two.url);
      const a = await one.open();
      await migrate(a);
      const b = await two.open();
      expect((await b.query(`select to_regclass('sluice.configs') as t`)).rows).toEqual([{ t: null }]);
    } finally {
      await one.drop();
      await two.drop();
    }
    await expect(one.open()).rejects.toThrow();
  });
});

describe('PGlite served over the wire (the fallback when PostgreSQL is not running)', () => {
  let wire: Awaited<ReturnType<typeof startWireFallback>>;
  beforeAll(async () => {
    wire = await startWireFallback();
  });
  afterAll(async () => {
    await wire?.stop();
  });

  it('serves a postgres Database: migrate (concurrently, and again), store, roll back', async () => {
    const a = await openDatabase({ databaseUrl: wire.url, maxConnections: 4 });
    const b = await openDatabase({ databaseUrl: wire.url, maxConnections: 4 });
    try {
      expect(a.kind).toBe('postgres');
      const applied = await Promise.all([migrate(a), migrate(b)]);
      expect(applied.flat()).toEqual(MIGRATION_IDS);
      expect(await migrate(a)).toEqual([]);
      await storesAndRollsBack(b);
      expect((await a.query<{ n: number }>('select count(*)::int as n from sluice.configs')).rows).toEqual([{ n: 1 }]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('when PostgreSQL is not reachable', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    vi.resetModules();
  });

  async function freshModule(ci: string) {
    vi.stubEnv('SLUICE_TEST_DATABASE_URL', 'postgres://postgres@127.0.0.1:1/postgres');
    vi.stubEnv('CI', ci);
    vi.resetModules();
    return import('./databases.ts');
  }

  it('fails loudly under CI', async () => {
    const { databaseTargets: targets } = await freshModule('true');
    await expect(targets.find((target) => target.name === 'postgres')!.create()).rejects.toThrow(/PostgreSQL on 127\.0\.0\.1:5432 is required under CI.*\.ci\/run starts it/);
  });

  it('elsewhere warns once and serves PGlite over the wire instead', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { databaseTargets: targets } = await freshModule('');
    const postgres = targets.find((target) => target.name === 'postgres')!;
    const [one, two] = await Promise.all([postgres.create(), postgres.create()]);
    try {
      expect(warn.mock.calls).toEqual([['PostgreSQL not reachable on 127.0.0.1:5432: postgres tests use PGlite served over the wire']]);
      expect(one.url).not.toBe(two.url);
      const db = await one.open();
      expect(db.kind).toBe('postgres');
      expect(await migrate(db)).toEqual(MIGRATION_IDS);
    } finally {
      await one.drop();
      await two.drop();
    }
  });
});
