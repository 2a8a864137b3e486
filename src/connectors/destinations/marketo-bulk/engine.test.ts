/**
 * marketo-bulk end to end through the real engine (`runActivation` with its bulk lifecycle): a numbered
 * source mapped to leads, cut into CSV files, imported into the local Marketo mock as jobs, polled, and
 * settled row by row — failed rows in the reject ledger with Marketo's reason and the row read back from
 * the file, warned rows delivered, state at the end. And a job Marketo fails whole, twice: its rows
 * rejected with Marketo's message.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sequenceSource } from '../../../../test/support/sources.ts';
import { MemoryBulkJobStore } from '../../../engine/bulk-jobs.ts';
import { MemoryLedger } from '../../../engine/ledger.ts';
import type { Mapping } from '../../../engine/mapping.ts';
import { runActivation } from '../../../engine/run.ts';
import { MemoryStateStore } from '../../../engine/state-store.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import marketo from './index.ts';
import { type MockMarketo, startMockMarketo } from './mock-marketo.ts';

const SECRET = 'engine-marketo-secret-4b7e19d2';

let dir = '';
let server: MockMarketo;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'marketo-engine-'));
  server = await startMockMarketo({ clientSecret: SECRET, queuedMs: 5, importMs: 10 });
});
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function run(count: number, extra: (id: number) => JsonObject, mapping: Mapping) {
  const ledger = new MemoryLedger();
  const stateStore = new MemoryStateStore();
  const summary = await runActivation({
    activation: {
      name: 'people_to_marketo',
      source: { definition: sequenceSource({ count, stateEvery: 25, extra }), config: {} },
      destination: { definition: marketo, config: marketo.spec.parse({ base_url: server.url, client_id: server.credentials.client_id, client_secret: SECRET, max_rows: 100 }), object: 'leads' },
      mapping,
      retry: { baseDelayMs: 10, maxDelayMs: 50, maxElapsedMs: 10_000 },
    },
    stateStore,
    ledger,
    bulk: { dir: join(dir, 'files'), jobs: new MemoryBulkJobStore(), pollInitialMs: 5, pollMaxMs: 20 },
  });
  return { summary, ledger, stateStore };
}

describe('marketo-bulk through the engine', () => {
  it('imports files as jobs and settles every row: failures rejected with the reason, warnings delivered', async () => {
    const extra = (id: number): JsonObject => ({
      email: id % 50 === 0 ? '' : id % 70 === 0 ? `not-an-email-${id}` : `user${id}@example.com`,
      score: id % 40 === 0 ? 'lots' : id,
    });
    const { summary, ledger } = await run(250, extra, { email: 'email', firstName: 'name', leadScore: 'score' });
    expect(summary.error).toBeUndefined();
    expect(summary.status).toBe('succeeded');
    const failedIds = [40, 50, 80, 100, 120, 150, 160, 200, 240, 250];
    expect(summary.counters).toMatchObject({ read: 250, delivered: 250 - failedIds.length, rejected: failedIds.length });
    expect(server.stats.jobs).toBe(3);
    expect(server.leads()).toHaveLength(240);
    expect(server.lead('email', 'not-an-email-70')?.fields.firstName).toBeDefined();
    const rejected = ledger.entries.map((entry) => ({ email: (entry.record as JsonObject).email, code: entry.code, reason: entry.reason }));
    expect(rejected).toHaveLength(failedIds.length);
    expect(rejected).toContainEqual({ email: 'user40@example.com', code: 'DESTINATION_REJECTED', reason: 'Marketo did not import this row: Invalid data type in field Lead Score' });
    expect(rejected).toContainEqual({ email: '', code: 'DESTINATION_REJECTED', reason: "Marketo did not import this row: Value for lookup field 'email' not found" });
    expect(JSON.stringify(ledger.entries)).not.toContain(SECRET);
  });

  it('rejects the rows of a file Marketo fails whole, with its message', async () => {
    const { summary, ledger } = await run(30, (id) => ({ email: `user${id}@example.com` }), { email: 'email', shoeSize: 'id' });
    expect(summary.counters).toMatchObject({ read: 30, delivered: 0, rejected: 30 });
    expect(server.stats.jobs).toBe(2);
    expect(ledger.entries[0]?.reason).toContain("Field 'shoeSize' not found");
  });
});
