/**
 * Bulk objects (upload → poll → results): what the pipeline uses in place of the Sender when the
 * destination object is a `BulkObject`.
 *
 * Records (mapped, validated, compared) are appended to the current file (bulk-file.ts: CSV or JSONL,
 * optional gzip, constant memory) under `<dir>/<run>/`. A file is cut when it reaches the object's row or
 * byte limit, or when the source ends. Each file then goes through one job:
 *
 *   record `uploading` in the job store → upload → record `polling` (with the remote job) → poll with
 *   backoff (1 s doubling to 30 s) until it succeeds, fails or times out → results → one outcome per row
 *
 * - delivered rows settle (and advance their fingerprints); rejected rows go to the ledger with the
 *   destination's reason and the row read back from the file (streamed, never held in memory);
 * - a job that *fails as a whole* (not row by row) is uploaded again once, as a new job: such failures
 *   are usually the destination's (a queue hiccup, a timeout on its side), and a second one says the file
 *   itself is refused — its rows are then rejected (BULK_JOB_FAILED) with the job's reason;
 * - a job still running after `jobTimeoutMs` fails the run (BULK_JOB_TIMEOUT): its rows stay unsettled,
 *   state does not pass them, and the next run polls the same job again;
 * - a row whose result is `retry` is rejected with that reason: a bulk job's results are final, and
 *   the row can be replayed from the ledger.
 *
 * Up to `maxJobs` files are in flight; when that many are and another file is full, reading pauses. Each
 * file remembers the checkpoint segments of its rows, so state advances (checkpointer.ts) only once its
 * results are in. Once a file and every earlier one have settled and the state after them is saved, its
 * job record and local file are removed.
 *
 * Resume (`resumeBulkJobs`): a run first finishes the jobs an earlier run left in the store, in file order:
 * `polling` jobs are polled to their end (no second upload), `uploading` ones — the process died during
 * the upload, so the destination may or may not have the file — are uploaded again (the one window where a
 * file can reach the destination twice; a destination that writes under a temporary name and renames, as
 * sftp does, makes that harmless). As each settles, the state recorded with it is committed, so the source
 * resumes after those files.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonValue } from '../protocol/json.ts';
import { type BulkFile, type BulkFileSettings, type BulkObject, type BulkPoll, type WriteContext, resolvePerConfig } from '../sdk/destination.ts';
import { SluiceError, describeError, type ErrorCode } from '../sdk/errors.ts';
import type { Logger } from '../sdk/context.ts';
import type { Outcome } from '../sdk/outcome.ts';
import type { State } from '../sdk/source.ts';
import { type RetryPolicy, backoffDelay, mayRetry } from './backoff.ts';
import { BulkFileWriter, LineEncoder, bulkExtension, bulkFileName, readBulkRows } from './bulk-file.ts';
import type { BulkJobRecord, BulkJobStore } from './bulk-jobs.ts';
import type { Change } from './diff.ts';
import type { PendingRecord } from './sender.ts';

export const DEFAULT_MAX_JOBS = 2;
export const DEFAULT_JOB_TIMEOUT_MS = 60 * 60_000;
export const POLL_INITIAL_MS = 1000;
export const POLL_MAX_MS = 30_000;

/** Where a run keeps its bulk files and jobs (RunOptions.bulk). */
export interface BulkRunOptions {
  /** The activation's directory for files; each run writes under `<dir>/<run id>/`. */
  readonly dir: string;
  readonly jobs: BulkJobStore;
  /** First poll delay and its cap (default 1 s doubling to 30 s). */
  readonly pollInitialMs?: number;
  readonly pollMaxMs?: number;
}

/** A bulk object with its settings resolved for the run's config. */
export interface BulkPlan {
  readonly object: BulkObject<unknown, unknown, JsonValue>;
  readonly file: BulkFileSettings;
  readonly maxJobs: number;
  readonly jobTimeoutMs: number;
}

type JobContext = Omit<WriteContext<unknown, unknown>, 'idempotencyKey' | 'attempt'>;

