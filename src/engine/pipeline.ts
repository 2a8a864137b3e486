/**
 * The streaming core of a run: pull source messages → map → validate → serialize once → batch → send,
 * with backpressure (reading pauses while too many records are unsettled, so memory is bounded by batches
 * in flight, never by input size) and checkpointing (state advances only over settled records).
 *
 * Every record read ends in exactly one counter: delivered, rejected (with a ledger entry), unchanged
 * (diff modes: not sent) — or, only when the run fails or is interrupted, unsettled, in which case state
 * has not passed it and the next run sends it again.
 *
 * With a diff-based sync mode the pipeline also runs change detection (diff.ts) between validation and
 * batching, and, in mirror mode, sends a delete for every key of the old snapshot the source no longer had,
 * once the source has ended.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { type JsonObject, type JsonValue, stringifyJson } from '../protocol/json.ts';
import { type BatchLimits, type DestinationObject, type DestinationSyncMode, type OutgoingStream, type StreamingObject, isStreamingObject } from '../sdk/destination.ts';
import { SluiceError, describeError, type ErrorCode } from '../sdk/errors.ts';
import type { Logger } from '../sdk/context.ts';
import type { Origin, SourceMessage, State } from '../sdk/source.ts';
import type { RetryPolicy } from './backoff.ts';
import { batchesOf } from './batched.ts';
import { BulkSink, type BulkPlan, type BulkRunOptions, POLL_INITIAL_MS, POLL_MAX_MS } from './bulk.ts';
import { Checkpointer } from './checkpointer.ts';
import type { ChangeDetector } from './diff.ts';
import type { RejectLedger } from './ledger.ts';
import type { MapRecord } from './mapping.ts';
import { Admission } from './rate-limiter.ts';
import { type Batch, type PendingRecord, Sender } from './sender.ts';
import type { DryRunPlan, RunCounters } from './types.ts';
import type { Validate } from './validate.ts';

export interface PipelineSettings {
  readonly runId: string;
  readonly activation: string;
  readonly objectName: string;
  readonly object: DestinationObject<unknown, unknown>;
  /** Bulk objects: the resolved plan, and where files and jobs go (the run's directory is `<dir>/<run id>`). */
  readonly bulk?: { readonly plan: BulkPlan; readonly options: BulkRunOptions } | undefined;
  /** Resolves once the newest committed state is saved (bulk: a file's job record is removed only then). */
  readonly stateSaved?: () => Promise<void>;
  readonly config: unknown;
  readonly session: unknown;
  readonly syncMode: DestinationSyncMode;
  /** What mapped records look like, for the destination. */
  readonly stream: OutgoingStream;
  /** Diff modes with fingerprints: change detection against what was last delivered. */
  readonly diff?: ChangeDetector | undefined;
  readonly map: MapRecord;
  readonly validate: Validate | undefined;
  readonly batch: BatchLimits;
  readonly concurrency: number;
  readonly requestsPerSecond: number;
  readonly retry: RetryPolicy;
  readonly ledger: RejectLedger;
  readonly logger: Logger;
  readonly initialState: State | undefined;
  readonly onCommit: (state: State, recordCount: number) => void;
  readonly dryRun: boolean;
  readonly signal: AbortSignal | undefined;
}

const SAMPLE_COUNT = 3;

export class Pipeline {
  readonly counters: RunCounters = { read: 0, delivered: 0, rejected: 0, unchanged: 0, deleted: 0, retried: 0, batches: 0 };
  readonly checkpointer: Checkpointer;
  private readonly sender: Sender | undefined;
  private readonly bulk: BulkSink | undefined;
  /** The newest state the source has sent (bulk: recorded with each file as it is cut). */
  private latestState: State | undefined;
  /** Stops reading and retrying: on interrupt or failure. */
  private readonly stop = new AbortController();
  /** Aborts requests in flight: only on failure — an interrupt drains them instead. */
  private readonly abortWrites = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxUnsettled: number;
  private readonly samples: JsonObject[] = [];
  private readonly planned = { creates: 0, updates: 0, deletes: 0, unchanged: 0 };
  private readonly samplesByKind = { creates: [] as JsonObject[], updates: [] as JsonObject[], deletes: [] as JsonObject[] };
  private readonly diff: ChangeDetector | undefined;
  private unsettled = 0;
  private batch: PendingRecord[] = [];
  private batchBytes = 0;
  private batchTimer: NodeJS.Timeout | undefined;
  private batchSeq = 0;
  private plannedRecords = 0;
  private progressWaiter: (() => void) | undefined;
  /** A batch was sent since `consumeBatches` last let the event loop run. */
  private sentSinceYield = false;
  private fatalError: unknown;

