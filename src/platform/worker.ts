/**
 * The run worker: takes run ids from the queue and executes them with the engine. Any number of workers,
 * in any number of processes on any machines that reach the database, share the work.
 *
 * Promises:
 * - exactly once: a run executes only after this worker *claimed* it (a conditional UPDATE on the row),
 *   so a run id delivered twice by the queue, or to two workers, runs once; a duplicate returns quietly;
 * - while it runs, the worker renews the run's lease (heartbeat) and saves its counters; a run whose
 *   worker died is requeued by any other worker's reaper after `leaseSeconds` and resumes from its last
 *   committed state version (only batches that were in flight can repeat);
 * - cancel: a heartbeat that sees `cancel_requested` aborts the run, which drains what is in flight,
 *   saves state and ends `cancelled`;
 * - a lost lease (the run was requeued under us) aborts the run and writes neither state nor a final
 *   status: the run belongs to another worker now;
 * - stop(): in-flight runs are aborted, drain, save state and end `interrupted`; the platform's queue is
 *   stopped (no more jobs are fetched), so stop the scheduler and API before the worker;
 * - every run ends with its rejects and logs stored before its final status; a failed run notifies the
 *   activation's webhook (or SLUICE_WEBHOOK_URL); no secret value is logged or stored in an error;
 * - timers never throw: their errors are logged and they try again next time;
 * - bulk objects keep their files under `$SLUICE_HOME/bulk/<activation>/` and their jobs in the store, so
 *   a run requeued after its worker died polls the same jobs instead of uploading again. (A run resumed on
 *   another machine cannot read the first machine's files back: rejected rows then reach the ledger without
 *   their content, and a file recorded mid-upload is read again from the source instead.)
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../config/resolve.ts';
import type { ActivationConfig } from '../config/schema.ts';
import { runActivation } from '../engine/run.ts';
import type { StateStore } from '../engine/state-store.ts';
import type { ActivationPlan, RunCounters, RunSummary } from '../engine/types.ts';
import { type Redact, redactor } from '../interop/external/redact.ts';
import { describeError } from '../sdk/errors.ts';
import type { ConfigIssue } from '../sdk/spec.ts';
import { decryptConfigSecrets } from '../store/config-secrets.ts';
import { getConfig } from '../store/configs.ts';
import { StoreLedger } from '../store/run-records.ts';
import { type RunEnd, type RunRecord, claimRun, finishRun, heartbeat, longQueuedRuns, requeueStaleRuns } from '../store/runs.ts';
import { StoreStateStore } from '../store/state.ts';
import { StoreFingerprintStore } from '../store/fingerprints.ts';
import { StoreBulkJobStore } from '../store/bulk-jobs.ts';
import type { FingerprintStore } from '../engine/fingerprints.ts';
import type { Platform } from './context.ts';
import { notifyRunFailed } from './notify.ts';
import { configRedactor, createRunLogger } from './run-logger.ts';

/** Queued longer than this with a free worker: its queue job was lost, enqueue it again. */
const LONG_QUEUED_SECONDS = 60;

/** What the worker reports to metrics when a run ends (matches the server's Metrics.runFinished). */
export interface RunMetrics {
  runFinished(run: {
    readonly activation: string;
    readonly status: 'succeeded' | 'failed' | 'interrupted' | 'cancelled';
    readonly delivered: number;
    readonly rejected: number;
    readonly durationSeconds: number;
  }): void;
}

export interface WorkerOptions {
  /** Runs executed at once by this worker; default 2. */
  readonly concurrency?: number;
  /** Recorded in `runs.worker`; default `<hostname>:<pid>:<random>`. */
  readonly workerId?: string;
  /** A run whose heartbeat is older than this is requeued; default 30 (env SLUICE_RUN_LEASE_SECONDS). */
  readonly leaseSeconds?: number;
  /** How often a running run's lease is renewed; default leaseSeconds / 3. */
  readonly heartbeatSeconds?: number;
  readonly metrics?: RunMetrics;
}

export interface Worker {
  readonly id: string;
  stop(): Promise<void>;
}

