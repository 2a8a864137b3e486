/**
 * The `postgres` destination: loads records into one PostgreSQL table — COPY into a staging table, then
 * one merge per batch — creating the table from the stream's schema and adding columns for new fields.
 * Sync modes: append, overwrite (a new table swapped in atomically when the run completes), upsert on
 * the primary key, mirror (upsert plus deletes), and the diff modes insert, update and all.
 */
import pg from 'pg';
import type { CheckResult } from '../../../sdk/context.ts';
import { defineDestination } from '../../../sdk/destination.ts';
import { describePgError } from './errors.ts';
import { PostgresSession } from './session.ts';
import { connectionOptions, describeTarget, postgresSpec, secretsOf } from './spec.ts';
import type { PostgresConfig } from './spec.ts';

/**
 * A real connection and a look at privileges: the schema exists and the user may create tables in it
 * (or, when missing, may create it), and an existing table takes inserts.
 */
async function check(config: PostgresConfig): Promise<CheckResult> {
  const target = describeTarget(config);
  const secrets = secretsOf(config);
  const client = new pg.Client({ ...connectionOptions(config), connectionTimeoutMillis: 10_000, application_name: 'sluice check' });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    return { ok: false, reason: `cannot connect to postgres at ${target}: ${describePgError(error, secrets)}` };
  }
  try {
    const { schema, table } = config;
    const found = await client.query<{ schema_exists: boolean; may_create: boolean; table_exists: boolean; may_insert: boolean | null; user: string }>(
      `select n.oid is not null as schema_exists,
              case when n.oid is null then has_database_privilege(current_database(), 'CREATE')
                   else has_schema_privilege(n.oid, 'CREATE') end as may_create,
              c.oid is not null as table_exists,
              case when c.oid is null then null else has_table_privilege(c.oid, 'INSERT') end as may_insert,
              current_user as user
         from (select 1) as one
         left join pg_namespace n on n.nspname = $1
         left join pg_class c on c.relnamespace = n.oid and c.relname = $2`,
      [schema, table],
    );
    const row = found.rows[0]!;
    if (row.table_exists) {
      if (row.may_insert !== true) return { ok: false, reason: `user ${row.user} may not insert into ${schema}.${table} at ${target}` };
      return { ok: true };
    }
    if (!row.may_create) {
      return {
        ok: false,
        reason: row.schema_exists
          ? `table ${schema}.${table} does not exist and user ${row.user} may not create tables in schema ${schema} at ${target}`
          : `schema ${schema} does not exist and user ${row.user} may not create it at ${target}`,
      };
    }
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `postgres at ${target}: ${describePgError(error, secrets)}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export default defineDestination<typeof postgresSpec, PostgresSession>({
  id: 'postgres',
  title: 'PostgreSQL',
  description: 'Loads records into a PostgreSQL table: append, overwrite, upsert or mirror on the primary key, creating the table and its new columns.',
  spec: postgresSpec,
  check,
  open: async (config, ctx) => new PostgresSession(config, ctx),
  close: (session, _ctx, end) => session.close(end.complete),
  objects: {
    records: {
      title: 'Records',
      description:
        'Every record as one row of the configured table; fields become columns. With a primary key (from the stream, or the table), upsert, mirror, insert, update and all merge on it.',
      // The first mode is the default when an activation names none, as for the file destination: re-running
      // must not duplicate rows, and overwrite needs no primary key.
      syncModes: ['overwrite', 'append', 'upsert', 'mirror', 'insert', 'update', 'all'],
      batch: (config) => ({ maxRecords: config.batch_size, maxBytes: 64_000_000, maxWaitMs: 1000 }),
      write: (records, ctx) => ctx.session.write(records, ctx),
    },
  },
  // Two batches in flight: one is loaded (COPY) while the one before it merges. Merges still run one at a
  // time in the order the batches were handed over, so a later batch's version of a row always wins.
  limits: { concurrency: 2 },
});
