/**
 * The diff sync modes end to end: the engine with a sequence source, fingerprints in memory, and either the
 * real http destination against a real local receiver or a small in-test destination that keeps a table
 * (for mirror's deletes). What is sent, with which op, and what the next run sends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import http from '../connectors/destinations/http/index.ts';
import type { JsonObject } from '../protocol/json.ts';
import { type OutgoingRecord, type OutgoingStream, defineDestination } from '../sdk/destination.ts';
import { delivered, rejected } from '../sdk/outcome.ts';
import type { SourceDefinition } from '../sdk/source.ts';
import { type Receiver, type Respond, accept, startReceiver } from '../../test/support/receiver.ts';
import { type SequenceSourceOptions, sequenceSource } from '../../test/support/sources.ts';
import { MemoryFingerprintStore, Snapshot } from './fingerprints.ts';
import { MemoryLedger } from './ledger.ts';
import { runActivation } from './run.ts';
import { MemoryStateStore } from './state-store.ts';
import type { ActivationPlan, RunOptions, RunSummary } from './types.ts';

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function receiver(respond: Respond = accept): Promise<Receiver> {
  const started = await startReceiver(respond);
  receivers.push(started);
  return started;
}

/** Full-refresh source of `count` items keyed by id (every run reads everything). */
function items(count: number, options: Partial<SequenceSourceOptions> = {}): SourceDefinition {
  return sequenceSource({ count, fullRefresh: true, primaryKey: true, ...options }) as unknown as SourceDefinition;
}

function toHttp(url: string, source: SourceDefinition, extra: Partial<ActivationPlan> = {}, settings: Record<string, unknown> = {}): ActivationPlan {
  return {
    name: 'items_to_api',
    source: { definition: source, config: {} },
    destination: { definition: http, config: http.spec.parse({ url, batch_size: 50, max_wait_ms: 20, op_field: '_op', ...settings }) },
    syncMode: 'upsert',
    retry: { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 2 },
    ...extra,
  };
}

function run(activation: ActivationPlan, fingerprints: MemoryFingerprintStore | undefined, options: Partial<RunOptions> = {}): Promise<RunSummary> {
  return runActivation({
    activation,
    stateStore: new MemoryStateStore(),
    ledger: new MemoryLedger(),
    ...(fingerprints === undefined ? {} : { fingerprints }),
    ...options,
  });
}

/** What the receiver got from request `from` on: `[id, op]` pairs, sorted by id. */
function received(target: Receiver, from = 0): Array<[unknown, unknown]> {
  return target.requests
    .slice(from)
    .flatMap((request) => request.records.map((record): [unknown, unknown] => [record.id, record._op]))
    .sort((a, b) => Number(a[0]) - Number(b[0]));
}

function expectCountersAddUp(summary: RunSummary): void {
  const { read, delivered: sent, rejected: refused, unchanged } = summary.counters;
  expect(read).toBe(sent + refused + unchanged + summary.unsettled);
}

/** A table behind a destination that supports mirror: keyed by `user_id`, ops applied as they come. */
function tableDestination(options: { refuse?: (record: OutgoingRecord) => boolean } = {}) {
  const table = new Map<number, JsonObject>();
  const writes: Array<{ op: string | undefined; data: JsonObject }> = [];
  const streams: OutgoingStream[] = [];
  const definition = defineDestination({
    id: 'table',
    title: 'Table',
    description: 'An in-memory table for tests.',
    spec: z.strictObject({}),
    check: async () => ({ ok: true }),
    objects: {
      rows: {
        syncModes: ['mirror', 'upsert', 'insert', 'update', 'all', 'append'],
        batch: { maxRecords: 10, maxWaitMs: 10 },
        async write(records, ctx) {
          streams.push(ctx.stream);
          return records.map((record) => {
            if (options.refuse?.(record) === true) return rejected('refused by the test');
            writes.push({ op: record.op, data: record.data });
            const key = Number(record.data.user_id);
            if (record.op === 'delete') table.delete(key);
            else table.set(key, record.data);
            return delivered();
          });
        },
      },
    },
  });
  return { definition, table, writes, streams };
}