  constructor(private readonly settings: PipelineSettings) {
    this.checkpointer = new Checkpointer(settings.initialState, settings.dryRun ? undefined : settings.onCommit);
    this.diff = settings.diff;
    // Enough to keep every send slot busy with a full batch queued behind it, and no more.
    this.maxUnsettled = settings.batch.maxRecords * (settings.concurrency * 2 + 1);
    const writeContext = {
      logger: settings.logger,
      signal: this.abortWrites.signal,
      runId: settings.runId,
      config: settings.config,
      session: settings.session,
      object: settings.objectName,
      syncMode: settings.syncMode,
      stream: settings.stream,
    };
    const object = settings.object;
    if (isStreamingObject(object)) this.sender = this.createSender(object, writeContext);
    else if (settings.bulk !== undefined && !settings.dryRun) this.bulk = this.createBulkSink(settings.bulk, writeContext);
    settings.signal?.addEventListener('abort', () => this.stop.abort(), { once: true });
  }

  private createSender(object: StreamingObject<unknown, unknown>, writeContext: ConstructorParameters<typeof Sender>[1]): Sender {
    const settings = this.settings;
    const admission = new Admission(settings.concurrency, settings.requestsPerSecond);
    return new Sender(
      object,
      writeContext,
      admission,
      settings.retry,
      {
        delivered: (record) => {
          const change = record.change;
          if (change === undefined) this.counters.delivered++;
          else {
            const deleted = record.op === 'delete';
            if (deleted) this.counters.deleted++;
            else this.counters.delivered++;
            this.diff!.delivered(change, deleted);
          }
          this.settle(record.segment);
        },
        rejected: (record, code, reason, attempts) => this.reject(record.stream, record.segment, code, reason, attempts, record.data, record.origin),
        retried: (count) => {
          this.counters.retried += count;
        },
        wrote: () => {
          this.counters.batches++;
        },
        fatal: (error) => this.fail(error),
      },
      this.stop.signal,
    );
  }

  private createBulkSink(bulk: NonNullable<PipelineSettings['bulk']>, ctx: ConstructorParameters<typeof Sender>[1]): BulkSink {
    const settings = this.settings;
    return new BulkSink(
      {
        env: {
          plan: bulk.plan,
          ctx,
          jobs: bulk.options.jobs,
          retry: settings.retry,
          pollInitialMs: bulk.options.pollInitialMs ?? POLL_INITIAL_MS,
          pollMaxMs: bulk.options.pollMaxMs ?? POLL_MAX_MS,
          logger: settings.logger,
          stop: this.stop.signal,
          uploading: () => {
            this.counters.batches++;
          },
        },
        runId: settings.runId,
        activation: settings.activation,
        dir: join(bulk.options.dir, settings.runId),
        startedAt: new Date(),
      },
      {
        delivered: (segment, change) => {
          this.counters.delivered++;
          if (change !== undefined) this.diff?.delivered(change, false);
          this.settle(segment);
        },
        rejected: (stream, segment, code, reason, attempts, row) => this.reject(stream, segment, code, reason, attempts, row, undefined),
        fatal: (error) => this.fail(error),
        wake: () => this.wake(),
        latestState: () => this.latestState,
        stateSaved: () => settings.stateSaved?.() ?? Promise.resolve(),
      },
    );
  }

  get failure(): unknown {
    return this.fatalError;
  }

  /** Diff modes: this run's change detection (what it delivered, to merge into the next snapshot). */
  get changes(): ChangeDetector | undefined {
    return this.diff;
  }

  get unsettledCount(): number {
    return this.unsettled;
  }

  get plan(): DryRunPlan {
    return {
      object: this.settings.objectName,
      syncMode: this.settings.syncMode,
      records: this.plannedRecords,
      batches: this.counters.batches,
      samples: this.samples,
      ...this.planned,
      samplesByKind: this.samplesByKind,
    };
  }

