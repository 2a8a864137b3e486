/**
 * Sends one batch to a streaming destination object and sees every record of it to a final outcome:
 * delivered, rejected (into the ledger), or — after retries with backoff and jitter, honouring the
 * destination's Retry-After as a pause for all requests — rejected with the last reason.
 *
 * A write that throws a SluiceError applies its class to the whole batch (transient → retry, record →
 * reject); auth/config errors and unexpected exceptions are fatal to the run: the batch's records stay
 * unsettled, so state does not pass them and the next run sends them again. Nothing is dropped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutgoingRecord, StreamingObject, WriteContext } from '../sdk/destination.ts';
import { SluiceError, describeError, type ErrorCode } from '../sdk/errors.ts';
import { type Outcome, allOutcomes, rejected, retry } from '../sdk/outcome.ts';
import type { Origin } from '../sdk/source.ts';
import { type RetryPolicy, backoffDelay, mayRetry } from './backoff.ts';
import type { Change } from './diff.ts';
import type { Admission } from './rate-limiter.ts';

export interface PendingRecord extends OutgoingRecord {
  readonly segment: number;
  readonly bytes: number;
  readonly origin: Origin | undefined;
  /** Diff modes: the fingerprint that advances when this record is delivered. */
  readonly change?: Change;
}

export interface Batch {
  readonly records: readonly PendingRecord[];
  readonly key: string;
}

export interface SenderHooks {
  delivered(record: PendingRecord): void;
  rejected(record: PendingRecord, code: ErrorCode, reason: string, attempts: number): void;
  retried(count: number): void;
  wrote(): void;
  /** A fatal error: the run must stop. */
  fatal(error: unknown): void;
}

export class Sender {
  constructor(
    private readonly object: StreamingObject<unknown, unknown>,
    private readonly context: Omit<WriteContext<unknown, unknown>, 'idempotencyKey' | 'attempt'>,
    private readonly admission: Admission,
    private readonly policy: RetryPolicy,
    private readonly hooks: SenderHooks,
    /** Aborted when the run stops: no new retries start, sleeping retries end (records stay unsettled). */
    private readonly stop: AbortSignal,
  ) {}

  async send(batch: Batch): Promise<void> {
    let records = batch.records;
    let key = batch.key;
    let attempt = 1;
    const firstAttemptAt = Date.now();
    while (records.length > 0) {
      if (attempt > 1 && this.stop.aborted) return;
      const outcomes = await this.write(records, key, attempt);
      if (outcomes === undefined) return; // fatal, reported
      const again: PendingRecord[] = [];
      let lastReason = '';
      let notBefore = 0;
      for (let index = 0; index < records.length; index++) {
        const record = records[index]!;
        const outcome = outcomes[index]!;
        if (outcome.status === 'delivered') this.hooks.delivered(record);
        else if (outcome.status === 'rejected') this.hooks.rejected(record, 'DESTINATION_REJECTED', outcome.reason, attempt);
        else {
          again.push(record);
          lastReason = outcome.reason;
          if (outcome.notBefore !== undefined && outcome.notBefore > notBefore) notBefore = outcome.notBefore;
        }
      }
      if (again.length === 0) return;
      if (!mayRetry(attempt, firstAttemptAt, this.policy)) {
        const reason = `${lastReason} (gave up after ${attempt} attempts)`;
        for (const record of again) this.hooks.rejected(record, 'RETRIES_EXHAUSTED', reason, attempt);
        return;
      }
      const wakeAt = Math.max(notBefore, Date.now() + backoffDelay(attempt, this.policy));
      this.context.logger.warn({ records: again.length, attempt, reason: lastReason, retryInMs: wakeAt - Date.now() }, 'batch will be retried');
      this.hooks.retried(again.length);
      // Same records, same key: the receiver can recognise the repeat. A subset is a new request body.
      if (again.length !== records.length) key = `${batch.key}.${attempt}`;
      records = again;
      attempt++;
      try {
        await sleep(Math.max(0, wakeAt - Date.now()), undefined, { signal: this.stop });
      } catch {
        return; // stopping: these records stay unsettled and are sent again next run
      }
    }
  }

  /** One write call; undefined when the error was fatal. */
  private async write(records: readonly PendingRecord[], key: string, attempt: number): Promise<readonly Outcome[] | undefined> {
    let release: () => void;
    try {
      release = await this.admission.acquire(attempt > 1 ? this.stop : undefined);
    } catch {
      return undefined;
    }
    let outcomes: readonly Outcome[] | undefined;
    try {
      this.hooks.wrote();
      outcomes = await this.object.write(records, { ...this.context, idempotencyKey: key, attempt });
      if (outcomes.length !== records.length) {
        this.hooks.fatal(new SluiceError('DESTINATION_FAILED', `the destination returned ${outcomes.length} outcomes for ${records.length} records`));
        outcomes = undefined;
      }
    } catch (error) {
      if (error instanceof SluiceError && error.retryClass === 'transient') outcomes = allOutcomes(records.length, retry(describeError(error), error.notBefore));
      else if (error instanceof SluiceError && error.retryClass === 'record') outcomes = allOutcomes(records.length, rejected(describeError(error)));
      else this.hooks.fatal(error);
    } finally {
      // A Retry-After holds back every request: pause admission *before* freeing this slot, or a batch
      // waiting for the slot would go out at once, straight into the peer's rate limit.
      if (outcomes !== undefined) this.admission.pauseUntil(latestNotBefore(outcomes));
      release();
    }
    return outcomes;
  }
}

function latestNotBefore(outcomes: readonly Outcome[]): number {
  let latest = 0;
  for (const outcome of outcomes) if (outcome.status === 'retry' && outcome.notBefore !== undefined && outcome.notBefore > latest) latest = outcome.notBefore;
  return latest;
}