/** What runs one file's job: shared by the pipeline's sink and the resume of an earlier run's jobs. */
export interface JobEnv {
  readonly plan: BulkPlan;
  readonly ctx: JobContext;
  readonly jobs: BulkJobStore;
  readonly retry: RetryPolicy;
  readonly pollInitialMs: number;
  readonly pollMaxMs: number;
  readonly logger: Logger;
  /** Stops polling and new uploads (interrupt or failure); rows not settled stay unsettled. */
  readonly stop: AbortSignal;
  /** Called when an upload starts (counted as a batch). */
  readonly uploading: () => void;
}

/** A row's final outcome: undefined when delivered, else why it was rejected. */
export type RowRejection = { readonly code: ErrorCode; readonly reason: string; readonly attempts: number } | undefined;
export type RowVisitor = (index: number, rejection: RowRejection, row: JsonValue | undefined) => void;

function isTransient(error: unknown): error is SluiceError {
  return error instanceof SluiceError && error.retryClass === 'transient';
}

/**
 * Takes one recorded file through upload → poll → results, visiting every row once with its outcome.
 * Returns true when every row was visited, false when the run stopped first (the record stays for the
 * next run). Throws on a fatal error (auth, config, a timed-out job, results that do not fit the file).
 */
export async function runFileJob(env: JobEnv, record: BulkJobRecord, visit: RowVisitor): Promise<boolean> {
  const { object } = env.plan;
  let current = record;
  for (;;) {
    if (current.status === 'uploading') {
      if (env.stop.aborted) return false;
      await env.jobs.put(current);
      const uploaded = await upload(env, current);
      if ('rejected' in uploaded) {
        await visitAll(current.file, { code: 'RETRIES_EXHAUSTED', reason: uploaded.rejected, attempts: current.attempt }, visit);
        return true;
      }
      if (object.poll === undefined) {
        await visitAll(current.file, undefined, visit);
        return true;
      }
      current = { ...current, status: 'polling', job: uploaded.job };
      await env.jobs.put(current);
    }
    const polled = await pollToEnd(env, current);
    if (polled === 'stopped') return false;
    if (polled.status === 'failed') {
      if (current.attempt < 2) {
        env.logger.warn({ file: current.file.name, reason: polled.reason }, 'bulk job failed: uploading the file again, once, as a new job');
        const { job: _job, ...rest } = current;
        current = { ...rest, status: 'uploading', attempt: current.attempt + 1 };
        continue;
      }
      await visitAll(current.file, { code: 'BULK_JOB_FAILED', reason: `bulk job failed twice: ${polled.reason}`, attempts: current.attempt }, visit);
      return true;
    }
    const outcomes = object.results === undefined ? undefined : await results(env, current);
    if (outcomes === 'stopped') return false;
    if (outcomes !== undefined && outcomes.length !== current.file.rows) {
      throw new SluiceError('DESTINATION_FAILED', `the bulk job for ${current.file.name} returned ${outcomes.length} results for ${current.file.rows} rows`);
    }
    await visitOutcomes(current.file, outcomes, current.attempt, visit);
    return true;
  }
}

async function visitAll(file: BulkFile, rejection: RowRejection, visit: RowVisitor): Promise<void> {
  if (rejection === undefined) {
    for (let index = 0; index < file.rows; index++) visit(index, undefined, undefined);
    return;
  }
  // Every row to the ledger, each read back from the file.
  return visitOutcomes(file, undefined, rejection.attempts, visit, rejection);
}

/** Delivered rows first (no reading), then the rejected ones as they are read back from the file. */
async function visitOutcomes(file: BulkFile, outcomes: readonly Outcome[] | undefined, attempts: number, visit: RowVisitor, all?: RowRejection): Promise<void> {
  const rejectionOf = (index: number): RowRejection => {
    if (all !== undefined) return all;
    const outcome = outcomes?.[index];
    if (outcome === undefined || outcome.status === 'delivered') return undefined;
    if (outcome.status === 'rejected') return { code: 'DESTINATION_REJECTED', reason: outcome.reason, attempts };
    return { code: 'DESTINATION_REJECTED', reason: `${outcome.reason} (bulk results are final: replay the row from the ledger)`, attempts };
  };
  let rejected = 0;
  for (let index = 0; index < file.rows; index++) {
    if (rejectionOf(index) === undefined) visit(index, undefined, undefined);
    else rejected++;
  }
  if (rejected === 0) return;
  const seen = new Set<number>();
  if (existsSync(file.path)) {
    for await (const { index, row } of readBulkRows(file, (index) => index < file.rows && rejectionOf(index) !== undefined)) {
      seen.add(index);
      visit(index, rejectionOf(index), row);
    }
  }
  // The local file is gone (a run resumed on another machine) or shorter than recorded: reject with what is known.
  for (let index = 0; index < file.rows; index++) {
    if (!seen.has(index) && rejectionOf(index) !== undefined) visit(index, rejectionOf(index), { file: file.name, row: index + 1 });
  }
}