  /**
   * Consume the source to its end (or until stopped), then drain every batch in flight. The source gets
   * the pipeline's stop signal: it aborts on interrupt and on failure, and a source MUST end promptly then.
   * (Waiting on the source and the signal at once would cost a few closures per record — measurable.)
   */
  async run(read: (signal: AbortSignal) => AsyncIterable<SourceMessage>): Promise<void> {
    const signal = this.stop.signal;
    let iterator: AsyncIterator<unknown> | undefined;
    let finished = false;
    try {
      const messages = read(signal);
      const batches = batchesOf(messages);
      if (batches === undefined) {
        const each = messages[Symbol.asyncIterator]();
        iterator = each;
        finished = await this.consume(each, signal);
      } else {
        iterator = batches;
        finished = await this.consumeBatches(batches, signal);
      }
    } catch (error) {
      this.fail(error instanceof SluiceError ? error : new SluiceError('SOURCE_FAILED', describeError(error), { cause: error }));
    } finally {
      if (!finished && iterator?.return !== undefined) {
        await Promise.race([iterator.return(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]).catch(() => undefined);
      }
    }
    // Deletes only after a complete read: a key not seen in a partial one may still be in the source.
    if (finished && this.diff?.mode === 'mirror' && this.fatalError === undefined && !signal.aborted) {
      try {
        await this.sendDeletes(this.diff, signal);
      } catch (error) {
        this.fail(error);
      }
    }
    if (this.bulk !== undefined) {
      // A complete read cuts the last file; a stopped one discards it (its rows stay unsettled).
      await this.bulk.finish(finished && this.fatalError === undefined && !signal.aborted);
      return;
    }
    // Records already read are cheap to finish: send the partial batch unless the run has failed.
    if (this.fatalError === undefined) this.flush();
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    clearTimeout(this.batchTimer);
  }

  /** Take messages until the source ends (true) or the run stops (false). */
  private async consume(iterator: AsyncIterator<SourceMessage>, signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      while (this.full() && !signal.aborted) await this.progress();
      const next = await iterator.next();
      if (next.done) return true;
      // A message that arrives after the stop is not taken: it was never counted, and state stays before it.
      if (signal.aborted) return false;
      this.handle(next.value);
    }
    return false;
  }

  /**
   * The same, an array at a time (see batched.ts); the limit on unsettled records still holds per message.
   *
   * After a batch is sent, the loop lets the event loop run once before taking more. Input that is already
   * buffered arrives through promises alone, never passing through the event loop's I/O phase, so without
   * this the completion of a write (a file's, a response's) would only be seen once the loop is out of
   * room and must wait — every batch then waits for the previous one instead of overlapping with it.
   */
  private async consumeBatches(iterator: AsyncIterator<readonly SourceMessage[]>, signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      while (this.full() && !signal.aborted) await this.progress();
      if (this.sentSinceYield) {
        this.sentSinceYield = false;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const next = await iterator.next();
      if (next.done) return true;
      for (const message of next.value) {
        while (this.full() && !signal.aborted) await this.progress();
        if (signal.aborted) return false;
        this.handle(message);
      }
    }
    return false;
  }

  private handle(message: SourceMessage): void {
    if (message.type === 'state') {
      this.latestState = message.state;
      this.checkpointer.addState(message.state);
      this.bulk?.stateSeen();
      return;
    }
    if (message.type === 'schema') return;
    this.counters.read++;
    const segment = this.checkpointer.addRecord();
    this.unsettled++;
    const diff = this.diff;
    if (message.type === 'invalid') {
      if (diff !== undefined) diff.unkeyed++;
      this.reject(message.stream, segment, 'RECORD_MALFORMED', message.reason, 0, message.raw, message.origin);
      return;
    }
    // Diff modes key the source record before mapping: a record the mapping rejects is still present.
    let key: string | undefined;
    let index = -1;
    if (diff !== undefined) {
      key = diff.readKey(message.data);
      if (key === undefined) {
        diff.unkeyed++;
        this.reject(message.stream, segment, 'RECORD_INVALID', `the primary key (${this.settings.stream.primaryKey?.join(', ') ?? 'key'}) is missing or null`, 0, message.data, message.origin);
        return;
      }
      index = diff.lookup(key);
    }
    let data: JsonObject;
    try {
      data = this.settings.map(message.data);
    } catch (error) {
      this.reject(message.stream, segment, 'MAPPING_FAILED', describeError(error), 0, message.data, message.origin);
      return;
    }
    const invalid = this.settings.validate?.(data);
    if (invalid !== undefined) {
      this.reject(message.stream, segment, 'RECORD_INVALID', invalid, 0, data, message.origin);
      return;
    }
    // The source's own text of the record, when it has one and no mapping changed the record: exact, and no
    // second serialization (for protocol targets, this was as costly as parsing the line).
    const json = data === message.data && message.json !== undefined ? message.json : stringifyJson(data);
    const bytes = Buffer.byteLength(json);
    if (bytes > this.settings.batch.maxBytes) {
      this.reject(message.stream, segment, 'RECORD_INVALID', `record is ${bytes} bytes, over the batch limit of ${this.settings.batch.maxBytes} bytes`, 0, data, message.origin);
      return;
    }
    if (diff === undefined) {
      this.add({ stream: message.stream, data, json, bytes, segment, origin: message.origin });
      return;
    }
    const change = diff.classify(key!, index, json);
    if (change === undefined) {
      // Not to be sent: settled now, its fingerprint unchanged.
      this.counters.unchanged++;
      this.planned.unchanged++;
      this.settle(segment);
      return;
    }
    this.add({ stream: message.stream, data, json, bytes, segment, origin: message.origin, op: index < 0 ? 'create' : 'update', change });
  }

