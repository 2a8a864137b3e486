import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestDatabase, databaseTargets } from '../../test/support/databases.ts';
import type { Database } from './db.ts';
import { RUN_QUEUE, type RunQueue, openRunQueue, pgliteAdapter } from './queue.ts';

const quiet = { warn: () => {} };

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function jobStates(db: Database): Promise<Record<string, string>> {
  const rows = (await db.query<{ run_id: string; state: string }>(`select data->>'runId' as run_id, state::text as state from pgboss.job where name = $1`, [RUN_QUEUE])).rows;
  return Object.fromEntries(rows.map((row) => [row.run_id, row.state]));
}

describe.each(databaseTargets)('run queue on $name', (target) => {
  let database: TestDatabase;
  const queues: RunQueue[] = [];

  beforeEach(async () => {
    database = await target.create();
  });
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((queue) => queue.stop()));
    await database.drop();
  });

  async function worker(name: string, handled: Array<{ worker: string; runId: string; state: string | undefined }>, db: Database) {
    const queue = await openRunQueue(db, { pollingIntervalSeconds: 0.5, logger: quiet });
    queues.push(queue);
    let inFlight = 0;
    let maxInFlight = 0;
    const start = () =>
      queue.work(
        async (runId) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            // The job is still active while its handler runs: completion waits for the handler.
            const state = (await jobStates(db))[runId];
            await new Promise((resolve) => setTimeout(resolve, 30));
            handled.push({ worker: name, runId, state });
          } finally {
            inFlight--;
          }
        },
        { concurrency: 2 },
      );
    return { queue, start, maxInFlight: () => maxInFlight };
  }

  it('hands each of 20 run ids to exactly one handler, two at a time per worker', async () => {
    const handled: Array<{ worker: string; runId: string; state: string | undefined }> = [];
    const db = await database.open();
    // On PostgreSQL two workers (separate connections, as two processes would have); PGlite is in-process: one.
    const workers = target.name === 'postgres' ? await Promise.all([worker('a', handled, db), worker('b', handled, await database.open())]) : [await worker('a', handled, db)];
    const ids = Array.from({ length: 20 }, (_, i) => `run-${String(i).padStart(2, '0')}`);
    for (const id of ids) await workers[0]!.queue.enqueue(id);
    await Promise.all(workers.map((w) => w.start()));

    await waitFor(() => handled.length >= ids.length);
    await Promise.all(workers.map((w) => w.queue.stop()));

    expect(handled.map((h) => h.runId).sort()).toEqual(ids);
    for (const w of workers) expect(w.maxInFlight()).toBeLessThanOrEqual(2);
    expect(handled.every((h) => h.state === 'active')).toBe(true);
    if (target.name === 'postgres') {
      expect(new Set(handled.map((h) => h.worker))).toEqual(new Set(['a', 'b']));
    }
    // Completion is recorded before stop() resolves.
    expect(Object.values(await jobStates(db))).toEqual(ids.map(() => 'completed'));
  });

  it('fails the job when the handler throws, and retries it later', async () => {
    const db = await database.open();
    const queue = await openRunQueue(db, { pollingIntervalSeconds: 0.5, logger: quiet });
    queues.push(queue);
    const calls: string[] = [];
    await queue.enqueue('boom');
    await queue.work(
      async (runId) => {
        calls.push(runId);
        throw new Error('handler broke');
      },
      { concurrency: 1 },
    );
    await waitFor(() => calls.length === 1);
    await queue.stop();
    const row = (await db.query<{ state: string; retry_count: number; output: { message?: string } }>(`select state::text as state, retry_count, output from pgboss.job where name = $1`, [RUN_QUEUE])).rows[0];
    expect(row).toMatchObject({ state: 'retry', retry_count: 0, output: { message: 'handler broke' } });
    await expect(queue.enqueue('late')).rejects.toThrow('stopped');
  });

  it('wakes an idle worker in the same process at once on enqueue', async () => {
    const db = await database.open();
    const queue = await openRunQueue(db, { pollingIntervalSeconds: 30, logger: quiet });
    queues.push(queue);
    const seen: string[] = [];
    await queue.work(async (runId) => void seen.push(runId), { concurrency: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await queue.enqueue('prompt');
    await waitFor(() => seen.length === 1, 5_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    await queue.stop();
  });
});

describe('the pg-boss adapter over PGlite', () => {
  it('runs scripts through exec, statements with parameters through query, and recovers from a failed script', async () => {
    const database = await databaseTargets.find((target) => target.name === 'pglite')!.create();
    const db = await database.open();
    try {
      const adapter = pgliteAdapter(db.pglite!);
      expect((await adapter.executeSql('create table t (x int); insert into t values (1), (2); select x from t order by x', [])).rows).toEqual([{ x: 1 }, { x: 2 }]);
      expect((await adapter.executeSql('select x from t where x = $1', [2])).rows).toEqual([{ x: 2 }]);
      // A script that fails inside its own BEGIN would leave the one backend in an aborted transaction.
      await expect(adapter.executeSql('begin; insert into t values (3); select 1/0; commit;', [])).rejects.toThrow('division by zero');
      expect((await db.query<{ n: number }>('select count(*)::int as n from t')).rows).toEqual([{ n: 2 }]);
    } finally {
      await database.drop();
    }
  });
});
