/**
 * `runActivation`: one run of an activation, start to finish. It picks the stream and object, loads state
 * and the activation's fingerprints, opens the destination, streams the source through the pipeline, saves
 * state as it advances (coalesced: one write at a time, always the newest settled state), saves the next
 * fingerprint snapshot at the end, and returns a summary whose counters add up.
 *
 * A dry run does everything but open the destination and send: it reports the plan (creates, updates,
 * deletes, samples) and saves neither state nor fingerprints.
 *
 * Before reading, the source stream's columns are compared with those recorded with the fingerprints
 * (schema drift: recorded on the run; `onSchemaChange: fail` stops it here). With `maxChangeRatio`, a dry
 * pass first reads the source and plans; the run stops before sending when the plan changes too large a
 * share of the rows last delivered.
 */
import { performance } from 'node:perf_hooks';
import { type BatchLimits, type BulkObject, type DestinationObject, type DestinationSyncMode, isStreamingObject, resolvePerConfig } from '../sdk/destination.ts';
import type { JsonValue } from '../protocol/json.ts';
import { SluiceError, describeError } from '../sdk/errors.ts';
import { type Logger, silentLogger } from '../sdk/context.ts';
import type { ConfiguredStream, State } from '../sdk/source.ts';
import { DEFAULT_RETRY_POLICY } from './backoff.ts';
import { type BulkPlan, type BulkRunOptions, POLL_INITIAL_MS, POLL_MAX_MS, defaultBulkDir, resolveBulkPlan, resumeBulkJobs } from './bulk.ts';
import { MemoryBulkJobStore } from './bulk-jobs.ts';
import { ChangeDetector, type DiffMode, type KeyReader, compileKeyReader, isDiffMode } from './diff.ts';
import { type SchemaDrift, columnTypes, detectDrift, formatDrift } from './drift.ts';
import { type FingerprintStore, Snapshot, type SnapshotMeta, mergeSnapshot } from './fingerprints.ts';
import type { RejectLedger } from './ledger.ts';
import { compileMapping } from './mapping.ts';
import { Pipeline, newRunId } from './pipeline.ts';
import type { StateStore } from './state-store.ts';
import { mappedKey, outgoingStream } from './stream-schema.ts';
import type { ActivationPlan, DryRunPlan, RunCounters, RunOptions, RunStatus, RunSummary } from './types.ts';
import { compileValidator } from './validate.ts';

export const DEFAULT_BATCH: BatchLimits = { maxRecords: 500, maxBytes: 5_000_000, maxWaitMs: 1000 };
const DEFAULT_CONCURRENCY = 4;

const ZERO_COUNTERS: Readonly<RunCounters> = { read: 0, delivered: 0, rejected: 0, unchanged: 0, deleted: 0, retried: 0, batches: 0 };

/** Rejects of the guard's dry pass: the real pass meets the same records and records them. */
const discardLedger: RejectLedger = { add() {}, async close() {} };

