/**
 * Fingerprint snapshots in the store, on both database targets: bytes in, the same bytes out, one row per
 * activation replaced whole; and the engine keeping its fingerprints there across runs.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestDatabase, forEachDatabase } from '../../test/support/databases.ts';
import { sequenceSource } from '../../test/support/sources.ts';
import { Snapshot, SnapshotBuilder, hash64, mergeSnapshot } from '../engine/fingerprints.ts';
import { MemoryLedger } from '../engine/ledger.ts';
import { runActivation } from '../engine/run.ts';
import { MemoryStateStore } from '../engine/state-store.ts';
import type { ActivationPlan } from '../engine/types.ts';
import type { JsonObject } from '../protocol/json.ts';
import { defineDestination } from '../sdk/destination.ts';
import { delivered } from '../sdk/outcome.ts';
import type { SourceDefinition } from '../sdk/source.ts';
import { z } from 'zod';
import { insertConfig } from './configs.ts';
import type { Database } from './db.ts';
import { StoreFingerprintStore, deleteFingerprints, loadFingerprints } from './fingerprints.ts';
import { migrate } from './migrations.ts';
import { claimRun, createRun, finishRun, getRun } from './runs.ts';

function snapshotOf(count: number, value = (id: number) => `v${id}`): Buffer {
  const builder = new SnapshotBuilder();
  const hash = new Uint32Array(2);
  for (let id = 1; id <= count; id++) {
    hash64(String(id), hash);
    const [high, low] = [hash[0]!, hash[1]!];
    hash64(value(id), hash);
    builder.add(high, low, hash[0]!, hash[1]!, String(id));
  }
  return mergeSnapshot(Snapshot.empty(), builder, { columns: { id: 'integer' } });
}

forEachDatabase((target) => {
  let tdb: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    tdb = await target.create();
    db = await tdb.open();
    await migrate(db);
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it('saves and loads a snapshot byte for byte, one row per activation, replaced whole', async () => {
    const store = new StoreFingerprintStore(db, 'a');
    expect(await store.load()).toBeUndefined();
    const big = snapshotOf(50_000);
    await store.save(big);
    const loaded = await store.load();
    expect(Buffer.isBuffer(loaded)).toBe(true);
    expect(loaded!.equals(big)).toBe(true);
    expect(Snapshot.decode(loaded!).count).toBe(50_000);
    const small = snapshotOf(3);
    await store.save(small);
    expect((await store.load())!.equals(small)).toBe(true);
    await new StoreFingerprintStore(db, 'b').save(big);
    expect((await loadFingerprints(db, 'a'))!.equals(small)).toBe(true);
    const { rows } = await db.query<{ n: number }>('select count(*)::int as n from sluice.fingerprints');
    expect(rows).toEqual([{ n: 2 }]);
    await deleteFingerprints(db, 'b');
    expect(await loadFingerprints(db, 'b')).toBeUndefined();
  });

  it('keeps the engine\'s fingerprints across runs: the second run sends only what changed', async () => {
    const sent: Array<{ id: unknown; op: string | undefined }> = [];
    const destination = defineDestination({
      id: 'sink',
      title: 'Sink',
      description: 'Collects records.',
      spec: z.strictObject({}),
      check: async () => ({ ok: true }),
      objects: {
        rows: {
          syncModes: ['upsert'],
          write: async (records) =>
            records.map((record) => {
              sent.push({ id: record.data.id, op: record.op });
              return delivered();
            }),
        },
      },
    });
    const plan = (extra?: (id: number) => JsonObject): ActivationPlan => ({
      name: 'sink_upsert',
      source: { definition: sequenceSource({ count: 100, fullRefresh: true, primaryKey: true, ...(extra ? { extra } : {}) }) as unknown as SourceDefinition, config: {} },
      destination: { definition: destination, config: {} },
      syncMode: 'upsert',
    });
    const options = () => ({ stateStore: new MemoryStateStore(), ledger: new MemoryLedger(), fingerprints: new StoreFingerprintStore(db, 'sink_upsert') });
    const first = await runActivation({ activation: plan(), ...options() });
    expect(first.counters).toMatchObject({ read: 100, delivered: 100 });
    sent.length = 0;
    const second = await runActivation({ activation: plan((id): JsonObject => (id % 25 === 0 ? { name: 'changed' } : {})), ...options() });
    expect(second.counters).toMatchObject({ read: 100, delivered: 4, unchanged: 96 });
    expect(sent.sort((a, b) => Number(a.id) - Number(b.id))).toEqual([25, 50, 75, 100].map((id) => ({ id, op: 'update' })));
  });

  it('stores a run\'s schema drift with its end', async () => {
    const config = await insertConfig(db, { label: `drift ${randomUUID()}`, value: { sources: {}, destinations: {}, activations: [] } });
    const created = await createRun(db, { id: randomUUID(), activation: 'drifting', configId: config.id, trigger: 'api', dryRun: false });
    expect(created.kind).toBe('created');
    const run = await claimRun(db, created.run.id, 'w1');
    expect(run?.drift).toBeNull();
    const drift = { added: ['email'], removed: [], changed: [{ column: 'id', from: 'integer', to: 'string' }] };
    const counters = { read: 1, delivered: 1, rejected: 0, unchanged: 0, deleted: 0, retried: 0, batches: 1 };
    await finishRun(db, created.run.id, 'w1', { status: 'succeeded', counters, unsettled: 0, drift });
    expect(await getRun(db, created.run.id)).toMatchObject({ drift, counters });
  });
});