async function upload(env: JobEnv, record: BulkJobRecord): Promise<{ job: JsonValue } | { rejected: string }> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    env.uploading();
    try {
      const job = await env.plan.object.upload(record.file, { ...env.ctx, idempotencyKey: `${record.runId}-${record.fileIndex}-${record.attempt}`, attempt });
      return { job: job ?? null };
    } catch (error) {
      if (!isTransient(error)) throw error;
      if (!mayRetry(attempt, started, env.retry)) return { rejected: `${describeError(error)} (gave up uploading after ${attempt} attempts)` };
      env.logger.warn({ file: record.file.name, attempt, error: describeError(error) }, 'bulk upload failed: retrying');
      // The upload goes on even when the run is stopping: a half-done upload is worse than a finished one.
      await sleep(Math.max(0, Math.max(error.notBefore ?? 0, Date.now() + backoffDelay(attempt, env.retry)) - Date.now()));
    }
  }
}

async function pollToEnd(env: JobEnv, record: BulkJobRecord): Promise<Exclude<BulkPoll, { status: 'in_progress' }> | 'stopped'> {
  const poll = env.plan.object.poll!;
  const deadline = Date.now() + env.plan.jobTimeoutMs;
  let delay = env.pollInitialMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await sleep(Math.max(0, Math.min(delay, deadline - Date.now())), undefined, { signal: env.stop });
    } catch {
      return 'stopped';
    }
    let status: BulkPoll | undefined;
    try {
      status = await poll(record.job ?? null, { ...env.ctx, idempotencyKey: `${record.runId}-${record.fileIndex}-${record.attempt}-poll`, attempt });
    } catch (error) {
      if (!isTransient(error)) throw error;
      env.logger.warn({ file: record.file.name, error: describeError(error) }, 'bulk poll failed: polling again');
    }
    if (status !== undefined && status.status !== 'in_progress') return status;
    if (Date.now() >= deadline) {
      throw new SluiceError(
        'BULK_JOB_TIMEOUT',
        `the bulk job for ${record.file.name} (${record.file.rows} rows) did not finish within ${Math.round(env.plan.jobTimeoutMs / 1000)} s${status?.status === 'in_progress' && status.message ? ` (last: ${status.message})` : ''}; its rows stay unsettled and the next run polls the job again`,
      );
    }
    delay = Math.min(delay * 2, env.pollMaxMs);
  }
}

async function results(env: JobEnv, record: BulkJobRecord): Promise<readonly Outcome[] | 'stopped'> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await env.plan.object.results!(record.job ?? null, record.file, { ...env.ctx, idempotencyKey: `${record.runId}-${record.fileIndex}-${record.attempt}-results`, attempt });
    } catch (error) {
      if (!isTransient(error) || !mayRetry(attempt, started, env.retry)) throw error;
      env.logger.warn({ file: record.file.name, error: describeError(error) }, 'bulk results failed: fetching again');
      try {
        await sleep(backoffDelay(attempt, env.retry), undefined, { signal: env.stop });
      } catch {
        return 'stopped';
      }
    }
  }
}

export interface BulkSinkHooks {
  delivered(segment: number, change: Change | undefined): void;
  rejected(stream: string, segment: number, code: ErrorCode, reason: string, attempts: number, row: JsonValue): void;
  fatal(error: unknown): void;
  /** Something changed that may unblock reading. */
  wake(): void;
  /** The newest state the source has sent so far. */
  latestState(): State | undefined;
  /** Resolves once the newest committed state is saved. */
  stateSaved(): Promise<void>;
}

interface OpenFile {
  readonly index: number;
  readonly writer: BulkFileWriter;
  readonly stream: string;
  /** Checkpoint segments of the rows in order, as pairs [segment, row count, …]. */
  readonly segments: number[];
  /** Diff modes: each row's fingerprint change, to advance when it is delivered. */
  changes: (Change | undefined)[] | undefined;
}