function toTable(definition: ReturnType<typeof tableDestination>['definition'], source: SourceDefinition, extra: Partial<ActivationPlan> = {}): ActivationPlan {
  return {
    name: 'items_to_table',
    source: { definition: source, config: {} },
    destination: { definition, config: {} },
    mapping: { user_id: 'id', label: 'name' },
    syncMode: 'mirror',
    ...extra,
  };
}

describe('upsert against a real HTTP receiver', () => {
  it('sends everything first, then exactly the changed and new rows, then nothing', async () => {
    const target = await receiver();
    const fingerprints = new MemoryFingerprintStore();
    const first = await run(toHttp(target.url, items(20)), fingerprints);
    expect(first.status).toBe('succeeded');
    expect(first.counters).toMatchObject({ read: 20, delivered: 20, unchanged: 0, rejected: 0 });
    expect(received(target)).toEqual(Array.from({ length: 20 }, (_, index) => [index + 1, 'create']));
    expect(Snapshot.decode(fingerprints.snapshot!).count).toBe(20);

    const changed = new Set([3, 7, 11]);
    const before = target.requests.length;
    const second = await run(toHttp(target.url, items(22, { extra: (id): JsonObject => (changed.has(id) ? { name: `renamed ${id}` } : {}) })), fingerprints);
    expect(second.status).toBe('succeeded');
    expect(second.counters).toMatchObject({ read: 22, delivered: 5, unchanged: 17, rejected: 0 });
    expectCountersAddUp(second);
    expect(received(target, before)).toEqual([
      [3, 'update'],
      [7, 'update'],
      [11, 'update'],
      [21, 'create'],
      [22, 'create'],
    ]);
    const body = target.requests.slice(before).flatMap((request) => request.records).find((record) => record.id === 3);
    expect(body).toEqual({ _op: 'update', id: 3, name: 'renamed 3' });

    const third = before + (target.requests.length - before);
    const again = await run(toHttp(target.url, items(22, { extra: (id): JsonObject => (changed.has(id) ? { name: `renamed ${id}` } : {}) })), fingerprints);
    expect(again.counters).toMatchObject({ read: 22, delivered: 0, unchanged: 22 });
    expect(target.requests.length).toBe(third);
  });

  it('sends a row the receiver rejected again on the next run', async () => {
    let refuse = true;
    const target = await receiver((request, index, res) => {
      if (refuse && request.records.some((record) => record.id === 5)) res.writeHead(400).end('bad row');
      else accept(request, index, res, undefined as never);
    });
    const fingerprints = new MemoryFingerprintStore();
    const first = await run(toHttp(target.url, items(10), {}, { batch_size: 1 }), fingerprints);
    expect(first.counters).toMatchObject({ read: 10, delivered: 9, rejected: 1 });
    refuse = false;
    const before = target.requests.length;
    const second = await run(toHttp(target.url, items(10), {}, { batch_size: 1 }), fingerprints);
    expect(second.counters).toMatchObject({ read: 10, delivered: 1, unchanged: 9, rejected: 0 });
    expect(received(target, before)).toEqual([[5, 'create']]);
  });

  it('keeps what a failed run delivered: the next run sends only the rest', async () => {
    let requests = 0;
    const target = await receiver((request, index, res) => {
      requests++;
      if (requests > 2) res.writeHead(401).end('no');
      else accept(request, index, res, undefined as never);
    });
    const fingerprints = new MemoryFingerprintStore();
    const first = await run(toHttp(target.url, items(100), {}, { batch_size: 10, concurrency: 1 }), fingerprints);
    expect(first.status).toBe('failed');
    expect(first.counters.delivered).toBe(20);
    requests = -1000;
    const before = target.requests.length;
    const second = await run(toHttp(target.url, items(100), {}, { batch_size: 10, concurrency: 1 }), fingerprints);
    expect(second.status).toBe('succeeded');
    expect(second.counters).toMatchObject({ delivered: 80, unchanged: 20 });
    expect(received(target, before).map(([id]) => id)).toEqual(Array.from({ length: 80 }, (_, index) => index + 21));
  });

  it('without a fingerprint store, sends every record with no op (protocol targets)', async () => {
    const target = await receiver();
    for (let round = 0; round < 2; round++) {
      const summary = await run(toHttp(target.url, items(5)), undefined);
      expect(summary.counters).toMatchObject({ read: 5, delivered: 5, unchanged: 0 });
    }
    expect(received(target).map(([, op]) => op)).toEqual(Array(10).fill(undefined));
  });

  it('fails with a config error naming the activation when the mode has no primary key', async () => {
    const target = await receiver();
    const summary = await run(toHttp(target.url, items(5, { primaryKey: false })), new MemoryFingerprintStore());
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/CONFIG_INVALID: activation items_to_api: sync mode upsert .* set primary_key on the activation/);
    const keyed = await run(toHttp(target.url, items(5, { primaryKey: false }), { primaryKey: ['id'] }), new MemoryFingerprintStore());
    expect(keyed.counters).toMatchObject({ read: 5, delivered: 5 });
  });

  it('rejects a record whose key is missing, naming the key', async () => {
    const target = await receiver();
    const summary = await run(toHttp(target.url, items(4), { primaryKey: ['code'] }), new MemoryFingerprintStore());
    expect(summary.counters).toMatchObject({ read: 4, delivered: 0, rejected: 4 });
  });
});

