/**
 * The store's schema, as an ordered list of migrations that serve PGlite and PostgreSQL alike. Each
 * migration is a list of single statements (PGlite's parameterised path takes one at a time) applied in
 * one transaction under an advisory lock, so several processes starting at once apply it exactly once.
 * Never edit a released migration: add the next one.
 */
import type { Database } from './db.ts';

export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly statements: readonly string[];
}

/**
 * The tracking API's event log. Also applied on its own to the embedded store's separate event-log
 * database (event-log.ts), so these are kept as values of their own (EVENT_LOG_MIGRATIONS).
 */
const EVENT_LOG_MIGRATION: Migration = {
  id: 4,
  name: 'event log',
  statements: [
    // The tracking API's event log (server/ingest, platform/events, store/events.ts): one row per append (a
    // request or a group of requests) holding its events as a JSON array, written before the 200. A replayed
    // dead letter is logged again for one activation only (`replay_for`). `skip`: positions in `body` that
    // were duplicates. Readers scan by seq (the primary key) and skip other sources' rows.
    `create table sluice.events (
      seq bigserial primary key,
      source text not null,
      received_at timestamptz not null,
      replay_for text,
      count integer not null,
      skip integer[],
      body text not null
    )`,
    // Stored as is: compressing half a megabyte per append costs more than writing it.
    `alter table sluice.events alter column body set storage external`,
    // Every logged message id per source, for deduplication (pruned with the events, kept at least 24 h).
    `create table sluice.event_ids (
      source text not null,
      message_id text not null,
      received_at timestamptz not null,
      primary key (source, message_id)
    )`,
    // Each event activation's position in the log (`seq`: row * 65536 + index; every event up to it has
    // settled: delivered, filtered out or dead-lettered), and the lease of the worker that delivers it.
    `create table sluice.event_cursors (
      activation text primary key,
      source text not null,
      seq bigint not null default 0,
      owner text,
      lease_until timestamptz,
      updated_at timestamptz not null default now()
    )`,
    `create table sluice.dead_letters (
      id bigserial primary key,
      activation text not null,
      source text not null,
      destination text not null,
      seq bigint not null,
      message_id text,
      event jsonb not null,
      reason text not null,
      attempts integer not null,
      at timestamptz not null default now(),
      replayed_at timestamptz
    )`,
    `create index dead_letters_activation on sluice.dead_letters (activation, id)`,
  ],
};

/** Rejected events, and event bodies compressed. */
const EVENT_REJECTS_MIGRATION: Migration = {
  id: 5,
  name: 'event rejects',
  statements: [
    // Events of an accepted batch that broke a per-event rule (no userId/anonymousId, a track without
    // "event", …): the rest of the batch was logged; these are kept, with the reason, for users to see.
    // `event` is the JSON text as sent (text, not jsonb: jsonb refuses some valid JSON, such as "\u0000").
    `create table sluice.event_rejects (
      id bigserial primary key,
      source text not null,
      received_at timestamptz not null,
      path text not null,
      reason text not null,
      message_id text,
      event text not null
    )`,
    `create index event_rejects_source on sluice.event_rejects (source, id)`,
    // A request retried (after a 500) does not record its rejected events again.
    `create unique index event_rejects_message on sluice.event_rejects (source, message_id) where message_id is not null`,
    // Compressed after all (pglz, from now on): measured on 100-event rows, as fast to append as stored
    // plain, and 4.6× smaller on disk.
    `alter table sluice.events alter column body set storage extended`,
  ],
};

/** What the event log's own database needs (event-log.ts); PostgreSQL gets them with the rest. */
export const EVENT_LOG_MIGRATIONS: readonly Migration[] = [EVENT_LOG_MIGRATION, EVENT_REJECTS_MIGRATION];