type AbortReason = 'cancel' | 'lost' | 'stop';

/** Why a run was stopped early (the first reason wins), and the signal the engine watches. */
class RunAbort {
  readonly controller = new AbortController();
  reason: AbortReason | undefined;

  abort(why: AbortReason): void {
    this.reason ??= why;
    this.controller.abort(why);
  }
}

export function startWorker(platform: Platform, options: WorkerOptions = {}): Worker {
  const concurrency = options.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  const id = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const leaseSeconds = options.leaseSeconds ?? positiveNumber(platform.env.SLUICE_RUN_LEASE_SECONDS, 'SLUICE_RUN_LEASE_SECONDS') ?? 30;
  const heartbeatSeconds = options.heartbeatSeconds ?? leaseSeconds / 3;
  const { db, logger } = platform;
  const active = new Map<string, { readonly stop: RunAbort; readonly done: Promise<void> }>();
  let stopping: Promise<void> | undefined;

  async function handle(runId: string): Promise<void> {
    // A job fetched while stopping fails, so the queue hands it to another worker after its retry delay.
    if (stopping !== undefined) throw new Error(`worker ${id} is stopping; run ${runId} is left for another worker`);
    const run = await claimRun(db, runId, id);
    if (run === undefined) return; // another worker has it, or it is no longer queued
    const stop = new RunAbort();
    const done = execute(run, stop).catch(async (error: unknown) => {
      // Unexpected (the database went away, a bug): end the run rather than leave it to be retried forever.
      const message = `internal error: ${describeError(error)}`;
      logger.error({ runId: run.id, activation: run.activation, worker: id, error: message }, 'run could not be executed');
      await finishRun(db, run.id, id, { status: 'failed', counters: run.counters, unsettled: 0, error: message }).catch(() => {});
    });
    active.set(run.id, { stop, done });
    // Claimed while stop() began: it runs aborted, so it ends `interrupted` at once.
    if (stopping !== undefined) stop.abort('stop');
    try {
      await done;
    } finally {
      active.delete(run.id);
    }
  }

  async function execute(run: RunRecord, stop: RunAbort): Promise<void> {
    const fields = { runId: run.id, activation: run.activation, worker: id, attempt: run.attempts };
    logger.info(fields, 'run started');
    if (run.cancel_requested) {
      await end(run, { status: 'cancelled', counters: run.counters, unsettled: 0 }, undefined, 0);
      return;
    }
    let counters: Readonly<RunCounters> | undefined;
    let beating = false;
    const beat = setInterval(() => {
      if (beating) return;
      beating = true;
      heartbeat(db, run.id, id, counters === undefined ? undefined : { ...counters })
        .then((lease) => {
          if (lease === undefined) stop.abort('lost');
          else if (lease.cancelRequested) stop.abort('cancel');
        })
        .catch((error: unknown) => logger.warn({ ...fields, error: describeError(error) }, 'heartbeat failed'))
        .finally(() => (beating = false));
    }, heartbeatSeconds * 1000);

    let summary: RunSummary;
    let prepared: Awaited<ReturnType<typeof prepare>>;
    try {
      prepared = await prepare(run);
      if ('error' in prepared) {
        clearInterval(beat);
        await end(run, { status: 'failed', counters: run.counters, unsettled: 0, error: prepared.error }, prepared.notifyUrl, 0);
        return;
      }
      const runLogger = createRunLogger({ db, runId: run.id, activation: run.activation, base: logger, redact: prepared.redact });
      try {
        summary = await runActivation({
          activation: prepared.plan,
          stateStore: guardedStateStore(new StoreStateStore(db, run.activation, run.id), run.dry_run, () => stop.reason === 'lost'),
          fingerprints: guardedFingerprintStore(new StoreFingerprintStore(db, run.activation), run.dry_run, () => stop.reason === 'lost'),
          ledger: new StoreLedger(db, run.id),
          // Bulk objects: files on this machine's disk, jobs in the store (a restarted run resumes them).
          bulk: { dir: join(platform.env.SLUICE_HOME ?? '.sluice', 'bulk', safeName(run.activation)), jobs: new StoreBulkJobStore(db, run.activation) },
          runId: run.id,
          dryRun: run.dry_run,
          force: run.force,
          logger: runLogger.logger,
          signal: stop.controller.signal,
          onProgress: (latest) => (counters = latest),
        });
      } finally {
        // runActivation closed (flushed) the ledger; the logs are written here, both before the final status.
        await runLogger.close();
      }
    } finally {
      clearInterval(beat);
    }
    if (stop.reason === 'lost') {
      logger.warn(fields, 'run lease lost (the run was requeued for another worker): no final status written');
      return;
    }
    const status = stop.reason === 'cancel' ? 'cancelled' : summary.status;
    const error = summary.error === undefined ? undefined : prepared.redact(summary.error);
    await end(
      run,
      {
        status,
        counters: { ...summary.counters },
        unsettled: summary.unsettled,
        ...(summary.plan === undefined ? {} : { plan: summary.plan }),
        ...(summary.drift === undefined ? {} : { drift: summary.drift }),
        ...(error === undefined ? {} : { error }),
      },
      prepared.notifyUrl,
      summary.durationMs / 1000,
    );
  }

  /** The activation's plan from the run's config version, secrets decrypted; or why it cannot run. */
  async function prepare(run: RunRecord): Promise<
    { plan: ActivationPlan; redact: Redact; notifyUrl: string | undefined } | { error: string; notifyUrl: string | undefined }
  > {
    const fallbackUrl = platform.webhookUrl;
    const stored = await getConfig(db, run.config_id);
    if (stored === undefined) return { error: `config version ${run.config_id} no longer exists`, notifyUrl: fallbackUrl };
    let redact: Redact;
    let decrypted: unknown;
    try {
      redact = configRedactor(stored.value, platform.secretKey, platform.env);
      decrypted = decryptConfigSecrets(stored.value, platform.secretKey);
    } catch (error) {
      return { error: `config version ${run.config_id}: ${describeError(error)}`, notifyUrl: fallbackUrl };
    }
    const resolved = await resolveConfig(decrypted, platform.env);
    // Secrets given by SLUICE_<TYPE>_<KEY> overrides are masked like the config's own.
    if (resolved.secretValues.length > 0) {
      const masked = redactor(resolved.secretValues);
      const base = redact;
      redact = (text) => masked(base(text));
    }
    const index = resolved.config?.activations.findIndex((activation) => activation.name === run.activation) ?? -1;
    const entry = resolved.config?.activations[index];
    const notifyUrl = entry?.notify?.webhook_url ?? fallbackUrl;
    const plan = resolved.activations.find((activation) => activation.name === run.activation);
    const issues = relevantIssues(resolved.issues, entry, index);
    if (plan === undefined || issues.length > 0) {
      const listed = issues.map((issue) => `\n  ${issue.path}: ${issue.message}`).join('');
      const why = entry === undefined && resolved.config !== undefined ? ` has no activation "${run.activation}"` : ` has problems:${listed}`;
      return { error: redact(`activation ${run.activation} cannot run: config version ${run.config_id}${why}`), notifyUrl };
    }
    return { plan, redact, notifyUrl };
  }

  /** Writes the final status, then tells the webhook and metrics. */
  async function end(run: RunRecord, result: RunEnd, notifyUrl: string | undefined, durationSeconds: number): Promise<void> {
    const fields = { runId: run.id, activation: run.activation, worker: id };
    const finished = await finishRun(db, run.id, id, result);
    if (finished === undefined) {
      logger.warn(fields, 'run was no longer this worker\'s when it finished: final status not written');
      return;
    }
    logger.info({ ...fields, status: result.status, counters: result.counters, ...(result.error === undefined ? {} : { error: result.error }) }, 'run finished');
    options.metrics?.runFinished({
      activation: run.activation,
      status: result.status,
      delivered: result.counters.delivered,
      rejected: result.counters.rejected,
      durationSeconds,
    });
    if (result.status === 'failed' && notifyUrl !== undefined && notifyUrl !== '') {
      await notifyRunFailed(
        notifyUrl,
        {
          runId: run.id,
          activation: run.activation,
          error: result.error ?? 'unknown error',
          ...(finished.started_at === null ? {} : { startedAt: finished.started_at }),
          ...(finished.finished_at === null ? {} : { finishedAt: finished.finished_at }),
          counters: result.counters,
          ...(platform.publicUrl === undefined ? {} : { link: `${platform.publicUrl.replace(/\/$/, '')}/api/v1/runs/${run.id}` }),
        },
        { logger },
      );
    }
  }

  /** Puts back runs whose worker died, and enqueues again runs whose queue job was lost. */
  async function reap(): Promise<void> {
    for (const runId of await requeueStaleRuns(db, leaseSeconds)) {
      logger.warn({ runId, worker: id, leaseSeconds }, 'run lease expired (its worker stopped): requeued');
      await platform.queue.enqueue(runId);
    }
    // Only with a free slot: a free worker would have fetched a live job by now, so the job is lost.
    if (active.size < concurrency) for (const runId of await longQueuedRuns(db, LONG_QUEUED_SECONDS)) await platform.queue.enqueue(runId);
  }
  let reaping = false;
  const reaper = setInterval(() => {
    if (reaping || stopping !== undefined) return;
    reaping = true;
    reap()
      .catch((error: unknown) => logger.warn({ worker: id, error: describeError(error) }, 'reaper failed'))
      .finally(() => (reaping = false));
  }, (leaseSeconds / 2) * 1000);

  // work() only starts the fetch loops; it rejects only on arguments checked above or a stopped queue.
  platform.queue.work(handle, { concurrency }).then(
    () => logger.info({ worker: id, concurrency, leaseSeconds }, 'worker started'),
    (error: unknown) => logger.error({ worker: id, error: describeError(error) }, 'worker could not start'),
  );

  return {
    id,
    stop() {
      stopping ??= (async () => {
        clearInterval(reaper);
        for (const run of active.values()) run.stop.abort('stop');
        // Waits for the handlers in progress, which are draining and saving state now.
        await platform.queue.stop();
        await Promise.all([...active.values()].map((run) => run.done));
        logger.info({ worker: id }, 'worker stopped');
      })();
      return stopping;
    },
  };
}