interface CutFile {
  readonly open: OpenFile;
  readonly stateAfter: State | undefined;
  readonly cutAt: string;
}

export interface BulkSinkSettings {
  readonly env: JobEnv;
  readonly runId: string;
  readonly activation: string;
  /** This run's directory (created on first use). */
  readonly dir: string;
  readonly startedAt: Date;
}

/** The pipeline's bulk side: files, jobs, and what settles when. */
export class BulkSink {
  private readonly encoder: LineEncoder;
  private readonly settings: BulkFileSettings;
  private current: OpenFile | undefined;
  private readonly waiting: CutFile[] = [];
  private active = 0;
  private nextIndex = 0;
  private readonly tasks = new Set<Promise<void>>();
  private readonly settled = new Set<number>();
  private nextRemoval = 0;
  private removals: Promise<void> = Promise.resolve();
  private dirReady = false;

  constructor(
    private readonly sink: BulkSinkSettings,
    private readonly hooks: BulkSinkHooks,
  ) {
    this.settings = sink.env.plan.file;
    this.encoder = new LineEncoder(this.settings.format, this.settings.columns);
  }

  /** Reading must pause: a full file waits for a job slot, or the file being written is congested. */
  get blocked(): boolean {
    return this.waiting.length > 0 || this.current?.writer.congested === true;
  }

  /** Append a record to the current file (or reject it when it cannot be written as a row). */
  append(record: PendingRecord, reject: (reason: string) => void): void {
    // A full file is cut when the next message arrives (this record, or a state: see `stateSeen`), so
    // the state that follows its last row is recorded with it.
    if (this.current !== undefined && this.current.writer.rows >= this.settings.maxRows) this.cut();
    const line = this.encoder.encode(record.data, record.json);
    if (typeof line !== 'string') {
      reject(line.reject);
      return;
    }
    const bytes = Buffer.byteLength(line);
    if (bytes > this.settings.maxBytes) {
      reject(`the row is ${bytes} bytes, over the file limit of ${this.settings.maxBytes} bytes`);
      return;
    }
    let file = this.current;
    if (file !== undefined && file.writer.bytes + bytes > this.settings.maxBytes) {
      this.cut();
      file = undefined;
    }
    file ??= this.open(record.stream);
    file.writer.append(line, bytes);
    const segments = file.segments;
    if (segments.length > 0 && segments[segments.length - 2] === record.segment) segments[segments.length - 1]!++;
    else segments.push(record.segment, 1);
    if (record.change !== undefined || file.changes !== undefined) {
      file.changes ??= new Array<Change | undefined>(file.writer.rows - 1).fill(undefined);
      file.changes.push(record.change);
    }
  }

  /** The source sent a state: a full file is cut now, with that state recorded as the one after it. */
  stateSeen(): void {
    if (this.current !== undefined && this.current.writer.rows >= this.settings.maxRows) this.cut();
  }

  /**
   * The source ended (`complete`) — cut the last file — or the run stopped — discard it, its rows stay
   * unsettled. Then wait for every job to finish (or stop) and for the removals of settled files.
   */
  async finish(complete: boolean): Promise<void> {
    if (complete) this.cut();
    else if (this.current !== undefined) {
      const discarded = this.current;
      this.current = undefined;
      await discarded.writer.discard();
    }
    while (this.tasks.size > 0) await Promise.all(this.tasks);
    // Files still waiting for a slot when the run stopped were never uploaded: nothing records them.
    for (const cut of this.waiting.splice(0)) await cut.open.writer.discard();
    await this.removals;
    await rmdir(this.sink.dir).catch(() => undefined);
  }

  private open(stream: string): OpenFile {
    if (!this.dirReady) {
      // Synchronous on purpose: `append` is, and this happens once per run.
      mkdirSync(this.sink.dir, { recursive: true });
      this.dirReady = true;
    }
    const index = this.nextIndex++;
    const ext = bulkExtension(this.settings.format, this.settings.gzip === true);
    const writer = new BulkFileWriter(join(this.sink.dir, `${String(index).padStart(5, '0')}.${ext}`), this.settings.gzip === true, this.encoder.header(), () => this.hooks.wake());
    this.current = { index, writer, stream, segments: [], changes: undefined };
    return this.current;
  }