describe('insert, update and all', () => {
  async function base(target: Receiver): Promise<Buffer> {
    const fingerprints = new MemoryFingerprintStore();
    await run(toHttp(target.url, items(10)), fingerprints);
    return fingerprints.snapshot!;
  }
  // Against the base: id 2 changed, id 11 new.
  const next = () => items(11, { extra: (id): JsonObject => (id === 2 ? { name: 'two' } : {}) });

  it('insert sends only new keys, and keeps the changed key for a later mode', async () => {
    const target = await receiver();
    const fingerprints = new MemoryFingerprintStore(await base(target));
    const before = target.requests.length;
    const summary = await run(toHttp(target.url, next(), { syncMode: 'insert' }), fingerprints);
    expect(summary.counters).toMatchObject({ read: 11, delivered: 1, unchanged: 10 });
    expect(received(target, before)).toEqual([[11, 'create']]);
    // The change insert did not send is still a change.
    const later = target.requests.length;
    await run(toHttp(target.url, next(), { syncMode: 'upsert' }), fingerprints);
    expect(received(target, later)).toEqual([[2, 'update']]);
  });

  it('update sends only changed keys', async () => {
    const target = await receiver();
    const fingerprints = new MemoryFingerprintStore(await base(target));
    const before = target.requests.length;
    const summary = await run(toHttp(target.url, next(), { syncMode: 'update' }), fingerprints);
    expect(summary.counters).toMatchObject({ read: 11, delivered: 1, unchanged: 10 });
    expect(received(target, before)).toEqual([[2, 'update']]);
  });

  it('all sends everything, new keys as creates', async () => {
    const target = await receiver();
    const fingerprints = new MemoryFingerprintStore(await base(target));
    const before = target.requests.length;
    const summary = await run(toHttp(target.url, next(), { syncMode: 'all' }), fingerprints);
    expect(summary.counters).toMatchObject({ read: 11, delivered: 11, unchanged: 0 });
    const ops = received(target, before);
    expect(ops).toHaveLength(11);
    expect(ops.filter(([, op]) => op === 'create')).toEqual([[11, 'create']]);
    // The plan of `all` counts what really changed.
    const dry = await run(toHttp(target.url, next(), { syncMode: 'all' }), fingerprints, { dryRun: true });
    expect(dry.plan).toMatchObject({ records: 11, creates: 0, updates: 0, unchanged: 11 });
  });
});

