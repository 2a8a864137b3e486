/**
 * Scheduled runs. `sluice.schedules` holds one row per scheduled activation with its next firing time;
 * every scheduler (one per `sluice serve` / `sluice worker` process) ticks and fires the rows that are due.
 *
 * Promises:
 * - a due schedule fires exactly once however many schedulers tick at once: the row is claimed with
 *   `FOR UPDATE SKIP LOCKED` and moved to its next slot in the same transaction that creates the run;
 * - missed slots are not replayed: a scheduler that was down for an hour fires once, then waits for the
 *   next future slot;
 * - a schedule whose previous run is still active is skipped for that slot (logged), not queued up;
 * - the table follows the newest config version: each tick checks the config id and re-syncs when it
 *   changed (a posted config may also call syncSchedules itself); an unchanged schedule keeps its slot;
 * - a tick never throws out of the timer: errors are logged and the next tick tries again.
 */
import { unwrapConfig } from '../config/load.ts';
import { describeError } from '../sdk/errors.ts';
import { latestConfig } from '../store/configs.ts';
import type { Database, Queryable } from '../store/db.ts';
import type { Platform } from './context.ts';
import { parseSchedule } from './schedule.ts';
import { triggerRun } from './trigger.ts';

export interface ScheduledActivation {
  readonly name: string;
  readonly schedule?: string | null;
}

/**
 * Makes `sluice.schedules` match `activations`: a row per activation with a valid schedule (next_at the
 * first slot after `now`, kept as it was when the schedule text is unchanged), no row for the others.
 */
export async function syncSchedules(db: Database, activations: readonly ScheduledActivation[], now = new Date()): Promise<void> {
  const wanted = new Map<string, { text: string; next: Date }>();
  for (const activation of activations) {
    if (activation.schedule == null) continue;
    const parsed = parseSchedule(activation.schedule);
    if (!parsed.ok) continue; // config validation reports it; an invalid schedule never fires
    const next = parsed.schedule.nextAfter(now);
    if (next !== undefined) wanted.set(activation.name, { text: activation.schedule, next });
  }
  await db.transaction(async (tx) => {
    await tx.query('delete from sluice.schedules where not (activation = any($1::text[]))', [[...wanted.keys()]]);
    for (const [activation, { text, next }] of wanted) {
      await tx.query(
        `insert into sluice.schedules (activation, schedule, next_at) values ($1, $2, $3::timestamptz)
         on conflict (activation) do update set schedule = excluded.schedule, next_at = excluded.next_at
         where sluice.schedules.schedule is distinct from excluded.schedule`,
        [activation, text, next.toISOString()],
      );
    }
  });
}

/** The activations of a stored config value with their schedule text (unresolved: schedules hold no `${VAR}`). */
export function scheduledActivations(value: unknown): ScheduledActivation[] {
  const config = unwrapConfig(value) as { activations?: unknown } | null;
  const list = config !== null && typeof config === 'object' && Array.isArray(config.activations) ? (config.activations as unknown[]) : [];
  return list.flatMap((item) => {
    if (item === null || typeof item !== 'object') return [];
    const { name, schedule } = item as { name?: unknown; schedule?: unknown };
    if (typeof name !== 'string') return [];
    return [{ name, schedule: typeof schedule === 'string' ? schedule : null }];
  });
}

export interface SchedulerOptions {
  /** How often to look for due schedules; default 5000 ms. */
  readonly tickMs?: number;
}

export interface Scheduler {
  /** Stops ticking and waits for a tick in progress. */
  stop(): Promise<void>;
  /** One tick now (tests drive time through `now`); resolves to the number of runs created. */
  tick(now?: Date): Promise<number>;
}

export function startScheduler(platform: Platform, options: SchedulerOptions = {}): Scheduler {
  const tickMs = options.tickMs ?? 5000;
  const { db, logger } = platform;
  let syncedConfigId: number | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  async function syncIfChanged(now: Date): Promise<void> {
    const { rows } = await db.query<{ id: string | null }>('select max(id) as id from sluice.configs');
    const id = rows[0]?.id == null ? undefined : Number(rows[0].id);
    if (id === undefined || id === syncedConfigId) return;
    const config = await latestConfig(db);
    if (config === undefined) return;
    await syncSchedules(db, scheduledActivations(config.value), now);
    syncedConfigId = config.id;
  }

  async function tick(now = new Date()): Promise<number> {
    await syncIfChanged(now);
    const toEnqueue: string[] = [];
    const queue = { enqueue: async (id: string) => void toEnqueue.push(id) };
    const created = await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ activation: string; schedule: string }>(
        `select activation, schedule from sluice.schedules where next_at <= $1::timestamptz order by next_at for update skip locked`,
        [now.toISOString()],
      );
      let count = 0;
      for (const row of rows) {
        if (await fire(tx, queue, row.activation, now)) count++;
        await advance(tx, row, now);
      }
      return count;
    });
    // After commit: the runs exist even if this process dies here (the reaper enqueues long-queued runs).
    for (const id of toEnqueue) await platform.queue.enqueue(id);
    return created;
  }

  async function fire(tx: Queryable, queue: { enqueue(id: string): Promise<void> }, activation: string, now: Date): Promise<boolean> {
    const result = await triggerRun({ db: tx, queue }, { activation, dryRun: false, trigger: 'schedule', actor: 'scheduler' });
    const at = now.toISOString();
    switch (result.kind) {
      case 'created':
        logger.info({ activation, runId: result.run.id, at }, 'scheduled run triggered');
        return true;
      case 'busy':
        logger.info({ activation, activeRunId: result.run.id, at }, 'scheduled run skipped: previous run still active');
        return false;
      default:
        logger.warn({ activation, at, result: result.kind }, 'scheduled run not triggered: the activation is not in the current config');
        return false;
    }
  }

  function loop(): void {
    if (stopped) return;
    running = tick()
      .catch((error: unknown) => logger.error({ error: describeError(error) }, 'scheduler tick failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, tickMs);
      });
  }
  timer = setTimeout(loop, tickMs);

  return {
    tick,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** Moves a fired schedule to its first slot after `now` (skipping missed ones), or drops one that never fires again. */
async function advance(tx: Queryable, row: { activation: string; schedule: string }, now: Date): Promise<void> {
  const parsed = parseSchedule(row.schedule);
  const next = parsed.ok ? parsed.schedule.nextAfter(now) : undefined;
  if (next === undefined) {
    await tx.query('delete from sluice.schedules where activation = $1', [row.activation]);
    return;
  }
  await tx.query('update sluice.schedules set last_at = $2::timestamptz, next_at = $3::timestamptz where activation = $1', [
    row.activation,
    now.toISOString(),
    next.toISOString(),
  ]);
}
