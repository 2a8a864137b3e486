/**
 * One event activation's delivery loop: it reads its source's events from the log after its cursor, in
 * chunks, and sees every event of a chunk to an end — filtered out, delivered, or dead-lettered — before
 * it moves the cursor past it.
 *
 * - Per-user order: the events of a chunk are split into lanes by user (userId, else anonymousId), as
 *   many lanes as the destination's concurrency; a lane sends its batches one after another, so a user's
 *   later events never overtake earlier ones, and a batch being retried holds back only its own lane.
 * - Retries: the engine's Sender (backoff with jitter; a Retry-After pauses every lane of the activation);
 *   after the activation's retry budget (`retry.max_attempts`, `retry.max_elapsed_seconds`), or at once
 *   for a rejected event, the event becomes a dead letter with its reason.
 * - An error that no event can get past (credentials refused, a destination that fails as a whole) moves
 *   nothing: the loop logs it, waits (growing to a minute) and tries the same events again, so fixing the
 *   config resumes delivery without losing anything.
 * - The cursor and the dead letters of the events it passes are written in one transaction, by the
 *   cursor's owner only (lease.ts); a loop that lost its lease stops. While a chunk is delivered the cursor
 *   moves over its settled prefix every CHECKPOINT_MS, so a crash repeats only what went out since (and
 *   the batches in flight), not the whole chunk.
 * - Each activation has its own loop: a failing destination stalls nothing but its own activation.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../engine/backoff.ts';
import { compileEventFilter } from '../../engine/event-filter.ts';
import { compileMapping } from '../../engine/mapping.ts';
import { Admission } from '../../engine/rate-limiter.ts';
import { DEFAULT_BATCH } from '../../engine/run.ts';
import { type PendingRecord, Sender } from '../../engine/sender.ts';
import { outgoingStream } from '../../engine/stream-schema.ts';
import type { ActivationPlan } from '../../engine/types.ts';
import { compileValidator } from '../../engine/validate.ts';
import type { Redact } from '../../interop/external/redact.ts';
import type { JsonObject } from '../../protocol/json.ts';
import type { Logger } from '../../sdk/context.ts';
import { type BatchLimits, type StreamingObject, isStreamingObject, resolvePerConfig } from '../../sdk/destination.ts';
import { describeError } from '../../sdk/errors.ts';
import type { Database } from '../../store/db.ts';
import { type DeadLetterInput, type LoggedEvent, advanceCursor, claimCursor, readEvents, releaseCursor, renewCursorLease } from '../../store/events.ts';

export interface LoopSettings {
  readonly db: Database;
  readonly plan: ActivationPlan;
  readonly sourceName: string;
  readonly destinationName: string;
  readonly owner: string;
  readonly leaseSeconds: number;
  readonly takeOver: boolean;
  /** When the activation was first posted: a new cursor starts with the events received from then on. */
  readonly startAt?: string;
  readonly pollMs: number;
  readonly chunkSize: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly logger: Logger;
  readonly redact: Redact;
  readonly onSettled?: (outcome: 'delivered' | 'dead_lettered', count: number) => void;
}

const DEFAULT_CONCURRENCY = 4;
/** How often a chunk being delivered moves the cursor over its settled prefix. */
const CHECKPOINT_MS = 250;
const MAX_FAILURE_PAUSE_MS = 60_000;

interface Prepared {
  readonly object: StreamingObject<unknown, unknown>;
  readonly objectName: string;
  readonly batch: BatchLimits;
  readonly concurrency: number;
  readonly requestsPerSecond: number;
}

function prepare(plan: ActivationPlan): Prepared {
  const { destination } = plan;
  const names = Object.keys(destination.definition.objects);
  const objectName = destination.object ?? (names.length === 1 ? names[0] : undefined);
  const object = objectName === undefined ? undefined : destination.definition.objects[objectName];
  if (objectName === undefined || object === undefined || !isStreamingObject(object)) {
    throw new Error(`activation ${plan.name}: the destination object must take records (one of: ${names.join(', ')})`);
  }
  const limits = resolvePerConfig(destination.definition.limits, destination.config) ?? {};
  return {
    object: object as StreamingObject<unknown, unknown>,
    objectName,
    batch: { ...DEFAULT_BATCH, ...resolvePerConfig(object.batch, destination.config) },
    concurrency: Math.max(1, limits.concurrency ?? DEFAULT_CONCURRENCY),
    requestsPerSecond: limits.requestsPerSecond ?? 0,
  };
}

