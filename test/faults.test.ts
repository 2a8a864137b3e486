/**
 * Fault injection, end to end: the engine with the real http destination against a real local server
 * that misbehaves. Whatever happens, every record ends delivered exactly once (per idempotency key) or
 * rejected with a reason, the counters add up, and state never passes an unsettled record.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from '../src/connectors/destinations/http/index.ts';
import { MemoryLedger } from '../src/engine/ledger.ts';
import { runActivation } from '../src/engine/run.ts';
import { MemoryStateStore, type StateStore } from '../src/engine/state-store.ts';
import type { ActivationPlan } from '../src/engine/types.ts';
import type { State } from '../src/sdk/source.ts';
import { type Receiver, type Respond, accept, startReceiver } from './support/receiver.ts';
import { sequenceSource } from './support/sources.ts';

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function receiver(respond: Respond = accept): Promise<Receiver> {
  const started = await startReceiver(respond);
  receivers.push(started);
  return started;
}

function plan(url: string, count: number, settings: Record<string, unknown> = {}, extra: Partial<ActivationPlan> = {}): ActivationPlan {
  return {
    name: 'faults',
    source: { definition: sequenceSource({ count, stateEvery: 50 }), config: {} },
    destination: { definition: http, config: http.spec.parse({ url, batch_size: 20, max_wait_ms: 50, ...settings }) },
    retry: { baseDelayMs: 20, maxDelayMs: 200 },
    ...extra,
  };
}

function expectExactlyOnce(target: Receiver, count: number): void {
  const ids = target.acceptedIds() as number[];
  expect(ids.length).toBe(count);
  expect(new Set(ids).size).toBe(count);
}

/** A state store that checks, at every save, that the saved bookmark covers only accepted records. */
function auditedStore(target: Receiver): StateStore & { saves: State[] } {
  const store = new MemoryStateStore();
  const saves: State[] = [];
  return {
    saves,
    load: () => store.load(),
    async save(state) {
      const lastId = (state.bookmarks?.items as { last_id: number }).last_id;
      const accepted = new Set(target.acceptedIds() as number[]);
      for (let id = 1; id <= lastId; id++) expect(accepted.has(id), `state ${lastId} saved before record ${id} was delivered`).toBe(true);
      saves.push(state);
      await store.save(state);
    },
  };
}

