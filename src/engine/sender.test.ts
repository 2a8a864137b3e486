/**
 * A destination's Retry-After holds back every request of the run, including a batch that was already
 * waiting for the same send slot when the answer came.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sequenceSource } from '../../test/support/sources.ts';
import { defineDestination } from '../sdk/destination.ts';
import { allOutcomes, delivered, retry } from '../sdk/outcome.ts';
import { MemoryLedger } from './ledger.ts';
import { runActivation } from './run.ts';
import { MemoryStateStore } from './state-store.ts';

describe('Retry-After', () => {
  it('pauses the batch queued behind the one that got it', async () => {
    const calls: number[] = [];
    const destination = defineDestination({
      id: 'throttled',
      title: 'Throttled',
      description: 'Answers the first call with a 1 s Retry-After.',
      spec: z.strictObject({}),
      async check() {
        return { ok: true };
      },
      objects: {
        items: {
          syncModes: ['append'],
          batch: { maxRecords: 10, maxWaitMs: 5 },
          async write(records) {
            calls.push(Date.now());
            if (calls.length === 1) return allOutcomes(records.length, retry('429 Too Many Requests', Date.now() + 1000));
            return records.map(() => delivered());
          },
        },
      },
      limits: { concurrency: 1 },
    });
    const summary = await runActivation({
      activation: {
        name: 'throttled',
        source: { definition: sequenceSource({ count: 30 }), config: {} },
        destination: { definition: destination, config: {} },
        retry: { baseDelayMs: 10, maxDelayMs: 20 },
      },
      stateStore: new MemoryStateStore(),
      ledger: new MemoryLedger(),
    });
    expect(summary.counters).toMatchObject({ read: 30, delivered: 30, rejected: 0 });
    const [first, second] = calls;
    // The next call (another batch, already queued for the slot) waits out the Retry-After too.
    expect(second! - first!).toBeGreaterThanOrEqual(950);
  });
});