export interface Loop {
  readonly name: string;
  /** Stops reading and retrying; batches in flight finish; resolves when the loop has ended. */
  stop(): Promise<void>;
}

/**
 * Chunk outcome: how far the cursor may move, the dead letters to store with it (those past the last
 * checkpoint), every dead letter the cursor passes in this chunk, and a fatal error if one stopped it.
 */
interface ChunkResult {
  readonly settledThrough: number;
  readonly deadLetters: DeadLetterInput[];
  readonly deadLettered: DeadLetterInput[];
  readonly delivered: number;
  readonly fatal: unknown;
}

interface Item {
  readonly event: LoggedEvent;
  messageId: string | undefined;
  settled: boolean;
}

export function startLoop(settings: LoopSettings): Loop {
  const { db, plan, logger } = settings;
  const stopping = new AbortController();
  const prepared = prepare(plan);
  const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...plan.retry, ...settings.retry };
  const filter = compileEventFilter(plan.filter);
  const map = compileMapping(plan.mapping);
  const validate = compileValidator(prepared.object.fields);
  const stream = outgoingStream({ name: 'events', jsonSchema: { type: 'object' }, syncModes: ['incremental'] }, plan.mapping, undefined);
  const cursorKey = { activation: plan.name, source: settings.sourceName, destination: settings.destinationName, owner: settings.owner };
  const ctx = { logger, signal: stopping.signal, runId: `events:${plan.name}` };

  async function run(): Promise<void> {
    let cursor: number | undefined;
    /** Where the next read starts when past the cursor: the horizon of a read that found the source's events exhausted. */
    let scanFrom = 0;
    let session: unknown;
    let sessionOpen = false;
    let failures = 0;
    let leaseTimer: NodeJS.Timeout | undefined;
    let lease: AbortController | undefined;
    const pause = async (ms: number) => {
      try {
        await sleep(ms, undefined, { signal: stopping.signal });
      } catch {
        // stopping
      }
    };
    try {
      while (!stopping.signal.aborted) {
        if (cursor === undefined) {
          cursor = await claimCursor(db, {
            activation: plan.name,
            source: settings.sourceName,
            owner: settings.owner,
            leaseSeconds: settings.leaseSeconds,
            takeOver: settings.takeOver,
            ...(settings.startAt === undefined ? {} : { startAt: settings.startAt }),
          });
          if (cursor === undefined) {
            await pause((settings.leaseSeconds * 1000) / 3);
            continue;
          }
          logger.info({ activation: plan.name, seq: cursor }, 'event delivery started');
          lease = new AbortController();
          const held = lease;
          clearInterval(leaseTimer);
          leaseTimer = setInterval(() => {
            renewCursorLease(db, plan.name, settings.owner, settings.leaseSeconds).then(
              (kept) => {
                if (!kept) held.abort();
              },
              (error: unknown) => logger.warn({ activation: plan.name, error: describeError(error) }, 'event delivery: lease renewal failed'),
            );
          }, (settings.leaseSeconds * 1000) / 3);
        }
        const page = await readEvents(db, settings.sourceName, plan.name, Math.max(cursor, scanFrom), settings.chunkSize);
        const events = page.events;
        if (events.length === 0) {
          // Nothing for this activation up to the horizon: the next read starts there (other sources' rows are skipped once).
          scanFrom = Math.max(scanFrom, page.horizon);
          await pause(settings.pollMs);
          continue;
        }
        if (!sessionOpen && plan.destination.definition.open !== undefined) {
          try {
            session = await plan.destination.definition.open(plan.destination.config, ctx);
            sessionOpen = true;
          } catch (error) {
            failures++;
            logger.error({ activation: plan.name, error: settings.redact(describeError(error)) }, 'event delivery: cannot open the destination; trying again');
            await pause(Math.min(MAX_FAILURE_PAUSE_MS, 1000 * 2 ** Math.min(failures, 6)));
            continue;
          }
        }
        const held = lease!;
        const stopChunk = AbortSignal.any([stopping.signal, held.signal]);
        const result = await deliverChunk(events, session, stopChunk, cursor, async (through, letters) => {
          const kept = await advanceCursor(db, cursorKey, through, letters);
          if (kept) cursor = through;
          else held.abort(); // another worker has this activation now: stop sending
          return kept;
        });
        const ok = result.settledThrough > cursor ? await advanceCursor(db, cursorKey, result.settledThrough, result.deadLetters) : true;
        if (!ok || lease!.signal.aborted) {
          logger.warn({ activation: plan.name }, 'event delivery: another worker took this activation over; stopping here');
          cursor = undefined;
          scanFrom = 0;
          clearInterval(leaseTimer);
          continue;
        }
        if (result.settledThrough > cursor) cursor = result.settledThrough;
        if (result.delivered > 0) settings.onSettled?.('delivered', result.delivered);
        if (result.deadLettered.length > 0) {
          settings.onSettled?.('dead_lettered', result.deadLettered.length);
          logger.warn({ activation: plan.name, count: result.deadLettered.length, reason: result.deadLettered[0]?.reason }, 'events dead-lettered');
        }
        if (result.fatal !== undefined && !stopping.signal.aborted) {
          failures++;
          const waitMs = Math.min(MAX_FAILURE_PAUSE_MS, 1000 * 2 ** Math.min(failures, 6));
          logger.error({ activation: plan.name, error: settings.redact(describeError(result.fatal)), retryInMs: waitMs }, 'event delivery failed; the events wait in the log');
          await pause(waitMs);
        } else if (result.fatal === undefined) failures = 0;
      }
    } finally {
      clearInterval(leaseTimer);
      if (sessionOpen && plan.destination.definition.close !== undefined) {
        await plan.destination.definition.close(session, ctx, { complete: true }).catch((error: unknown) => {
          logger.warn({ activation: plan.name, error: settings.redact(describeError(error)) }, 'event delivery: closing the destination failed');
        });
      }
      if (cursor !== undefined) await releaseCursor(db, plan.name, settings.owner).catch(() => {});
    }
  }

  /**
   * Filter → map → validate → lanes by user → batches → send; every event ends settled unless stopped or
   * fatal. `from` is the cursor; `checkpoint` moves it (with the dead letters it passes) while the chunk
   * is delivered. The result holds what is settled past the last checkpoint.
   */
  async function deliverChunk(
    events: readonly LoggedEvent[],
    session: unknown,
    stop: AbortSignal,
    from: number,
    checkpoint: (through: number, deadLetters: DeadLetterInput[]) => Promise<boolean>,
  ): Promise<ChunkResult> {
    const items: Item[] = events.map((event) => ({ event, messageId: undefined, settled: false }));
    const deadLetters: DeadLetterInput[] = [];
    let delivered = 0;
    let fatal: unknown;
    const lanes: PendingRecord[][] = Array.from({ length: prepared.concurrency }, () => []);
    const dead = (index: number, reason: string, attempts: number) => {
      const item = items[index]!;
      deadLetters.push({ seq: item.event.seq, messageId: item.messageId, event: JSON.stringify(item.event.event), reason, attempts });
      item.settled = true;
    };
    for (let index = 0; index < items.length; index++) {
      const item = items[index]!;
      const event = item.event.event;
      item.messageId = typeof event.messageId === 'string' ? event.messageId : undefined;
      if (!filter(event)) {
        item.settled = true;
        continue;
      }
      let data: JsonObject;
      try {
        data = map(event as JsonObject);
      } catch (error) {
        dead(index, `mapping failed: ${describeError(error)}`, 0);
        continue;
      }
      const invalid = validate?.(data);
      if (invalid !== undefined) {
        dead(index, `the mapped event does not fit object ${prepared.objectName}: ${invalid}`, 0);
        continue;
      }
      const json = JSON.stringify(data);
      const user = String(event.userId ?? event.anonymousId ?? '');
      lanes[laneOf(user, lanes.length)]!.push({ stream: 'events', data, json, segment: index, bytes: Buffer.byteLength(json), origin: undefined });
    }

    const admission = new Admission(prepared.concurrency, prepared.requestsPerSecond);
    const abortWrites = new AbortController();
    const sender = new Sender(
      prepared.object,
      {
        logger,
        signal: abortWrites.signal,
        runId: ctx.runId,
        config: plan.destination.config,
        session,
        object: prepared.objectName,
        syncMode: 'append',
        stream,
      },
      admission,
      retry,
      {
        delivered(record) {
          items[record.segment]!.settled = true;
          delivered++;
        },
        rejected(record, _code, reason, attempts) {
          dead(record.segment, settings.redact(reason), attempts);
        },
        retried() {},
        wrote() {},
        fatal(error) {
          fatal ??= error;
        },
      },
      stop,
    );
    /** items[0, settledCount) are settled; `committed` is where the cursor stands. */
    let settledCount = 0;
    let committed = from;
    const settledThrough = (): number => {
      while (settledCount < items.length && items[settledCount]!.settled) settledCount++;
      return settledCount === 0 ? (items[0]?.event.seq ?? from + 1) - 1 : items[settledCount - 1]!.event.seq;
    };
    // Dead letters only for events the cursor passes (the others are tried again), each written once.
    const lettersThrough = (through: number) => deadLetters.filter((letter) => letter.seq > committed && letter.seq <= through).sort((a, b) => a.seq - b.seq);
    let checkpointing: Promise<void> | undefined;
    const timer = setInterval(() => {
      const through = settledThrough();
      if (checkpointing !== undefined || through <= committed) return;
      checkpointing = checkpoint(through, lettersThrough(through))
        .then(
          (kept) => {
            if (kept) committed = through;
          },
          (error: unknown) => logger.warn({ activation: plan.name, error: settings.redact(describeError(error)) }, 'event delivery: moving the cursor failed; trying again'),
        )
        .finally(() => {
          checkpointing = undefined;
        });
    }, CHECKPOINT_MS);
    try {
      await Promise.all(
        lanes.map(async (lane) => {
          for (const batch of batchesOf(lane, prepared.batch)) {
            if (fatal !== undefined || stop.aborted) return;
            const first = items[batch[0]!.segment]!.event.seq;
            const last = items[batch[batch.length - 1]!.segment]!.event.seq;
            await sender.send({ records: batch, key: `evt-${plan.name}-${first}-${last}-${batch.length}` });
            // A fatal error or a stop leaves the rest of this lane unsent (and its events unsettled).
            if (batch.some((record) => !items[record.segment]!.settled)) return;
          }
        }),
      );
    } finally {
      clearInterval(timer);
      await checkpointing;
    }
    const through = settledThrough();
    const deadLettered = deadLetters.filter((letter) => letter.seq <= through);
    return { settledThrough: through, deadLetters: lettersThrough(through), deadLettered, delivered, fatal };
  }

  const done = run().catch((error: unknown) => {
    logger.error({ activation: plan.name, error: settings.redact(describeError(error)) }, 'event delivery stopped by an error');
  });
  return {
    name: plan.name,
    async stop() {
      stopping.abort();
      await done;
    },
  };
}

/** Cuts a lane into batches within the object's record and byte limits. */
function* batchesOf(records: readonly PendingRecord[], limits: BatchLimits): Generator<PendingRecord[]> {
  let batch: PendingRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    if (batch.length > 0 && (batch.length >= limits.maxRecords || bytes + record.bytes > limits.maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(record);
    bytes += record.bytes;
  }
  if (batch.length > 0) yield batch;
}

/** FNV-1a of the user key, to a lane. */
function laneOf(user: string, lanes: number): number {
  if (lanes === 1) return 0;
  let hash = 0x811c9dc5;
  for (let index = 0; index < user.length; index++) {
    hash ^= user.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % lanes;
}