describe('mirror', () => {
  it('deletes keys that vanished from the source, by their mapped key fields, and only once', async () => {
    const { definition, table, writes, streams } = tableDestination();
    const fingerprints = new MemoryFingerprintStore();
    const first = await run(toTable(definition, items(10)), fingerprints);
    expect(first.status).toBe('succeeded');
    expect(table.size).toBe(10);
    expect(table.get(1)).toEqual({ user_id: 1, label: 'item 1' });
    expect(streams[0]).toMatchObject({ name: 'items', primaryKey: ['user_id'] });

    writes.length = 0;
    const gone = new Set([3, 4]);
    const second = await run(toTable(definition, items(10, { skip: (id) => gone.has(id), extra: (id): JsonObject => (id === 5 ? { name: 'five' } : {}) })), fingerprints);
    expect(second.status).toBe('succeeded');
    expect(second.counters).toMatchObject({ read: 8, delivered: 1, unchanged: 7, deleted: 2, rejected: 0 });
    expect(writes).toEqual([
      { op: 'update', data: { user_id: 5, label: 'five' } },
      { op: 'delete', data: { user_id: 3 } },
      { op: 'delete', data: { user_id: 4 } },
    ]);
    expect([...table.keys()].sort((a, b) => a - b)).toEqual([1, 2, 5, 6, 7, 8, 9, 10]);
    expect(Snapshot.decode(fingerprints.snapshot!).count).toBe(8);

    writes.length = 0;
    const third = await run(toTable(definition, items(10, { skip: (id) => gone.has(id), extra: (id): JsonObject => (id === 5 ? { name: 'five' } : {}) })), fingerprints);
    expect(third.counters).toMatchObject({ read: 8, delivered: 0, unchanged: 8, deleted: 0 });
    expect(writes).toEqual([]);
  });

  it('sends a refused delete again next run', async () => {
    let refuseDeletes = true;
    const { definition, table } = tableDestination({ refuse: (record) => refuseDeletes && record.op === 'delete' });
    const fingerprints = new MemoryFingerprintStore();
    await run(toTable(definition, items(5)), fingerprints);
    const first = await run(toTable(definition, items(5, { skip: (id) => id === 2 })), fingerprints);
    expect(first.counters).toMatchObject({ read: 4, unchanged: 4, deleted: 0, rejected: 1 });
    expect(table.has(2)).toBe(true);
    refuseDeletes = false;
    const second = await run(toTable(definition, items(5, { skip: (id) => id === 2 })), fingerprints);
    expect(second.counters).toMatchObject({ deleted: 1, rejected: 0 });
    expect(table.has(2)).toBe(false);
  });

  it('reads the source in full (no cursor), and sends no deletes when a record had no key', async () => {
    const { definition, table } = tableDestination();
    const fingerprints = new MemoryFingerprintStore();
    const state = new MemoryStateStore({ bookmarks: { items: { last_id: 8 } } });
    // An incremental source would resume after 8; mirror reads everything.
    await run(toTable(definition, sequenceSource({ count: 10, primaryKey: true }) as unknown as SourceDefinition), fingerprints, { stateStore: state });
    expect(table.size).toBe(10);
    const keyless = items(10, { skip: (id) => id === 9, extra: (id): JsonObject => (id === 10 ? { id: null } : {}) });
    const summary = await run(toTable(definition, keyless), fingerprints);
    expect(summary.counters).toMatchObject({ read: 9, rejected: 1, deleted: 0 });
    expect(table.size).toBe(10);
  });

  it('needs the key fields in the mapping', async () => {
    const { definition } = tableDestination();
    const summary = await run(toTable(definition, items(3), { mapping: { label: 'name' } }), new MemoryFingerprintStore());
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/mirror sends deletes by primary key, so the mapping must map the key field\(s\) id/);
  });
});