export async function runActivation(options: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const runId = options.runId ?? newRunId();
  const logger = options.logger ?? silentLogger;
  const dryRun = options.dryRun ?? false;
  const { activation } = options;
  let drift: SchemaDrift | undefined;
  /** Bulk: rows of files an earlier run left, finished by this one before reading (counted as read too). */
  const resumedCounters: RunCounters = { ...ZERO_COUNTERS };
  const finish = (status: RunStatus, pipeline: Pipeline | undefined, state: State | undefined, error?: unknown, plan?: DryRunPlan): RunSummary => {
    const durationMs = performance.now() - started;
    const counters = pipeline?.counters ?? resumedCounters;
    const shownPlan = plan ?? (dryRun && pipeline !== undefined ? pipeline.plan : undefined);
    return {
      runId,
      activation: activation.name,
      status,
      dryRun,
      counters,
      unsettled: pipeline?.unsettledCount ?? 0,
      startedAt,
      durationMs,
      recordsPerSecond: durationMs > 0 ? Math.round((counters.read / durationMs) * 1000) : 0,
      state,
      ...(error === undefined ? {} : { error: describeError(error) }),
      ...(shownPlan === undefined ? {} : { plan: shownPlan }),
      ...(drift === undefined ? {} : { drift }),
    };
  };

  let initialState: State | undefined;
  let setup: Awaited<ReturnType<typeof prepare>>;
  let fingerprints: Fingerprints | undefined;
  try {
    initialState = await options.stateStore.load();
    setup = await prepare(activation, runId, logger, options.signal, options.fingerprints !== undefined);
    if (options.fingerprints !== undefined) fingerprints = await loadFingerprints(options.fingerprints, setup, activation, logger);
  } catch (error) {
    return finish('failed', undefined, initialState, error);
  }
  drift = fingerprints?.drift;
  if (drift !== undefined) {
    logger.warn({ drift }, `source schema changed: ${formatDrift(drift)}`);
    if ((activation.onSchemaChange ?? 'continue') === 'fail' && options.force !== true) {
      const message = `activation ${activation.name}: the source stream ${setup.stream.name} changed (${formatDrift(drift)}) and on_schema_change is fail; check the mapping, then run with --force (or on_schema_change: continue) to accept the new schema`;
      return finish('failed', undefined, initialState, new SluiceError('SCHEMA_CHANGED', message));
    }
  }
  const { source, destination } = activation;
  const ctx = { logger, runId, signal: options.signal ?? new AbortController().signal };
  const saver = new StateSaver(options.stateStore, logger);
  let session: unknown;
  let sessionOpen = false;
  const openSession = async () => {
    if (!sessionOpen && !dryRun && destination.definition.open) session = await destination.definition.open(destination.config, ctx);
    sessionOpen = true;
  };
  const closeSession = async (complete: boolean): Promise<unknown> => {
    if (session === undefined || !destination.definition.close) return undefined;
    const closing = session;
    session = undefined;
    return destination.definition.close(closing, ctx, { complete }).then(
      () => undefined,
      (closeError: unknown) => closeError,
    );
  };
  const bulkOptions: BulkRunOptions | undefined =
    setup.bulk === undefined ? undefined : (options.bulk ?? { dir: defaultBulkDir(activation.name), jobs: new MemoryBulkJobStore() });

  // Bulk: finish what an earlier run left (poll its jobs to their end, commit the state after them) before
  // reading, so the source resumes after those files and none is uploaded twice.
  if (setup.bulk !== undefined && bulkOptions !== undefined && !dryRun) {
    const abortWrites = new AbortController();
    try {
      if ((await bulkOptions.jobs.list()).length > 0) await openSession();
      const finished = await resumeBulkJobs(
        {
          plan: setup.bulk,
          ctx: { logger, signal: abortWrites.signal, runId, config: destination.config, session, object: setup.objectName, syncMode: setup.syncMode, stream: setup.stream },
          jobs: bulkOptions.jobs,
          retry: { ...DEFAULT_RETRY_POLICY, ...activation.retry },
          pollInitialMs: bulkOptions.pollInitialMs ?? POLL_INITIAL_MS,
          pollMaxMs: bulkOptions.pollMaxMs ?? POLL_MAX_MS,
          logger,
          stop: ctx.signal,
          uploading: () => {
            resumedCounters.batches++;
          },
        },
        bulkOptions,
        runId,
        {
          row: (rejection, row) => {
            resumedCounters.read++;
            if (rejection === undefined) {
              resumedCounters.delivered++;
              return;
            }
            resumedCounters.rejected++;
            options.ledger.add({
              runId,
              activation: activation.name,
              stream: setup.configuredStream.name,
              object: setup.objectName,
              code: rejection.code,
              reason: rejection.reason,
              attempts: rejection.attempts,
              record: row ?? null,
            });
          },
          commit: async (state) => {
            initialState = state;
            options.onStateCommitted?.(state, 0);
            saver.request(state);
            await saver.settled();
          },
        },
      );
      if (!finished) {
        const closeError = await closeSession(false);
        await options.ledger.close();
        return finish(closeError === undefined ? 'interrupted' : 'failed', undefined, initialState, closeError);
      }
    } catch (error) {
      abortWrites.abort();
      await closeSession(false);
      await saver.settled();
      await options.ledger.close();
      return finish('failed', undefined, initialState, error);
    }
  }

  // Mirror compares a complete read with the snapshot: it never resumes from a cursor.
  const readState = setup.syncMode === 'mirror' ? undefined : initialState;
  const read = (signal: AbortSignal) => source.definition.read(source.config, { streams: [setup.configuredStream], state: readState }, { ...ctx, signal });
  const detector = () =>
    fingerprints?.diff === undefined ? undefined : new ChangeDetector(fingerprints.diff.mode, fingerprints.old, fingerprints.diff.readKey, setup.stream.primaryKey);
  const pipelineFor = (dry: boolean, session: unknown, onCommit: (state: State, recordCount: number) => void, ledger: RejectLedger) =>
    new Pipeline({
      ...setup,
      runId,
      activation: activation.name,
      config: destination.config,
      session,
      retry: { ...DEFAULT_RETRY_POLICY, ...activation.retry },
      ledger,
      logger,
      initialState,
      onCommit,
      dryRun: dry,
      signal: options.signal,
      diff: detector(),
      bulk: setup.bulk === undefined || bulkOptions === undefined ? undefined : { plan: setup.bulk, options: bulkOptions },
      stateSaved: () => saver.settled(),
    });

  // The guard: a dry pass plans the run, and a plan over the limit stops it before anything is sent. The
  // real pass then reads the source a second time rather than keeping the plan's records: memory stays
  // bounded by the batches in flight, whatever the source's size.
  const ratio = activation.maxChangeRatio;
  if (ratio !== undefined && fingerprints?.diff !== undefined && fingerprints.old.count > 0 && !dryRun && options.force !== true) {
    const dry = pipelineFor(true, undefined, () => {}, discardLedger);
    await dry.run(read);
    if (dry.failure !== undefined || options.signal?.aborted) {
      await closeSession(false);
      await options.ledger.close();
      return finish(dry.failure !== undefined ? 'failed' : 'interrupted', undefined, initialState, dry.failure);
    }
    const plan = dry.plan;
    const changes = plan.creates + plan.updates + plan.deletes;
    const rows = Math.max(1, fingerprints.old.count);
    if (changes / rows > ratio) {
      const count = new Intl.NumberFormat('en-US');
      const message =
        `plan changes ${((changes / rows) * 100).toFixed(1)}% of ${count.format(fingerprints.old.count)} rows ` +
        `(creates ${count.format(plan.creates)}, updates ${count.format(plan.updates)}, deletes ${count.format(plan.deletes)}), ` +
        `over max_change_ratio ${ratio}; run with a higher limit or --force`;
      logger.error({ plan: { creates: plan.creates, updates: plan.updates, deletes: plan.deletes } }, message);
      await closeSession(false);
      await options.ledger.close();
      return finish('failed', undefined, initialState, new SluiceError('CHANGE_LIMIT', message), plan);
    }
  }

  let pipeline: Pipeline | undefined;
  let error: unknown;
  let deferredState: State | undefined;
  try {
    await openSession();
    pipeline = pipelineFor(
      dryRun,
      session,
      (state, recordCount) => {
        options.onStateCommitted?.(state, recordCount);
        // Overwrite replaces the destination's content only when the run completes: a checkpoint taken
        // halfway would let a resumed run skip records that the replaced content no longer holds.
        if (setup.syncMode === 'overwrite') deferredState = state;
        else saver.request(state);
      },
      options.ledger,
    );
    for (const key of Object.keys(resumedCounters) as (keyof RunCounters)[]) pipeline.counters[key] += resumedCounters[key];
    const running = pipeline;
    const progress = options.onProgress === undefined ? undefined : setInterval(() => options.onProgress?.(running.counters), 250);
    try {
      await pipeline.run(read);
    } finally {
      clearInterval(progress);
      options.onProgress?.(pipeline.counters);
    }
    error = pipeline.failure;
  } catch (caught) {
    error = caught;
  } finally {
    const complete = error === undefined && pipeline?.failure === undefined && pipeline?.unsettledCount === 0 && !options.signal?.aborted;
    const closeError = await closeSession(complete);
    if (closeError !== undefined) error ??= closeError;
    if (deferredState !== undefined && error === undefined && pipeline?.unsettledCount === 0 && !options.signal?.aborted) saver.request(deferredState);
    // What was delivered was delivered, whether the run ends well or not.
    if (!dryRun && fingerprints !== undefined) await saveFingerprints(fingerprints, pipeline, logger);
    await saver.settled();
    await options.ledger.close();
  }
  const status: RunStatus = error !== undefined ? 'failed' : options.signal?.aborted ? 'interrupted' : 'succeeded';
  const state = pipeline?.checkpointer.state ?? initialState;
  logger.info({ runId, status, counters: pipeline?.counters }, 'run finished');
  return finish(status, pipeline, state, error);
}

