/**
 * Checks that run the real engine (`runActivation`) into the destination, with the conformance sequence
 * source and an observed `write`:
 * - `destination.batch-limits`: no batch handed to `write` exceeds the object's record or byte limit;
 * - `destination.state-order`: every committed state comes after a final outcome for each record before
 *   it, in order — and, with `inspect`, every record reported delivered before a state is committed can
 *   already be read back, so "delivered" means what it says.
 */
import { MemoryLedger } from '../../engine/ledger.ts';
import { runActivation } from '../../engine/run.ts';
import { MemoryStateStore } from '../../engine/state-store.ts';
import type { RunSummary } from '../../engine/types.ts';
import type { DestinationDefinition } from '../../sdk/destination.ts';
import type { State } from '../../sdk/source.ts';
import { secretValues } from '../canary.ts';
import { type Check, type CheckContext, expectThat } from '../checks.ts';
import { lastIdOf, sequenceSource } from '../sequence-source.ts';
import type { DestinationConformanceOptions } from '../types.ts';
import { type Target, type WriteObserver, bulkOptionsFor, observeWrites, resolveTarget } from './target.ts';

/** Short retry delays: a transient failure in a check should cost milliseconds, not minutes. */
const FAST_RETRY = { baseDelayMs: 20, maxDelayMs: 500, maxElapsedMs: 30_000 };

interface EngineRun {
  readonly count: number;
  readonly stateEvery: number;
  readonly observer: WriteObserver;
  readonly onStateCommitted?: (state: State) => void;
}

async function runEngine(definition: DestinationDefinition, options: DestinationConformanceOptions, target: Target, ctx: CheckContext, run: EngineRun): Promise<RunSummary> {
  for (const secret of secretValues(definition.spec, target.raw)) ctx.secrets.add(secret);
  const summary = await runActivation({
    activation: {
      name: 'conformance',
      source: { definition: sequenceSource({ count: run.count, tag: ctx.scope.tag, stateEvery: run.stateEvery, record: options.record }), config: {} },
      destination: { definition: observeWrites(definition, target.objectName, run.observer), config: target.config, object: target.objectName },
      syncMode: target.syncMode,
      retry: FAST_RETRY,
    },
    stateStore: new MemoryStateStore(),
    ledger: new MemoryLedger(),
    logger: ctx.connector.logger,
    signal: ctx.connector.signal,
    ...(target.bulk === undefined ? {} : { bulk: bulkOptionsFor(ctx.scope.dir) }),
    ...(run.onStateCommitted === undefined ? {} : { onStateCommitted: run.onStateCommitted }),
  });
  expectThat(summary.status === 'succeeded', `the run ${summary.status}: ${summary.error ?? ''}`);
  expectThat(summary.counters.read === run.count, `the run read ${summary.counters.read} of ${run.count} records`);
  return summary;
}

export function batchLimitsCheck(definition: DestinationDefinition, options: DestinationConformanceOptions): Check {
  return {
    id: 'destination.batch-limits',
    title: "batches the engine hands to write keep the object's record and byte limits",
    async run(ctx) {
      const target = await resolveTarget(definition, options, ctx.scope);
      const { maxRecords, maxBytes } = target.batch;
      // Bulk files are bigger than batches: a few files' worth, within what a check can afford.
      const count = target.bulk === undefined ? Math.min(maxRecords * 2 + 3, 20_003) : Math.min(maxRecords * 2 + 3, 5_003);
      const sizes: number[] = [];
      let largestBytes = 0;
      const summary = await runEngine(definition, options, target, ctx, {
        count,
        stateEvery: count,
        observer: {
          before(records) {
            sizes.push(records.length);
            largestBytes = Math.max(largestBytes, records.reduce((sum, record) => sum + Buffer.byteLength(record.json), 0));
          },
          // A bulk file: its rows, and its size on disk (compressed files are smaller than the limit's count).
          beforeUpload(file) {
            sizes.push(file.rows);
            largestBytes = Math.max(largestBytes, file.bytes);
          },
        },
      });
      const largest = Math.max(...sizes);
      expectThat(largest <= maxRecords, `a batch of ${largest} records exceeds maxRecords ${maxRecords}`);
      expectThat(largestBytes <= maxBytes, `a batch of ${largestBytes} bytes exceeds maxBytes ${maxBytes}`);
      return `${count} records in ${sizes.length} writes; largest ${largest} records / ${largestBytes} bytes (limits ${maxRecords} / ${maxBytes}); ${summary.counters.delivered} delivered`;
    },
  };
}

