/**
 * The postgres destination passes the shared conformance suite against a real PostgreSQL: each check
 * writes a table of its own (named after the check's tag) in a database made for this file, and
 * `inspect` reads its rows back. Skipped without a server, except under CI, where the probe fails loudly.
 */
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';
import { describeConformance } from 'sluice/testing';
import type { ConfigScope } from 'sluice/testing';
import { type TestDatabase, databaseTargets, postgresBackend } from '../../../../test/support/databases.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import postgres from './index.ts';

const hasPostgres = (await postgresBackend()) === 'server';

let database: Promise<TestDatabase> | undefined;
const db = (): Promise<TestDatabase> => (database ??= databaseTargets.find((target) => target.name === 'postgres')!.create());
afterAll(async () => {
  if (database !== undefined) await (await database).drop();
});

const tableOf = (scope: ConfigScope): string => `conformance_${scope.tag.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;

async function readBack(scope: ConfigScope): Promise<JsonObject[]> {
  const client = new pg.Client({ connectionString: (await db()).url });
  await client.connect();
  try {
    const result = await client.query<{ row: JsonObject }>(`select to_jsonb(t) as row from ${tableOf(scope)} t`);
    return result.rows.map(({ row }) => row);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return []; // no table: nothing written yet
    throw error;
  } finally {
    await client.end();
  }
}

if (hasPostgres) {
  describeConformance(postgres, {
    validConfig: async (scope) => ({ url: (await db()).url!, table: tableOf(scope) }),
    // Port 1 on loopback refuses at once; the password gets a canary planted in it.
    invalidConfig: (scope) => ({ host: '127.0.0.1', port: 1, user: 'postgres', password: 'not-used', database: 'postgres', table: tableOf(scope) }),
    inspect: readBack,
    module: new URL('./index.ts', import.meta.url),
  });
} else {
  describe.skip('conformance: destination/postgres (no PostgreSQL server reachable)', () => {
    it('needs PostgreSQL', () => {});
  });
}
