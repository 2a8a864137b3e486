/**
 * The run queue: run ids handed from whatever starts a run (API, scheduler) to whichever worker is free,
 * on pg-boss 10 in the store's own database (schema `pgboss`, queue `sluice-runs`, job data `{ runId }`).
 * On PostgreSQL it has its own small pool (4 connections), so any number of processes share the queue
 * and each id is handed to exactly one of them. On PGlite it runs through an adapter over the embedded
 * instance, in-process.
 *
 * Promises:
 * - `work(handler, { concurrency: N })` runs at most N handlers at once in this process; a job is marked
 *   completed only after its handler resolved, and failed (retried up to RETRY_LIMIT times) when it
 *   threw. Both are recorded before the next job is fetched.
 * - `stop()` fetches no more jobs, waits for the handlers in progress (interrupt them first if they are
 *   long), then stops pg-boss; it leaves no timers or connections behind. The Database stays open.
 * - pg-boss's errors (lost connections, failed maintenance) are logged through `logger.warn`, never thrown.
 * Jobs expire (and are retried) only after ~24 h, pg-boss's maximum: a crashed worker is noticed by the
 * platform's heartbeat lease on the run, not by the queue; a handler may therefore see a run id again
 * and must check the run's state.
 */
import type { PGlite } from '@electric-sql/pglite';
import PgBoss from 'pg-boss';
import type { Logger } from '../sdk/context.ts';
import type { Database } from './db.ts';

export const RUN_QUEUE = 'sluice-runs';
export const RETRY_LIMIT = 3;
/** pg-boss refuses 24 h or more. */
const EXPIRE_IN_SECONDS = 24 * 60 * 60 - 60;

export interface RunQueue {
  enqueue(runId: string): Promise<void>;
  /** Starts N fetch loops in this process and returns; call stop() to end them. */
  work(handler: (runId: string) => Promise<void>, options: { concurrency: number }): Promise<void>;
  stop(): Promise<void>;
}

export interface RunQueueOptions {
  /** How often an idle worker asks for a job (default 2, at least 0.5). An enqueue in this process wakes its idle workers at once. */
  readonly pollingIntervalSeconds?: number;
  /** Where pg-boss's errors go; console.warn when absent. */
  readonly logger?: Pick<Logger, 'warn'>;
}

interface RunJob {
  readonly runId: string;
}

const JOB_OPTIONS = { retryLimit: RETRY_LIMIT, retryDelay: 5, retryBackoff: true, expireInSeconds: EXPIRE_IN_SECONDS } as const;

export async function openRunQueue(db: Database, options: RunQueueOptions = {}): Promise<RunQueue> {
  const logger = options.logger ?? { warn: (obj: object, msg?: string) => console.warn(msg, obj) };
  const pollMs = (options.pollingIntervalSeconds ?? 2) * 1000;
  if (!(pollMs >= 500)) throw new Error(`pollingIntervalSeconds must be at least 0.5, got ${options.pollingIntervalSeconds}`);

  const connection = db.kind === 'postgres' ? { connectionString: requireDefined(db.url, 'db.url'), max: 4 } : { db: pgliteAdapter(requireDefined(db.pglite, 'db.pglite')) };
  // schedule: false — Sluice keeps its own schedules (sluice.schedules), so pg-boss's cron stays off.
  // Maintenance (supervise) stays on: it expires, archives and deletes old jobs every 2 minutes.
  const boss = new PgBoss({ ...connection, schedule: false, ...JOB_OPTIONS });
  boss.on('error', (error) => logger.warn({ err: error }, `run queue (pg-boss): ${error.message}`));
  await boss.start();
  try {
    await ensureQueue(boss);
  } catch (error) {
    await boss.stop({ graceful: false }).catch(() => {});
    throw error;
  }

  const loops: Promise<void>[] = [];
  const sleepers = new Set<() => void>();
  let stopping: Promise<void> | undefined;

  const wakeAll = () => {
    for (const wake of [...sleepers]) wake();
  };
  const idle = () =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, pollMs);
      sleepers.add(wake);
    });

  async function loop(handler: (runId: string) => Promise<void>): Promise<void> {
    while (stopping === undefined) {
      let job: PgBoss.Job<RunJob> | undefined;
      try {
        job = (await boss.fetch<RunJob>(RUN_QUEUE, { batchSize: 1 }))[0];
      } catch (error) {
        logger.warn({ err: error }, 'run queue: fetching a job failed');
      }
      if (job === undefined) {
        if (stopping === undefined) await idle();
        continue;
      }
      let failure: unknown;
      let failed = false;
      try {
        const runId = job.data?.runId;
        if (typeof runId !== 'string') throw new Error(`job ${job.id} has no runId`);
        await handler(runId);
      } catch (error) {
        failed = true;
        failure = error;
      }
      try {
        if (failed) await boss.fail(RUN_QUEUE, job.id, failure instanceof Error ? { message: failure.message, stack: failure.stack } : { value: String(failure) });
        else await boss.complete(RUN_QUEUE, job.id);
      } catch (error) {
        logger.warn({ err: error, jobId: job.id }, `run queue: recording job ${job.id} as ${failed ? 'failed' : 'completed'} failed`);
      }
    }
  }

  return {
    async enqueue(runId) {
      if (stopping !== undefined) throw new Error('the run queue is stopped');
      await boss.send(RUN_QUEUE, { runId } satisfies RunJob, JOB_OPTIONS);
      wakeAll();
    },
    async work(handler, { concurrency }) {
      if (stopping !== undefined) throw new Error('the run queue is stopped');
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
      for (let i = 0; i < concurrency; i++) loops.push(loop(handler));
    },
    stop() {
      stopping ??= (async () => {
        wakeAll();
        await Promise.allSettled(loops);
        await boss.stop({ graceful: true, wait: true });
      })();
      return stopping;
    },
  };
}

/**
 * Creates the queue unless it exists. Several pg-boss 10 instances creating one queue at once on
 * PostgreSQL can deadlock (its create_queue() attaches a partition to pgboss.job): PostgreSQL aborts one,
 * and on the retry the queue is there.
 */
async function ensureQueue(boss: PgBoss): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      if ((await boss.getQueue(RUN_QUEUE)) === null) await boss.createQueue(RUN_QUEUE, { name: RUN_QUEUE, ...JOB_OPTIONS });
      return;
    } catch (error) {
      if (attempt >= 5 || (error as { code?: unknown }).code !== '40P01') throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

/**
 * pg-boss's `db` option over PGlite. Without parameters pg-boss sends whole scripts (its migrations,
 * `BEGIN; ...; COMMIT;` maintenance), which only PGlite's exec takes, answering with the last statement's
 * rows; with parameters, one statement through PGlite's query. Exported for its tests.
 */
export function pgliteAdapter(pglite: PGlite): PgBoss.Db {
  return {
    async executeSql(text: string, values?: unknown[]) {
      if (values === undefined || values.length === 0) {
        try {
          const results = await pglite.exec(text);
          return { rows: results.at(-1)?.rows ?? [] };
        } catch (error) {
          // A script that failed between its BEGIN and COMMIT leaves the one backend in an aborted
          // transaction, which would fail every later query: roll it back.
          if (pglite.isInTransaction()) await pglite.exec('rollback').catch(() => {});
          throw error;
        }
      }
      return { rows: (await pglite.query(text, values)).rows };
    },
  };
}

function requireDefined<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`openRunQueue: ${name} is missing`);
  return value;
}