/** The issues that concern this activation: its own entry, its source and its destination (or all, when unparsed). */
function relevantIssues(issues: readonly ConfigIssue[], entry: ActivationConfig | undefined, index: number): ConfigIssue[] {
  if (entry === undefined) return [...issues];
  const prefixes = [
    `activations[${index}]`,
    `sources.${entry.source.$ref.slice('#/sources/'.length)}`,
    `destinations.${entry.destination.$ref.slice('#/destinations/'.length)}`,
  ];
  return issues.filter((issue) => prefixes.some((prefix) => issue.path === prefix || issue.path.startsWith(`${prefix}.`) || issue.path.startsWith(`${prefix}[`)));
}

/** Dry runs save no state (the engine already does not; this says so twice), and a run that lost its lease saves none either. */
function guardedStateStore(store: StateStore, dryRun: boolean, leaseLost: () => boolean): StateStore {
  return {
    load: () => store.load(),
    save: async (state) => {
      if (!dryRun && !leaseLost()) await store.save(state);
    },
  };
}

/** The same for fingerprints: a dry run, or a run that lost its lease, leaves the snapshot as it was. */
function guardedFingerprintStore(store: FingerprintStore, dryRun: boolean, leaseLost: () => boolean): FingerprintStore {
  return {
    load: () => store.load(),
    save: async (snapshot) => {
      if (!dryRun && !leaseLost()) await store.save(snapshot);
    },
  };
}

/** An activation name as one directory name. */
function safeName(name: string): string {
  return name.replace(/[^\w.-]/g, '_');
}

function positiveNumber(text: string | undefined, name: string): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  if (!(value > 0)) throw new Error(`${name} must be a positive number of seconds, got "${text}"`);
  return value;
}