  private cut(): void {
    const file = this.current;
    if (file === undefined) return;
    this.current = undefined;
    this.waiting.push({ open: file, stateAfter: this.hooks.latestState(), cutAt: new Date().toISOString() });
    this.pump();
  }

  private pump(): void {
    while (this.active < this.sink.env.plan.maxJobs && this.waiting.length > 0 && !this.sink.env.stop.aborted) {
      const cut = this.waiting.shift()!;
      this.active++;
      const task = this.process(cut)
        .catch((error: unknown) => this.hooks.fatal(error))
        .finally(() => {
          this.active--;
          this.tasks.delete(task);
          this.pump();
          this.hooks.wake();
        });
      this.tasks.add(task);
    }
  }

  private async process(cut: CutFile): Promise<void> {
    const { open } = cut;
    const bytes = await open.writer.finish();
    const ext = bulkExtension(this.settings.format, this.settings.gzip === true);
    const columns = this.encoder.columns;
    const file: BulkFile = {
      path: open.writer.path,
      name: bulkFileName(this.settings.nameTemplate, { activation: this.sink.activation, run: this.sink.runId, index: open.index, ext, at: this.sink.startedAt }),
      index: open.index,
      format: this.settings.format,
      gzip: this.settings.gzip === true,
      rows: open.writer.rows,
      bytes,
      ...(this.settings.format === 'csv' && columns !== undefined ? { columns } : {}),
    };
    const record: BulkJobRecord = {
      runId: this.sink.runId,
      fileIndex: open.index,
      status: 'uploading',
      file,
      attempt: 1,
      ...(cut.stateAfter === undefined ? {} : { stateAfter: cut.stateAfter }),
      createdAt: cut.cutAt,
    };
    const segmentOf = segmentLookup(open.segments);
    const changes = open.changes;
    const done = await runFileJob(this.sink.env, record, (index, rejection, row) => {
      const segment = segmentOf(index);
      if (rejection === undefined) this.hooks.delivered(segment, changes?.[index]);
      else this.hooks.rejected(open.stream, segment, rejection.code, rejection.reason, rejection.attempts, row ?? null);
    });
    if (!done) {
      // Stopped before the upload began: nothing was recorded, so the file is of no further use.
      if (this.sink.env.stop.aborted && !(await isRecorded(this.sink.env.jobs, record))) await unlink(file.path).catch(() => undefined);
      return;
    }
    this.settled.add(open.index);
    this.removeSettled();
  }

  /** In file order: once a file and all before it have settled and the state after them is saved. */
  private removeSettled(): void {
    this.removals = this.removals.then(async () => {
      while (this.settled.has(this.nextRemoval)) {
        const index = this.nextRemoval++;
        this.settled.delete(index);
        await this.hooks.stateSaved();
        await this.sink.env.jobs.remove(this.sink.runId, index).catch((error: unknown) => this.hooks.fatal(error));
        await unlink(join(this.sink.dir, `${String(index).padStart(5, '0')}.${bulkExtension(this.settings.format, this.settings.gzip === true)}`)).catch(() => undefined);
      }
    });
  }
}

async function isRecorded(jobs: BulkJobStore, record: BulkJobRecord): Promise<boolean> {
  return (await jobs.list()).some((found) => found.runId === record.runId && found.fileIndex === record.fileIndex);
}

/** Row index → checkpoint segment, from the file's [segment, count] pairs. */
function segmentLookup(pairs: readonly number[]): (index: number) => number {
  const ends: number[] = [];
  let total = 0;
  for (let position = 1; position < pairs.length; position += 2) {
    total += pairs[position]!;
    ends.push(total);
  }
  return (index) => {
    let low = 0;
    let high = ends.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (ends[middle]! > index) high = middle;
      else low = middle + 1;
    }
    return pairs[low * 2]!;
  };
}

export interface ResumeHooks {
  /** A row of a resumed file settled (rejected ones with the row read back). */
  row(rejection: RowRejection, row: JsonValue | undefined): void;
  /** Every file of a run up to this one settled: its state may be committed (and is saved when this resolves). */
  commit(state: State): Promise<void>;
}

/**
 * Finish the jobs earlier runs left: oldest run first, its files in order, up to `maxJobs` at once; each
 * file's `stateAfter` is committed once it and every earlier file of its run have settled. Returns false
 * when the run stopped first; throws on a fatal error. Local files of other runs that nothing refers to any
 * more are removed afterwards.
 */