const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'platform',
    statements: [
      // Config versions are append-only; the newest is current. Secret values are stored encrypted.
      `create table sluice.configs (
        id bigserial primary key,
        label text not null unique,
        value jsonb not null,
        created_at timestamptz not null default now(),
        created_by text
      )`,
      `create table sluice.api_keys (
        id bigserial primary key,
        name text not null,
        prefix text not null,
        hash text not null unique,
        created_at timestamptz not null default now(),
        revoked_at timestamptz,
        last_used_at timestamptz
      )`,
      `create table sluice.runs (
        id uuid primary key,
        activation text not null,
        config_id bigint not null references sluice.configs(id),
        status text not null check (status in ('queued', 'running', 'succeeded', 'failed', 'interrupted', 'cancelled')),
        trigger text not null,
        dry_run boolean not null default false,
        idempotency_key text unique,
        counters jsonb not null default '{}',
        unsettled integer not null default 0,
        plan jsonb,
        error text,
        created_at timestamptz not null default now(),
        started_at timestamptz,
        finished_at timestamptz,
        worker text,
        attempts integer not null default 0,
        heartbeat_at timestamptz,
        cancel_requested boolean not null default false
      )`,
      // One active run per activation, enforced by the database itself (safe across API nodes).
      `create unique index runs_one_active on sluice.runs (activation) where status in ('queued', 'running')`,
      `create index runs_newest on sluice.runs (created_at desc, id desc)`,
      `create index runs_activation_newest on sluice.runs (activation, created_at desc, id desc)`,
      `create index runs_status_newest on sluice.runs (status, created_at desc, id desc)`,
      `create table sluice.run_logs (
        id bigserial primary key,
        run_id uuid not null references sluice.runs(id) on delete cascade,
        at timestamptz not null,
        level text not null,
        message text not null,
        data jsonb
      )`,
      `create index run_logs_run on sluice.run_logs (run_id, id)`,
      `create table sluice.run_rejects (
        id bigserial primary key,
        run_id uuid not null references sluice.runs(id) on delete cascade,
        at timestamptz not null default now(),
        stream text not null,
        object text,
        code text not null,
        reason text not null,
        attempts integer not null,
        record jsonb,
        origin jsonb
      )`,
      `create index run_rejects_run on sluice.run_rejects (run_id, id)`,
      // Every committed state is a version; a revert appends a copy of an older one.
      `create table sluice.state_versions (
        activation text not null,
        version integer not null,
        state jsonb not null,
        run_id uuid,
        reverted_from integer,
        created_at timestamptz not null default now(),
        primary key (activation, version)
      )`,
      `create table sluice.audit_log (
        id bigserial primary key,
        at timestamptz not null default now(),
        actor text not null,
        action text not null,
        target text,
        detail jsonb
      )`,
      `create table sluice.schedules (
        activation text primary key,
        schedule text not null,
        next_at timestamptz not null,
        last_at timestamptz
      )`,
    ],
  },
  {
    id: 2,
    name: 'fingerprints and drift',
    statements: [
      // One compact snapshot per activation (engine/fingerprints.ts), rewritten at the end of each run: never
      // a row per record (writing a million small rows takes seconds here).
      `create table sluice.fingerprints (
        activation text primary key,
        snapshot bytea not null,
        updated_at timestamptz not null default now()
      )`,
      // What changed in the source stream's columns since the fingerprints were last saved.
      `alter table sluice.runs add column drift jsonb`,
      // Triggered with force: the change guard (max_change_ratio) is overridden for this run.
      `alter table sluice.runs add column force boolean not null default false`,
    ],
  },
  {
    id: 3,
    name: 'bulk jobs',
    statements: [
      // Bulk objects (engine/bulk.ts): a file's job, recorded before its upload and removed once its rows
      // settled and the state after them was saved, so a run that died mid-job is finished by the next.
      `create table sluice.bulk_jobs (
        activation text not null,
        run_id text not null,
        file_index integer not null,
        status text not null check (status in ('uploading', 'polling')),
        attempt integer not null default 1,
        file jsonb not null,
        job jsonb,
        state_after jsonb,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (activation, run_id, file_index)
      )`,
    ],
  },
  EVENT_LOG_MIGRATION,
  EVENT_REJECTS_MIGRATION,
];

export const LATEST_MIGRATION = MIGRATIONS[MIGRATIONS.length - 1]?.id ?? 0;

/** Every migration id, in order: what `migrate` applies to an empty database. */
export const MIGRATION_IDS: readonly number[] = MIGRATIONS.map((migration) => migration.id);

/** Brings the schema up to date; returns the ids it applied. */
export async function migrate(db: Database): Promise<number[]> {
  return db.transaction(async (tx) => {
    // Any number, as long as it is the same everywhere: serialises concurrent starts. Taken before the
    // bootstrap too: two concurrent `create schema if not exists` race on PostgreSQL (duplicate key).
    await tx.query('select pg_advisory_xact_lock(727274)');
    await tx.query('create schema if not exists sluice');
    await tx.query('create table if not exists sluice.migrations (id integer primary key, name text not null, applied_at timestamptz not null default now())');
    const done = new Set((await tx.query<{ id: number }>('select id from sluice.migrations')).rows.map((row) => row.id));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.id)) continue;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('insert into sluice.migrations (id, name) values ($1, $2)', [migration.id, migration.name]);
      applied.push(migration.id);
    }
    return applied;
  });
}