/** The activation's fingerprints for this run: the old snapshot, the meta to save, and what drifted. */
interface Fingerprints {
  readonly store: FingerprintStore;
  /** Set for the diff modes. */
  readonly diff: { readonly mode: DiffMode; readonly readKey: KeyReader } | undefined;
  /** What was last delivered (empty when nothing was, or when it was keyed differently). */
  readonly old: Snapshot;
  /** Whether a snapshot was saved before. */
  readonly existed: boolean;
  readonly meta: SnapshotMeta;
  readonly drift: SchemaDrift | undefined;
}

function diffModeOf(mode: DestinationSyncMode): DiffMode | undefined {
  return isDiffMode(mode) ? mode : undefined;
}

async function loadFingerprints(store: FingerprintStore, setup: Awaited<ReturnType<typeof prepare>>, activation: ActivationPlan, logger: Logger): Promise<Fingerprints> {
  const encoded = await store.load();
  let old = Snapshot.empty();
  if (encoded !== undefined) {
    try {
      old = Snapshot.decode(encoded);
    } catch (error) {
      // Starting over costs a full resend (duplicates at worst); refusing to run would help no one.
      logger.error({ error: describeError(error) }, 'the saved fingerprints cannot be read: this run treats every record as new');
    }
  }
  const drift = old.meta.columns !== undefined && setup.columns !== undefined ? detectDrift(old.meta.columns, setup.columns) : undefined;
  const mode = diffModeOf(setup.syncMode);
  const key = setup.keyPaths;
  let meta: SnapshotMeta = { ...old.meta, ...(setup.columns === undefined ? {} : { columns: setup.columns }) };
  let diff: Fingerprints['diff'];
  if (mode !== undefined && key !== undefined) {
    diff = { mode, readKey: compileKeyReader(key) };
    meta = { ...meta, key };
    if (old.count > 0 && old.meta.key !== undefined && JSON.stringify(old.meta.key) !== JSON.stringify(key)) {
      logger.warn(
        { was: old.meta.key, now: key },
        `activation ${activation.name}: the primary key changed, so the fingerprints start over and every record counts as new`,
      );
      old = Snapshot.empty(old.meta);
    }
  }
  return { store, diff, old, existed: encoded !== undefined, meta, drift };
}