describe('dry run', () => {
  it('reports creates, updates, deletes and unchanged with samples of each, and sends and saves nothing', async () => {
    const { definition, writes } = tableDestination();
    const fingerprints = new MemoryFingerprintStore();
    await run(toTable(definition, items(10)), fingerprints);
    const saved = fingerprints.snapshot;
    writes.length = 0;
    const source = items(14, { skip: (id) => id <= 2, extra: (id): JsonObject => (id >= 3 && id <= 7 ? { name: `new ${id}` } : {}) });
    const summary = await run(toTable(definition, source), fingerprints, { dryRun: true });
    expect(summary.status).toBe('succeeded');
    expect(summary.plan).toMatchObject({ syncMode: 'mirror', records: 11, creates: 4, updates: 5, deletes: 2, unchanged: 3 });
    expect(summary.plan!.samplesByKind.creates).toEqual([
      { user_id: 11, label: 'item 11' },
      { user_id: 12, label: 'item 12' },
      { user_id: 13, label: 'item 13' },
    ]);
    expect(summary.plan!.samplesByKind.updates).toEqual([
      { user_id: 3, label: 'new 3' },
      { user_id: 4, label: 'new 4' },
      { user_id: 5, label: 'new 5' },
    ]);
    expect([...summary.plan!.samplesByKind.deletes].map((data) => data.user_id).sort()).toEqual([1, 2]);
    expect(summary.plan!.samples).toHaveLength(3);
    expect(writes).toEqual([]);
    expect(fingerprints.snapshot).toBe(saved);
  });
});

describe('max_change_ratio', () => {
  const changedSource = (count: number, changed: number) => items(count, { extra: (id): JsonObject => (id <= changed ? { name: `changed ${id}` } : {}) });

  it('stops a run whose plan is over the limit before sending, and --force overrides it', async () => {
    const target = await receiver();
    const fingerprints = new MemoryFingerprintStore();
    // The first run has nothing to compare with: no guard.
    const first = await run(toHttp(target.url, items(100), { maxChangeRatio: 0.2 }), fingerprints);
    expect(first.counters.delivered).toBe(100);
    const before = target.requests.length;
    const saved = fingerprints.snapshot;
    const stopped = await run(toHttp(target.url, changedSource(100, 30), { maxChangeRatio: 0.2 }), fingerprints);
    expect(stopped.status).toBe('failed');
    expect(stopped.error).toBe(
      'CHANGE_LIMIT: plan changes 30.0% of 100 rows (creates 0, updates 30, deletes 0), over max_change_ratio 0.2; run with a higher limit or --force',
    );
    expect(stopped.counters).toMatchObject({ read: 0, delivered: 0 });
    expect(stopped.plan).toMatchObject({ updates: 30, unchanged: 70 });
    expect(target.requests.length).toBe(before);
    expect(fingerprints.snapshot).toBe(saved);

    const forced = await run(toHttp(target.url, changedSource(100, 30), { maxChangeRatio: 0.2 }), fingerprints, { force: true });
    expect(forced.status).toBe('succeeded');
    expect(forced.counters).toMatchObject({ read: 100, delivered: 30, unchanged: 70 });
  });

  it('lets a plan under the limit run (reading the source twice)', async () => {
    const target = await receiver();
    const fingerprints = new MemoryFingerprintStore();
    await run(toHttp(target.url, items(100)), fingerprints);
    const before = target.requests.length;
    const summary = await run(toHttp(target.url, changedSource(100, 10), { maxChangeRatio: 0.2 }), fingerprints);
    expect(summary.status).toBe('succeeded');
    expect(summary.counters).toMatchObject({ read: 100, delivered: 10, unchanged: 90 });
    expect(received(target, before)).toHaveLength(10);
  });
});