  /** Mirror: a delete for every key of the old snapshot that the source did not have this time. */
  private async sendDeletes(diff: ChangeDetector, signal: AbortSignal): Promise<void> {
    if (diff.unkeyed > 0) {
      this.settings.logger.warn({ records: diff.unkeyed }, 'mirror: records without a usable primary key were read, so no deletes are sent this run');
      return;
    }
    const { old, seen } = diff;
    const stream = this.settings.stream.name;
    for (let index = 0; index < old.count; index++) {
      if (seen!.has(index)) continue;
      while (this.full() && !signal.aborted) await this.progress();
      if (this.sentSinceYield) {
        this.sentSinceYield = false;
        await yieldToLoop();
      }
      if (signal.aborted) return;
      const data = diff.deleteData(index);
      const json = stringifyJson(data);
      const segment = this.checkpointer.addRecord();
      this.unsettled++;
      this.add({ stream, data, json, bytes: Buffer.byteLength(json), segment, origin: undefined, op: 'delete', change: diff.deleteChange(index) });
    }
  }

  /** Reading must wait: too many records unsettled (streaming), or the bulk sink cannot take more yet. */
  private full(): boolean {
    return this.bulk === undefined ? this.unsettled >= this.maxUnsettled : this.bulk.blocked;
  }

  private add(record: PendingRecord): void {
    if (this.bulk !== undefined) {
      this.bulk.append(record, (reason) => this.reject(record.stream, record.segment, 'RECORD_INVALID', reason, 0, record.data, record.origin));
      return;
    }
    if (this.batch.length > 0 && this.batchBytes + record.bytes > this.settings.batch.maxBytes) this.flush();
    if (this.batch.length === 0) {
      this.batchTimer = setTimeout(() => this.flush(), this.settings.batch.maxWaitMs);
    }
    this.batch.push(record);
    this.batchBytes += record.bytes;
    if (this.batch.length >= this.settings.batch.maxRecords) this.flush();
  }

  private flush(): void {
    clearTimeout(this.batchTimer);
    if (this.batch.length === 0) return;
    const batch: Batch = { records: this.batch, key: `${this.settings.runId}-${++this.batchSeq}` };
    this.batch = [];
    this.batchBytes = 0;
    if (this.settings.dryRun) {
      this.plan_(batch);
      return;
    }
    this.sentSinceYield = true;
    const task = this.sender!.send(batch).finally(() => {
      this.inFlight.delete(task);
      this.wake();
    });
    this.inFlight.add(task);
  }

  /** Dry run: count and sample what would be sent; nothing is delivered and state is not saved. */
  private plan_(batch: Batch): void {
    this.counters.batches++;
    for (const record of batch.records) {
      this.plannedRecords++;
      if (this.samples.length < SAMPLE_COUNT) this.samples.push(record.data);
      if (record.change?.same === true) this.planned.unchanged++;
      else {
        const kind = record.op === 'delete' ? 'deletes' : record.op === 'update' ? 'updates' : 'creates';
        this.planned[kind]++;
        if (this.samplesByKind[kind].length < SAMPLE_COUNT) this.samplesByKind[kind].push(record.data);
      }
      this.settle(record.segment);
    }
  }

  private reject(stream: string, segment: number, code: ErrorCode, reason: string, attempts: number, record: JsonValue, origin: Origin | undefined): void {
    this.counters.rejected++;
    this.settings.ledger.add({
      runId: this.settings.runId,
      activation: this.settings.activation,
      stream,
      object: this.settings.objectName,
      code,
      reason,
      attempts,
      record,
      ...(origin === undefined ? {} : { origin }),
    });
    this.settle(segment);
  }

  private settle(segment: number): void {
    this.unsettled--;
    this.checkpointer.settle(segment);
  }

  private fail(error: unknown): void {
    if (this.fatalError === undefined) {
      this.fatalError = error;
      this.settings.logger.error({ error: describeError(error) }, 'run failed');
    }
    this.stop.abort();
    this.abortWrites.abort();
  }

  private progress(): Promise<void> {
    return new Promise((resolve) => {
      this.progressWaiter = resolve;
    });
  }

  private wake(): void {
    const waiter = this.progressWaiter;
    this.progressWaiter = undefined;
    waiter?.();
  }
}

export function newRunId(): string {
  return randomUUID();
}