export async function resumeBulkJobs(env: JobEnv, options: BulkRunOptions, currentRunId: string, hooks: ResumeHooks): Promise<boolean> {
  const records = await options.jobs.list();
  const byRun = new Map<string, BulkJobRecord[]>();
  for (const record of records) byRun.set(record.runId, [...(byRun.get(record.runId) ?? []), record]);
  for (const [runId, files] of byRun) {
    env.logger.info({ run: runId, files: files.length }, 'finishing the bulk jobs of an earlier run before reading');
    const finished = new Map<number, boolean>();
    let committable = true;
    let stopped = false;
    let next = 0;
    let failure: unknown;
    const commitInOrder = async () => {
      while (next < files.length && finished.has(next)) {
        const record = files[next]!;
        const ok = finished.get(next)!;
        next++;
        if (!ok) committable = false;
        if (committable && record.stateAfter !== undefined) await hooks.commit(record.stateAfter);
        await options.jobs.remove(record.runId, record.fileIndex);
        await unlink(record.file.path).catch(() => undefined);
      }
    };
    let chain: Promise<void> = Promise.resolve();
    const work = async (position: number) => {
      const record = files[position]!;
      let ok = true;
      if (record.status === 'uploading' && !existsSync(record.file.path)) {
        // Never confirmed uploaded and nothing left to upload: its rows are read again from the source.
        env.logger.warn({ run: runId, file: record.file.name }, 'a bulk file recorded as uploading is gone from this machine: its rows are read again');
        ok = false;
      } else {
        const done = await runFileJob(env, record, (_index, rejection, row) => hooks.row(rejection, row));
        if (!done) {
          stopped = true;
          return;
        }
      }
      finished.set(position, ok);
      chain = chain.then(commitInOrder);
      await chain;
    };
    const running = new Set<Promise<void>>();
    for (let position = 0; position < files.length && !stopped && failure === undefined; position++) {
      while (running.size >= env.plan.maxJobs) await Promise.race(running);
      if (stopped || failure !== undefined) break;
      const task: Promise<void> = work(position)
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => running.delete(task));
      running.add(task);
    }
    await Promise.all(running);
    await chain;
    if (failure !== undefined) throw failure;
    if (stopped) return false;
  }
  await removeStrayFiles(options, currentRunId);
  return true;
}

/** Run directories that no recorded job refers to (left by a crash between settling and cleaning up). */
async function removeStrayFiles(options: BulkRunOptions, currentRunId: string): Promise<void> {
  const kept = new Set((await options.jobs.list()).map((record) => record.runId));
  kept.add(currentRunId);
  const entries = await readdir(options.dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory() && !kept.has(entry.name)) await rm(join(options.dir, entry.name), { recursive: true, force: true });
  }
}

/** The bulk plan of an object for a config: its file settings, job limits and defaults. */
export function resolveBulkPlan(object: BulkObject<unknown, unknown, JsonValue>, config: unknown): BulkPlan {
  const file = resolvePerConfig(object.file, config)!;
  const maxJobs = resolvePerConfig(object.maxJobs, config) ?? DEFAULT_MAX_JOBS;
  const jobTimeoutMs = resolvePerConfig(object.jobTimeoutMs, config) ?? DEFAULT_JOB_TIMEOUT_MS;
  if (!(file.maxRows >= 1) || !(file.maxBytes >= 1)) throw new SluiceError('CONFIG_INVALID', `bulk file limits must be positive (max rows ${file.maxRows}, max bytes ${file.maxBytes})`);
  if (!Number.isInteger(maxJobs) || maxJobs < 1) throw new SluiceError('CONFIG_INVALID', `bulk max jobs must be a positive integer, got ${maxJobs}`);
  if (!(jobTimeoutMs > 0)) throw new SluiceError('CONFIG_INVALID', `bulk job timeout must be positive, got ${jobTimeoutMs}`);
  return { object, file, maxJobs, jobTimeoutMs };
}

/** A place for bulk files when a run is given none (tests, the conformance suite). */
export function defaultBulkDir(activation: string): string {
  return join(tmpdir(), 'sluice-bulk', `${activation.replace(/[^\w.-]/g, '_')}-${randomUUID()}`);
}
