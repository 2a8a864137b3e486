/**
 * The embedded store's event log: a second PGlite database (`<SLUICE_HOME>/events`) in a worker thread.
 * PGlite runs queries on the thread that calls it, and appending ~25,000 events/s costs about a core by
 * itself (measured: ~3.5 ms per 100-event batch); in its own thread it runs beside the HTTP server's
 * parsing and checking instead of taking turns with it. Only the event log's tables live there (events,
 * cursors, dead letters, rejected events); with DATABASE_URL they are in PostgreSQL with everything else.
 *
 * The handle is a `Database` whose `transaction` is not available: every event-log query is one
 * statement (store/events.ts), which PGlite's single backend runs atomically.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Database, QueryResult } from './db.ts';
import { EVENT_LOG_MIGRATIONS } from './migrations.ts';

interface Reply {
  readonly id: number;
  readonly rows?: unknown[];
  readonly rowCount?: number;
  readonly error?: { message: string; code?: string };
}

export async function openEventLog(home: string): Promise<Database> {
  const dir = join(home, 'events');
  mkdirSync(dir, { recursive: true });
  const worker = new Worker(new URL('./event-log-worker.mjs', import.meta.url), { workerData: { dir } });
  const pending = new Map<number, { resolve(reply: Reply): void; reject(error: Error): void }>();
  let next = 0;
  let failure: Error | undefined;
  worker.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    waiter?.resolve(reply);
  });
  const fail = (error: Error) => {
    failure ??= error;
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the event log's worker exited (${code})`)));

  function send(op: 'query' | 'exec' | 'close', text = '', params?: readonly unknown[]): Promise<Reply> {
    if (failure !== undefined) return Promise.reject(failure);
    const id = next++;
    return new Promise<Reply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, text, params });
    }).then((reply) => {
      if (reply.error !== undefined) throw Object.assign(new Error(reply.error.message), reply.error.code === undefined ? {} : { code: reply.error.code });
      return reply;
    });
  }

  const db: Database = {
    kind: 'pglite',
    location: dir,
    async query<Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
      const reply = await send('query', text, params);
      return { rows: (reply.rows ?? []) as Row[], rowCount: reply.rowCount ?? 0 };
    },
    transaction() {
      return Promise.reject(new Error('the event log takes single statements only'));
    },
    async exec(text: string) {
      await send('exec', text);
    },
    async close() {
      try {
        await send('close');
      } finally {
        await worker.terminate();
      }
    },
  };
  try {
    await db.exec('create schema if not exists sluice; create table if not exists sluice.migrations (id integer primary key, name text not null, applied_at timestamptz not null default now())');
    const done = new Set((await db.query<{ id: number }>('select id from sluice.migrations')).rows.map((row) => row.id));
    for (const migration of EVENT_LOG_MIGRATIONS) {
      if (done.has(migration.id)) continue;
      // One exec: the event log takes no `transaction`, and begin … commit applies the migration whole.
      await db.exec(
        `begin; ${migration.statements.join(';\n')}; insert into sluice.migrations (id, name) values (${migration.id}, '${migration.name}'); commit;`,
      );
    }
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  return db;
}