/** Saves the next snapshot: the diff modes merge this run's deliveries; the others only refresh the meta. */
async function saveFingerprints(fingerprints: Fingerprints, pipeline: Pipeline | undefined, logger: Logger): Promise<void> {
  const { old, meta, store } = fingerprints;
  // The columns and key, not the time: a run that changed nothing writes nothing.
  const metaChanged = JSON.stringify([old.meta.columns, old.meta.key]) !== JSON.stringify([meta.columns, meta.key]);
  const builder = pipeline?.changes?.builder;
  const changed = builder !== undefined && (builder.size > 0 || builder.removals > 0);
  if (!changed && !metaChanged && (fingerprints.existed || fingerprints.diff === undefined)) return;
  try {
    const next = { ...meta, savedAt: new Date().toISOString() };
    await store.save(builder === undefined ? old.encode(next) : mergeSnapshot(old, builder, next));
  } catch (error) {
    logger.error({ error: describeError(error) }, 'could not save fingerprints: the next run sends again what this run delivered');
  }
}

/** Resolve the stream, object, sync mode and limits; errors here are configuration errors. */
async function prepare(activation: ActivationPlan, runId: string, logger: Logger, signal: AbortSignal | undefined, detectChanges: boolean) {
  const { source, destination } = activation;
  const ctx = { logger, runId, signal: signal ?? new AbortController().signal };
  const streams = await source.definition.discover(source.config, ctx);
  const stream = source.stream === undefined ? streams[0] : streams.find((candidate) => candidate.name === source.stream);
  if (stream === undefined) {
    const names = streams.map((candidate) => candidate.name).join(', ') || 'none';
    throw new SluiceError('CONFIG_INVALID', `activation ${activation.name}: stream ${source.stream ?? ''} not found (available: ${names})`);
  }
  const objectNames = Object.keys(destination.definition.objects);
  const objectName = destination.object ?? (objectNames.length === 1 ? objectNames[0] : undefined);
  const candidate = objectName === undefined ? undefined : destination.definition.objects[objectName];
  if (objectName === undefined || candidate === undefined) {
    throw new SluiceError('CONFIG_INVALID', `activation ${activation.name}: name the destination object (one of: ${objectNames.join(', ')})`);
  }
  const object = candidate as DestinationObject<unknown, unknown>;
  const bulk: BulkPlan | undefined = isStreamingObject(object) ? undefined : resolveBulkPlan(object as BulkObject<unknown, unknown, JsonValue>, destination.config);
  const syncMode: DestinationSyncMode = activation.syncMode ?? object.syncModes[0] ?? 'append';
  if (!object.syncModes.includes(syncMode)) {
    throw new SluiceError('CONFIG_INVALID', `activation ${activation.name}: object ${objectName} supports sync modes ${object.syncModes.join(', ')}, not ${syncMode}`);
  }
  if (bulk !== undefined && syncMode === 'mirror') {
    throw new SluiceError('CONFIG_INVALID', `activation ${activation.name}: object ${objectName} takes files of rows, which cannot carry mirror's deletes; choose another sync mode`);
  }
  const keyPaths: readonly (readonly string[])[] | undefined =
    activation.primaryKey !== undefined && activation.primaryKey.length > 0
      ? activation.primaryKey.map((name) => [name])
      : stream.primaryKey !== undefined && stream.primaryKey.length > 0
        ? stream.primaryKey
        : undefined;
  if (detectChanges && isDiffMode(syncMode)) {
    if (keyPaths === undefined) {
      throw new SluiceError(
        'CONFIG_INVALID',
        `activation ${activation.name}: sync mode ${syncMode} compares records by primary key, and stream ${stream.name} declares none; set primary_key on the activation`,
      );
    }
    if (syncMode === 'mirror' && mappedKey(keyPaths, activation.mapping) === undefined) {
      throw new SluiceError(
        'CONFIG_INVALID',
        `activation ${activation.name}: mirror sends deletes by primary key, so the mapping must map the key field(s) ${keyPaths.map((path) => path.join('.')).join(', ')} by path`,
      );
    }
  }
  const limits = resolvePerConfig(destination.definition.limits, destination.config) ?? {};
  const incremental = syncMode !== 'mirror' && stream.syncModes.includes('incremental') && stream.cursorField !== undefined;
  const configuredStream: ConfiguredStream = {
    name: stream.name,
    syncMode: incremental ? 'incremental' : 'full_refresh',
    ...(stream.cursorField === undefined ? {} : { cursorField: stream.cursorField }),
    ...(keyPaths === undefined ? {} : { primaryKey: keyPaths.map((path) => [...path]) }),
  };
  return {
    configuredStream,
    objectName,
    object,
    syncMode,
    keyPaths,
    columns: columnTypes(stream.jsonSchema),
    stream: outgoingStream(stream, activation.mapping, keyPaths),
    map: compileMapping(activation.mapping),
    validate: compileValidator(object.fields),
    bulk,
    // Bulk: a dry run's "batches" are the files it would write; the byte limit also bounds a single row.
    batch:
      bulk !== undefined
        ? { maxRecords: bulk.file.maxRows, maxBytes: bulk.file.maxBytes, maxWaitMs: DEFAULT_BATCH.maxWaitMs }
        : { ...DEFAULT_BATCH, ...resolvePerConfig(isStreamingObject(object) ? object.batch : undefined, destination.config) },
    concurrency: limits.concurrency ?? DEFAULT_CONCURRENCY,
    requestsPerSecond: limits.requestsPerSecond ?? 0,
  };
}

/** Saves the newest committed state, one write at a time; `settled` waits for the last write. */
class StateSaver {
  private pending: State | undefined;
  private writing: Promise<void> = Promise.resolve();
  private active = false;

  constructor(
    private readonly store: StateStore,
    private readonly logger: Logger,
  ) {}

  request(state: State): void {
    this.pending = state;
    if (this.active) return;
    this.active = true;
    this.writing = this.drain();
  }

  private async drain(): Promise<void> {
    while (this.pending !== undefined) {
      const state = this.pending;
      this.pending = undefined;
      try {
        await this.store.save(state);
      } catch (error) {
        this.logger.error({ error: describeError(error) }, 'could not save state');
      }
    }
    this.active = false;
  }

  settled(): Promise<void> {
    return this.writing;
  }
}