describe('schema drift', () => {
  const v1 = { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } };
  const v2 = { type: 'object', properties: { id: { type: 'string' }, email: { type: ['string', 'null'] } } };

  it('is recorded on the run and the run goes on (continue)', async () => {
    const target = await receiver();
    const fingerprints = new MemoryFingerprintStore();
    const first = await run(toHttp(target.url, items(3, { schema: v1 })), fingerprints);
    expect(first.drift).toBeUndefined();
    const second = await run(toHttp(target.url, items(3, { schema: v2 })), fingerprints);
    expect(second.status).toBe('succeeded');
    expect(second.drift).toEqual({ added: ['email'], removed: ['name'], changed: [{ column: 'id', from: 'integer', to: 'string' }] });
    // The new schema is saved: the next run finds no drift.
    const third = await run(toHttp(target.url, items(3, { schema: v2 })), fingerprints);
    expect(third.drift).toBeUndefined();
  });

  it('stops the run before reading under on_schema_change: fail, until forced', async () => {
    const target = await receiver();
    const fingerprints = new MemoryFingerprintStore();
    await run(toHttp(target.url, items(3, { schema: v1 })), fingerprints);
    const before = target.requests.length;
    const failed = await run(toHttp(target.url, items(4, { schema: v2 }), { onSchemaChange: 'fail' }), fingerprints);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^SCHEMA_CHANGED: activation items_to_api: the source stream items changed \(added: email; removed: name; changed: id integer → string\)/);
    expect(failed.drift).toBeDefined();
    expect(failed.counters.read).toBe(0);
    expect(target.requests.length).toBe(before);
    // Still drifted: the failed run saved nothing.
    expect((await run(toHttp(target.url, items(4, { schema: v2 }), { onSchemaChange: 'fail' }), fingerprints)).status).toBe('failed');
    const forced = await run(toHttp(target.url, items(4, { schema: v2 }), { onSchemaChange: 'fail' }), fingerprints, { force: true });
    expect(forced.status).toBe('succeeded');
    expect(forced.counters.delivered).toBe(1);
    expect((await run(toHttp(target.url, items(4, { schema: v2 }), { onSchemaChange: 'fail' }), fingerprints)).status).toBe('succeeded');
  });

  it('is detected in append mode too, without fingerprints of records', async () => {
    const { definition } = tableDestination();
    const fingerprints = new MemoryFingerprintStore();
    const plan = (schema: JsonObject) => toTable(definition, items(2, { schema }), { syncMode: 'append', onSchemaChange: 'fail' });
    await run(plan(v1), fingerprints);
    expect(Snapshot.decode(fingerprints.snapshot!).count).toBe(0);
    const summary = await run(plan(v2), fingerprints);
    expect(summary.status).toBe('failed');
    expect(summary.drift?.added).toEqual(['email']);
  });
});

describe('the stream a destination is told about', () => {
  it('is the source schema pushed through the mapping, with the key renamed', async () => {
    const { definition, streams } = tableDestination();
    const schema = { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string', format: 'email' } } };
    await run(
      toTable(definition, items(1, { schema }), {
        syncMode: 'upsert',
        mapping: { user_id: 'id', 'profile.label': { path: 'name' }, channel: { const: 'web' }, rank: { const: 1.5 }, greeting: { template: 'hi {{name}}' } },
      }),
      new MemoryFingerprintStore(),
    );
    expect(streams[0]).toEqual({
      name: 'items',
      primaryKey: ['user_id'],
      jsonSchema: {
        type: 'object',
        properties: {
          user_id: { type: 'integer' },
          profile: { type: 'object', properties: { label: { type: 'string', format: 'email' } } },
          channel: { type: 'string' },
          rank: { type: 'number' },
          greeting: { type: 'string' },
        },
      },
    });
  });

  it('is the source stream itself without a mapping', async () => {
    const { definition, streams } = tableDestination();
    const schema = { type: 'object', properties: { user_id: { type: 'integer' } } };
    await run(toTable(definition, items(1, { schema }), { syncMode: 'append', mapping: undefined, primaryKey: ['user_id'] }), undefined);
    expect(streams[0]).toEqual({ name: 'items', jsonSchema: schema, primaryKey: ['user_id'] });
  });
});
