/**
 * `runActivation`: one run of an activation, start to finish. It picks the stream and object, loads state,
 * opens the destination, streams the source through the pipeline, saves state as it advances (coalesced:
 * one write at a time, always the newest settled state) and returns a summary whose counters add up.
 *
 * A dry run does everything but open the destination and send: it reports the plan and saves no state.
 */
import { performance } from 'node:perf_hooks';
import { type BatchLimits, type DestinationSyncMode, type StreamingObject, isStreamingObject, resolvePerConfig } from '../sdk/destination.ts';
import { SluiceError, describeError } from '../sdk/errors.ts';
import { type Logger, silentLogger } from '../sdk/context.ts';
import type { ConfiguredStream, State } from '../sdk/source.ts';
import { DEFAULT_RETRY_POLICY } from './backoff.ts';
import { compileMapping } from './mapping.ts';
import { Pipeline, newRunId } from './pipeline.ts';
import type { StateStore } from './state-store.ts';
import type { ActivationPlan, RunOptions, RunStatus, RunSummary } from './types.ts';
import { compileValidator } from './validate.ts';

export const DEFAULT_BATCH: BatchLimits = { maxRecords: 500, maxBytes: 5_000_000, maxWaitMs: 1000 };
const DEFAULT_CONCURRENCY = 4;

export async function runActivation(options: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const runId = options.runId ?? newRunId();
  const logger = options.logger ?? silentLogger;
  const dryRun = options.dryRun ?? false;
  const { activation } = options;
  const finish = (status: RunStatus, pipeline: Pipeline | undefined, state: State | undefined, error?: unknown): RunSummary => {
    const durationMs = performance.now() - started;
    const counters = pipeline?.counters ?? { read: 0, delivered: 0, rejected: 0, retried: 0, batches: 0 };
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
      ...(dryRun && pipeline !== undefined ? { plan: pipeline.plan } : {}),
    };
  };

  let initialState: State | undefined;
  let setup: Awaited<ReturnType<typeof prepare>>;
  try {
    initialState = await options.stateStore.load();
    setup = await prepare(activation, runId, logger, options.signal);
  } catch (error) {
    return finish('failed', undefined, initialState, error);
  }
  const { source, destination } = activation;
  const ctx = { logger, runId, signal: options.signal ?? new AbortController().signal };
  const saver = new StateSaver(options.stateStore, logger);
  let session: unknown;
  let pipeline: Pipeline | undefined;
  let error: unknown;
  let deferredState: State | undefined;
  try {
    if (!dryRun && destination.definition.open) session = await destination.definition.open(destination.config, ctx);
    pipeline = new Pipeline({
      ...setup,
      runId,
      activation: activation.name,
      config: destination.config,
      session,
      retry: { ...DEFAULT_RETRY_POLICY, ...activation.retry },
      ledger: options.ledger,
      logger,
      initialState,
      onCommit: (state, recordCount) => {
        options.onStateCommitted?.(state, recordCount);
        // Overwrite replaces the destination's content only when the run completes: a checkpoint taken
        // halfway would let a resumed run skip records that the replaced content no longer holds.
        if (setup.syncMode === 'overwrite') deferredState = state;
        else saver.request(state);
      },
      dryRun,
      signal: options.signal,
    });
    const progress = options.onProgress === undefined ? undefined : setInterval(() => options.onProgress?.(pipeline!.counters), 250);
    try {
      await pipeline.run((signal) => source.definition.read(source.config, { streams: [setup.configuredStream], state: initialState }, { ...ctx, signal }));
    } finally {
      clearInterval(progress);
      options.onProgress?.(pipeline.counters);
    }
    error = pipeline.failure;
  } catch (caught) {
    error = caught;
  } finally {
    if (session !== undefined && destination.definition.close) {
      const complete = error === undefined && pipeline?.failure === undefined && pipeline?.unsettledCount === 0 && !options.signal?.aborted;
      await destination.definition.close(session, ctx, { complete }).catch((closeError: unknown) => {
        error ??= closeError;
      });
    }
    if (deferredState !== undefined && error === undefined && pipeline?.unsettledCount === 0 && !options.signal?.aborted) saver.request(deferredState);
    await saver.settled();
    await options.ledger.close();
  }
  const status: RunStatus = error !== undefined ? 'failed' : options.signal?.aborted ? 'interrupted' : 'succeeded';
  const state = pipeline?.checkpointer.state ?? initialState;
  logger.info({ runId, status, counters: pipeline?.counters }, 'run finished');
  return finish(status, pipeline, state, error);
}

/** Resolve the stream, object, sync mode and limits; errors here are configuration errors. */
async function prepare(activation: ActivationPlan, runId: string, logger: Logger, signal: AbortSignal | undefined) {
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
  if (!isStreamingObject(candidate)) {
    throw new SluiceError('CONFIG_INVALID', `activation ${activation.name}: object ${objectName} is a bulk object, which this engine version cannot run yet`);
  }
  const object = candidate as StreamingObject<unknown, unknown>;
  const syncMode: DestinationSyncMode = activation.syncMode ?? object.syncModes[0] ?? 'append';
  if (!object.syncModes.includes(syncMode)) {
    throw new SluiceError('CONFIG_INVALID', `activation ${activation.name}: object ${objectName} supports sync modes ${object.syncModes.join(', ')}, not ${syncMode}`);
  }
  const limits = resolvePerConfig(destination.definition.limits, destination.config) ?? {};
  const configuredStream: ConfiguredStream = {
    name: stream.name,
    syncMode: stream.syncModes.includes('incremental') && stream.cursorField !== undefined ? 'incremental' : 'full_refresh',
    ...(stream.cursorField === undefined ? {} : { cursorField: stream.cursorField }),
    ...(stream.primaryKey === undefined ? {} : { primaryKey: stream.primaryKey }),
  };
  return {
    configuredStream,
    objectName,
    object,
    syncMode,
    map: compileMapping(activation.mapping),
    validate: compileValidator(object.fields),
    batch: { ...DEFAULT_BATCH, ...resolvePerConfig(object.batch, destination.config) },
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