describe('fault injection', () => {
  it('waits out a 429 Retry-After before sending any request, then delivers everything once', async () => {
    let pausedAt = 0;
    const target = await receiver((_request, index, res) => {
      if (index === 2) {
        pausedAt = Date.now();
        res.writeHead(429, { 'retry-after': '2' }).end('slow down');
      } else accept(_request, index, res, undefined as never);
    });
    const ledger = new MemoryLedger();
    const summary = await runActivation({ activation: plan(target.url, 200), stateStore: new MemoryStateStore(), ledger });
    expect(summary.status).toBe('succeeded');
    expectExactlyOnce(target, 200);
    const during = target.requests.filter((request) => request.at > pausedAt && request.at < pausedAt + 1900);
    // Requests already admitted when the 429 came may land just after it; nothing new starts in the pause.
    expect(during.length).toBeLessThanOrEqual(4); // concurrency 4: at most the requests already admitted
    expect(target.requests.some((request) => request.at >= pausedAt + 1900)).toBe(true);
    expect(summary.counters.retried).toBeGreaterThanOrEqual(20);
  });

  it('rides out 503 bursts with every record delivered exactly once and state only over delivered records', async () => {
    const target = await receiver((request, index, res) => {
      if (index % 5 < 2) res.writeHead(503).end('busy');
      else accept(request, index, res, undefined as never);
    });
    const store = auditedStore(target);
    const summary = await runActivation({ activation: plan(target.url, 500), stateStore: store, ledger: new MemoryLedger() });
    expect(summary.status).toBe('succeeded');
    expectExactlyOnce(target, 500);
    expect(summary.counters).toMatchObject({ read: 500, delivered: 500, rejected: 0 });
    expect(store.saves.at(-1)).toEqual({ bookmarks: { items: { last_id: 500 } } });
  });

  it('retries slow responses that time out; a receiver dropping repeats by Idempotency-Key sees each record once', async () => {
    const target = await receiver(async (request, index, res) => {
      if (index % 4 === 1) await new Promise((resolve) => setTimeout(resolve, 2500));
      if (!res.destroyed) accept(request, index, res, undefined as never);
    });
    const summary = await runActivation({ activation: plan(target.url, 200, { timeout_ms: 500 }), stateStore: new MemoryStateStore(), ledger: new MemoryLedger() });
    expect(summary.status).toBe('succeeded');
    expect(summary.counters.retried).toBeGreaterThan(0);
    expectExactlyOnce(target, 200);
    // Repeats carry the key of the request they repeat.
    const keys = target.requests.map((request) => request.key);
    expect(new Set(keys).size).toBeLessThan(keys.length);
  });

  it('retries connection resets', async () => {
    const target = await receiver((request, index, res, req) => {
      if (index % 3 === 0) req.socket.destroy();
      else accept(request, index, res, req);
    });
    const summary = await runActivation({ activation: plan(target.url, 300), stateStore: new MemoryStateStore(), ledger: new MemoryLedger() });
    expect(summary.status).toBe('succeeded');
    expectExactlyOnce(target, 300);
  });

  it('rejects records the destination refuses with 400, quoting its answer, and delivers the rest', async () => {
    const target = await receiver((request, index, res) => {
      if (request.records.some((record) => record.id === 42)) res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"id 42 is banned"}');
      else accept(request, index, res, undefined as never);
    });
    const ledger = new MemoryLedger();
    const summary = await runActivation({ activation: plan(target.url, 100), stateStore: new MemoryStateStore(), ledger });
    expect(summary.counters).toMatchObject({ read: 100, delivered: 80, rejected: 20 });
    expect(ledger.entries).toHaveLength(20);
    expect(ledger.entries[0]).toMatchObject({ code: 'DESTINATION_REJECTED', attempts: 1 });
    expect(ledger.entries[0]!.reason).toContain('id 42 is banned');
    expect(ledger.entries.map((entry) => (entry.record as { id: number }).id)).toContain(42);
  });

  it('rejects with the last reason when retries run out', async () => {
    const target = await receiver((_request, _index, res) => {
      res.writeHead(502).end('bad gateway');
    });
    const ledger = new MemoryLedger();
    const summary = await runActivation({
      activation: plan(target.url, 30, {}, { retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 } }),
      stateStore: new MemoryStateStore(),
      ledger,
    });
    expect(summary.counters).toMatchObject({ read: 30, delivered: 0, rejected: 30 });
    expect(ledger.entries[0]).toMatchObject({ code: 'RETRIES_EXHAUSTED', attempts: 3 });
    expect(ledger.entries[0]!.reason).toMatch(/HTTP 502: bad gateway \(gave up after 3 attempts\)/);
    expect(target.requests.length).toBe(6); // 2 batches × 3 attempts
  });

  it('fails the run on 401 without losing records: state stays behind them', async () => {
    const target = await receiver((request, index, res) => {
      if (index >= 3) res.writeHead(401).end('bad key');
      else accept(request, index, res, undefined as never);
    });
    const store = auditedStore(target);
    const summary = await runActivation({
      activation: plan(target.url, 400, { headers: { authorization: 'Bearer canary-secret-123' }, concurrency: 1 }),
      stateStore: store,
      ledger: new MemoryLedger(),
    });
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/AUTH_REFUSED/);
    expect(summary.error).not.toContain('canary-secret-123');
    expect(summary.counters.delivered).toBe(60);
    expect(summary.counters.rejected).toBe(0);
    expect(store.saves.at(-1)).toEqual({ bookmarks: { items: { last_id: 50 } } });
  });

  it('interrupted runs stop early, save state over settled records, and the next run delivers the rest', async () => {
    const target = await receiver();
    const store = new MemoryStateStore();
    const controller = new AbortController();
    const activation: ActivationPlan = {
      ...plan(target.url, 2000),
      source: { definition: sequenceSource({ count: 2000, stateEvery: 50, delayEvery: 100, delayMs: 20 }), config: {} },
    };
    setTimeout(() => controller.abort(), 150);
    const first = await runActivation({ activation, stateStore: store, ledger: new MemoryLedger(), signal: controller.signal });
    expect(first.status).toBe('interrupted');
    expect(first.counters.read).toBeLessThan(2000);
    expect(first.counters.read).toBe(first.counters.delivered + first.counters.rejected + first.unsettled);
    const second = await runActivation({ activation, stateStore: store, ledger: new MemoryLedger() });
    expect(second.status).toBe('succeeded');
    const ids = new Set(target.acceptedIds() as number[]);
    for (let id = 1; id <= 2000; id++) expect(ids.has(id)).toBe(true);
  });

  it('keeps to the rate limit', async () => {
    const target = await receiver();
    const summary = await runActivation({
      activation: plan(target.url, 300, { rate_limit: 10, batch_size: 10 }),
      stateStore: new MemoryStateStore(),
      ledger: new MemoryLedger(),
    });
    expect(summary.counters.batches).toBe(30);
    // A burst of 10, then 20 more at 10/s: at least ~2 s.
    const span = target.requests.at(-1)!.at - target.requests[0]!.at;
    expect(span).toBeGreaterThanOrEqual(1800);
  });

  it('dry run sends nothing, reports the plan with three samples and saves no state', async () => {
    const target = await receiver();
    const store = new MemoryStateStore();
    const summary = await runActivation({ activation: plan(target.url, 45), stateStore: store, ledger: new MemoryLedger(), dryRun: true });
    expect(target.requests).toHaveLength(0);
    expect(summary.plan).toMatchObject({ object: 'records', records: 45, batches: 3 });
    expect(summary.plan!.samples).toEqual([
      { id: 1, name: 'item 1' },
      { id: 2, name: 'item 2' },
      { id: 3, name: 'item 3' },
    ]);
    expect(store.state).toBeUndefined();
  });

  it('survives a 30 s outage: nothing is lost, everything arrives once the server is back', { timeout: 90_000 }, async () => {
    const first = await receiver();
    const port = first.port;
    const url = first.url;
    await first.close();
    receivers.splice(receivers.indexOf(first), 1);
    const outageEnds = Date.now() + 30_000;
    let revived: Receiver | undefined;
    const revive = setTimeout(async () => {
      revived = await startReceiver(accept, port);
      receivers.push(revived);
    }, 30_000);
    try {
      const summary = await runActivation({
        activation: plan(url, 200, {}, { retry: { maxAttempts: 60, baseDelayMs: 200, maxDelayMs: 2000 } }),
        stateStore: new MemoryStateStore(),
        ledger: new MemoryLedger(),
      });
      expect(Date.now()).toBeGreaterThanOrEqual(outageEnds);
      expect(summary.status).toBe('succeeded');
      expect(summary.counters).toMatchObject({ read: 200, delivered: 200, rejected: 0 });
      expectExactlyOnce(revived!, 200);
    } finally {
      clearTimeout(revive);
    }
  });
});
