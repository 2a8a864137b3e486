/**
 * The postgres source passes the shared conformance suite on a small table of its own (incremental on
 * `id`, so the state checks run too). The invalid config points at a port nothing listens on; the suite
 * plants a canary in the password and checks the reason never shows it. Without a PostgreSQL server the
 * checks that need one are skipped (under CI, test/support/databases.ts fails instead).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { POSTGRES_TEST_URL, postgresBackend } from '../../../../test/support/databases.ts';
import { describeConformance } from 'sluice/testing';
import source from './index.ts';

const available = (await postgresBackend()) === 'server';
const table = `sluice_src_conformance_${randomBytes(4).toString('hex')}`;

let created: Promise<void> | undefined;

/** The table, made once for all checks: 60 rows. */
function createTable(): Promise<void> {
  created ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
    await client.connect();
    try {
      await client.query(`create table ${table} (id int8 primary key, name text not null, amount numeric(12,2), created_at timestamptz)`);
      await client.query(`insert into ${table} select g, 'name ' || g, g * 1.25, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour' from generate_series(1, 60) g`);
    } finally {
      await client.end();
    }
  })();
  return created;
}

afterAll(async () => {
  if (created === undefined) return;
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
  await client.connect();
  await client.query(`drop table if exists ${table}`);
  await client.end();
});

const needsServer = 'PostgreSQL is not reachable on 127.0.0.1:5432';

describeConformance(source, {
  validConfig: async () => {
    if (available) await createTable();
    return { url: POSTGRES_TEST_URL, table, cursor_field: 'id', fetch_size: 25 };
  },
  invalidConfig: { host: '127.0.0.1', port: 1, user: 'postgres', password: 'not-the-password', table },
  skip: available ? {} : { 'check.valid': needsServer, 'source.discover': needsServer, 'source.read': needsServer, 'source.state': needsServer, 'source.stop-early': needsServer },
});