export function stateOrderCheck(definition: DestinationDefinition, options: DestinationConformanceOptions): Check {
  return {
    id: 'destination.state-order',
    title: 'states are committed in order, each after every record before it has a final outcome',
    async run(ctx) {
      const target = await resolveTarget(definition, options, ctx.scope);
      // States fall inside batches, not only on their edges, and there are several of them.
      const stateEvery = Math.max(1, Math.ceil(Math.min(target.batch.maxRecords, 1000) / 3));
      const count = stateEvery * 9 + 1;
      const settled = new Set<number>();
      const delivered = new Set<number>();
      const problems: string[] = [];
      // Read-backs started at each commit; writes and the close wait for them, so a read-back sees what
      // was there when the state was committed, not what a later write or the close added.
      const audits: Array<Promise<void>> = [];
      let lastCommitted = 0;
      let commits = 0;
      await runEngine(definition, options, target, ctx, {
        count,
        stateEvery,
        observer: {
          before: () => Promise.all(audits),
          after(records, outcomes) {
            records.forEach((record, index) => {
              const status = outcomes[index]?.status;
              if (status === 'retry') return;
              settled.add(record.data.id as number);
              if (status === 'delivered') delivered.add(record.data.id as number);
            });
          },
          beforeClose: () => Promise.all(audits),
        },
        onStateCommitted(state) {
          commits++;
          const lastId = lastIdOf(state);
          if (lastId <= lastCommitted) problems.push(`state ${lastId} committed after state ${lastCommitted}`);
          lastCommitted = lastId;
          if (target.bulk !== undefined) {
            // No per-batch outcomes to watch: what the state covers must already be delivered (readable).
            if (options.inspect !== undefined) audits.push(readBack(options.inspect, ctx, lastId, undefined, problems));
            return;
          }
          for (let id = 1; id <= lastId; id++) {
            if (!settled.has(id)) {
              problems.push(`state ${lastId} committed before record ${id} had a final outcome`);
              break;
            }
          }
          if (options.inspect !== undefined) audits.push(readBack(options.inspect, ctx, lastId, delivered, problems));
        },
      });
      await Promise.all(audits);
      expectThat(problems.length === 0, problems.slice(0, 3).join('; '));
      expectThat(lastCommitted === count, `the last committed state covers ${lastCommitted} of ${count} records`);
      return `${commits} states over ${count} records${options.inspect === undefined ? ' (no inspect hook: delivery not read back)' : ', delivered records readable at each commit'}`;
    },
  };
}

/** When a state is committed, every record delivered up to it must be readable. */
async function readBack(inspect: NonNullable<DestinationConformanceOptions['inspect']>, ctx: CheckContext, lastId: number, delivered: ReadonlySet<number> | undefined, problems: string[]): Promise<void> {
  try {
    // Bulk (no `delivered` set): every record up to the state; CSV files read back ids as text.
    const seen = new Set((await inspect(ctx.scope)).filter((record) => record.tag === ctx.scope.tag).map((record) => (delivered === undefined ? String(record.id) : record.id)));
    for (let id = 1; id <= lastId; id++) {
      if (delivered === undefined ? !seen.has(String(id)) : delivered.has(id) && !seen.has(id)) {
        problems.push(`state ${lastId} was committed, but record ${id}, reported delivered, cannot be read back`);
        return;
      }
    }
  } catch (error) {
    problems.push(`inspect failed: ${String(error)}`);
  }
}
