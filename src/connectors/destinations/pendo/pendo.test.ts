/**
 * The pendo destination against the local mock of Pendo's metadata API (mock-pendo.ts) and, for what the
 * mock cannot answer (5xx, unreadable bodies), small loopback servers: request shape, per-record outcomes,
 * 408 and 429 retried through the real engine, refused keys, check() and the spec. No mocked fetch anywhere.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLedger } from '../../../engine/ledger.ts';
import { runActivation } from '../../../engine/run.ts';
import { MemoryStateStore } from '../../../engine/state-store.ts';
import type { Mapping } from '../../../engine/mapping.ts';
import { stringifyJson } from '../../../protocol/json.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import { defaultContext } from '../../../sdk/context.ts';
import { resolvePerConfig } from '../../../sdk/destination.ts';
import type { OutgoingRecord, StreamingObject } from '../../../sdk/destination.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import { sequenceSource } from '../../../../test/support/sources.ts';
import type { PendoClient } from './client.ts';
import pendo from './index.ts';
import { type MockPendo, type MockPendoOptions, startMockPendo } from './mock-pendo.ts';
import type { PendoConfig } from './spec.ts';

const KEY = 'pendo-test-key-3f9a1c0e-77d2-4b51';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function mock(options: MockPendoOptions = {}): Promise<MockPendo> {
  const server = await startMockPendo({ integrationKey: KEY, customFields: { visitor: { plan: 'string', seats: 'number', name: 'string' }, account: { tier: 'string' } }, ...options });
  closers.push(() => server.close());
  return server;
}

function config(input: Record<string, unknown>): PendoConfig {
  const parsed = parseConfig(pendo.spec, { integration_key: KEY, ...input });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

function object(name: 'visitor' | 'account'): StreamingObject<PendoConfig, PendoClient> {
  return pendo.objects[name] as StreamingObject<PendoConfig, PendoClient>;
}

function outgoing(...rows: JsonObject[]): OutgoingRecord[] {
  return rows.map((data) => ({ stream: 'test', data, json: stringifyJson(data) }));
}

/** Open a session, write one batch, close: the calls the engine makes, in its order. */
async function writeOnce(input: Record<string, unknown>, records: readonly OutgoingRecord[], kind: 'visitor' | 'account' = 'visitor') {
  const cfg = config(input);
  const base = defaultContext();
  const session = await pendo.open!(cfg, base);
  try {
    return await object(kind).write(records, {
      ...base,
      config: cfg,
      session,
      object: kind,
      syncMode: 'upsert',
      idempotencyKey: 'run-1:batch-1',
      attempt: 1,
      stream: { name: 'test', jsonSchema: { type: 'object' } },
    });
  } finally {
    await pendo.close!(session, base, { complete: true });
  }
}

/** A loopback server answering every request with `handler`. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 100, maxElapsedMs: 20_000 };

/** The engine, end to end: a numbered source of `count` records, mapped to Pendo visitors, into `input`. */
async function runToPendo(input: Record<string, unknown>, count: number, mapping: Mapping = { visitorId: { template: 'visitor-{{id}}' }, name: 'name' }) {
  const ledger = new MemoryLedger();
  const stateStore = new MemoryStateStore();
  const summary = await runActivation({
    activation: {
      name: 'users_to_pendo',
      source: { definition: sequenceSource({ count, stateEvery: 5 }), config: {} },
      destination: { definition: pendo, config: config(input), object: 'visitor' },
      mapping,
      retry: FAST_RETRY,
    },
    stateStore,
    ledger,
  });
  return { summary, ledger, stateStore };
}

describe('pendo destination: requests', () => {
  it('posts a JSON array of {visitorId, values} with the key header, every non-id field a value, numbers exact', async () => {
    const server = await mock({ visitors: ['v1', 'v2'] });
    const outcomes = await writeOnce({ base_url: server.url }, outgoing({ visitorId: 'v1', plan: 'pro', seats: 12 }, { visitorId: 'v2', plan: 'free', seats: 12345678901234567890n }));
    expect(server.calls).toHaveLength(1);
    const [call] = server.calls;
    expect(call).toMatchObject({ method: 'POST', path: '/api/v1/metadata/visitor/custom/value', contentType: 'application/json', records: 2 });
    expect(server.lastBody).toBe('[{"visitorId":"v1","values":{"plan":"pro","seats":12}},{"visitorId":"v2","values":{"plan":"free","seats":12345678901234567890}}]');
    expect(outcomes).toEqual([{ status: 'delivered' }, { status: 'delivered' }]);
    expect(server.valuesOf('visitor', 'v1')?.custom).toEqual({ plan: 'pro', seats: 12 });
  });

  it('writes accounts by accountId, agent fields to the agent group, integer ids as text', async () => {
    const server = await mock({ accounts: ['42'] });
    const outcomes = await writeOnce({ base_url: server.url, group: 'agent' }, outgoing({ accountId: 42, region_name: 'EMEA' }), 'account');
    expect(server.calls[0]?.path).toBe('/api/v1/metadata/account/agent/value');
    expect(server.lastBody).toBe('[{"accountId":"42","values":{"region_name":"EMEA"}}]');
    expect(outcomes).toEqual([{ status: 'delivered' }]);
    expect(server.valuesOf('account', '42')?.agent).toEqual({ region_name: 'EMEA' });
  });

  it('asks Pendo to create unknown visitors with create_missing', async () => {
    const server = await mock();
    const outcomes = await writeOnce({ base_url: server.url, create_missing: true }, outgoing({ visitorId: 'new-1', plan: 'trial' }));
    expect(server.calls[0]?.path).toBe('/api/v1/metadata/visitor/custom/value?create=true');
    expect(outcomes).toEqual([{ status: 'delivered' }]);
  });

  it('rejects a record without a usable id without sending it, and sends the rest', async () => {
    const server = await mock({ visitors: ['v1'] });
    const outcomes = await writeOnce({ base_url: server.url }, outgoing({ visitorId: '  ', plan: 'x' }, { visitorId: 'v1', plan: 'pro' }, { plan: 'y' }));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'delivered', 'rejected']);
    expect(outcomes[0]).toEqual({ status: 'rejected', reason: 'visitorId is missing: it must be a non-empty string or an integer' });
    expect(server.calls[0]?.records).toBe(1);
    expect(await writeOnce({ base_url: server.url }, outgoing({ plan: 'z' }))).toHaveLength(1);
    expect(server.calls).toHaveLength(1);
  });

  it('goes to the region host by default', async () => {
    const base = defaultContext();
    for (const [region, host] of [['us', 'app.pendo.io'], ['eu', 'app.eu.pendo.io'], ['us1', 'us1.app.pendo.io'], ['jpn', 'app.jpn.pendo.io'], ['au', 'app.au.pendo.io']] as const) {
      const client = await pendo.open!(config({ region }), base);
      expect(client.host).toBe(host);
      await pendo.close!(client, base, { complete: true });
    }
  });
});

describe('pendo destination: per-record outcomes', () => {
  it('maps a mixed result: missing ids, refused values and updates', async () => {
    const server = await mock({ visitors: ['v1', 'v3', 'v4'] });
    const outcomes = await writeOnce(
      { base_url: server.url },
      outgoing({ visitorId: 'v1', plan: 'pro' }, { visitorId: 'ghost', plan: 'pro' }, { visitorId: 'v3', favourite_colour: 'red' }, { visitorId: 'v4', seats: 'many' }),
    );
    expect(outcomes).toEqual([
      { status: 'delivered' },
      { status: 'rejected', reason: 'no matching visitor ghost' },
      { status: 'rejected', reason: expect.stringContaining('field "favourite_colour" is not a custom visitor field') },
      { status: 'rejected', reason: expect.stringContaining('value for field "seats" must be of type number') },
    ]);
    expect(server.valuesOf('visitor', 'v1')?.custom).toEqual({ plan: 'pro' });
    expect(server.valuesOf('visitor', 'v3')).toBeUndefined();
  });

  it('rejects the records it cannot tell apart when Pendo names no id, never delivering them silently', async () => {
    const server = await mock({ visitors: ['v1', 'v2'], unattributedErrors: true });
    const outcomes = await writeOnce({ base_url: server.url }, outgoing({ visitorId: 'v1', plan: 'pro' }, { visitorId: 'v2', nope: 1 }));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(outcomes[0]?.status === 'rejected' && outcomes[0].reason).toContain('without naming it');
    expect(outcomes[0]?.status === 'rejected' && outcomes[0].reason).toContain('field "nope" is not a custom visitor field');
  });

  it('retries a 408 (Pendo ended a slow call), and the retry gets through', async () => {
    const server = await mock({ visitors: ['v1'], slow: { calls: 1 } });
    const first = await writeOnce({ base_url: server.url }, outgoing({ visitorId: 'v1', plan: 'pro' }));
    expect(first).toEqual([{ status: 'retry', reason: expect.stringMatching(/^HTTP 408: The call took too long and timed out\. .*batch_size/) }]);
    expect(await writeOnce({ base_url: server.url }, outgoing({ visitorId: 'v1', plan: 'pro' }))).toEqual([{ status: 'delivered' }]);
  });

  it('retries a 429 no sooner than its Retry-After', async () => {
    const server = await mock({ visitors: ['v1'], rateLimit: { requests: 1, windowMs: 60_000, retryAfterSeconds: 3 } });
    await writeOnce({ base_url: server.url }, outgoing({ visitorId: 'v1', plan: 'pro' }));
    const before = Date.now();
    const [outcome] = await writeOnce({ base_url: server.url }, outgoing({ visitorId: 'v1', plan: 'pro' }));
    expect(outcome?.status).toBe('retry');
    const notBefore = outcome?.status === 'retry' ? (outcome.notBefore ?? 0) : 0;
    expect(notBefore).toBeGreaterThanOrEqual(before + 3000);
    expect(notBefore).toBeLessThanOrEqual(Date.now() + 3000);
  });

  it('retries a 5xx, honouring Retry-After, and a 200 whose body is not a result', async () => {
    const busy = await serve((_req, res) => res.writeHead(503, { 'retry-after': '1' }).end('upstream busy'));
    const [outcome] = await writeOnce({ base_url: busy }, outgoing({ visitorId: 'v1', plan: 'pro' }));
    expect(outcome).toMatchObject({ status: 'retry', reason: 'HTTP 503: upstream busy' });
    const odd = await serve((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>'));
    expect(await writeOnce({ base_url: odd }, outgoing({ visitorId: 'v1', plan: 'pro' }))).toEqual([
      { status: 'retry', reason: 'Pendo answered HTTP 200 with a body that is not a bulk-update result: <html>maintenance</html>' },
    ]);
  });

  it('rejects a batch Pendo refuses whole, quoting its answer', async () => {
    const server = await mock({ visitors: ['v1', 'v2'], maxRecords: 1 });
    const outcomes = await writeOnce({ base_url: server.url }, outgoing({ visitorId: 'v1', plan: 'a' }, { visitorId: 'v2', plan: 'b' }));
    expect(outcomes).toEqual([
      { status: 'rejected', reason: 'HTTP 413: Payload Too Large: more than 1 records' },
      { status: 'rejected', reason: 'HTTP 413: Payload Too Large: more than 1 records' },
    ]);
  });

  it('retries when Pendo cannot be reached', async () => {
    const [outcome] = await writeOnce({ base_url: 'http://127.0.0.1:1' }, outgoing({ visitorId: 'v1', plan: 'pro' }));
    expect(outcome).toMatchObject({ status: 'retry', reason: expect.stringContaining('ECONNREFUSED') });
  });
});

describe('pendo destination: failures that stop the run', () => {
  it.each([
    [401, (key: string) => `{"error":"Unauthorized: integration key ${key} is not valid"}`],
    [403, undefined],
  ] as const)('stops the run on %i with AUTH_REFUSED, never revealing the key', async (status, body) => {
    const server = await mock({ visitors: ['v1'], authFailure: { status, ...(body === undefined ? {} : { body }) } });
    const wrongKey = 'wrong-key-0123456789abcdef';
    const error = await writeOnce({ base_url: server.url, integration_key: wrongKey }, outgoing({ visitorId: 'v1', plan: 'pro' })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SluiceError);
    const sluiceError = error as SluiceError;
    expect(sluiceError.code).toBe('AUTH_REFUSED');
    expect(sluiceError.retryClass).toBe('auth');
    expect(sluiceError.message).toContain(`refused the integration key (HTTP ${status})`);
    expect(sluiceError.message).not.toContain(wrongKey);
    expect(sluiceError.message).not.toContain('0123456789abcdef');
  });

  it('stops the run when the host has no metadata API (wrong region or base_url)', async () => {
    const server = await mock();
    const error = await writeOnce({ base_url: `${server.url}/not-pendo` }, outgoing({ visitorId: 'v1', plan: 'pro' })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('DESTINATION_FAILED');
    expect((error as SluiceError).message).toContain('HTTP 404');
  });
});

describe('pendo destination: through the engine', () => {
  it('puts ids Pendo does not know in the reject ledger as "no matching visitor", delivers the rest and saves state', async () => {
    const server = await mock({ visitors: Array.from({ length: 15 }, (_, index) => `visitor-${index + 1}`) });
    const { summary, ledger, stateStore } = await runToPendo({ base_url: server.url, batch_size: 7, max_wait_ms: 10 }, 20);
    expect(summary.error).toBeUndefined();
    expect(summary.status).toBe('succeeded');
    expect(summary.counters).toMatchObject({ read: 20, delivered: 15, rejected: 5 });
    expect(ledger.entries.map((entry) => entry.reason).sort()).toEqual([16, 17, 18, 19, 20].map((id) => `no matching visitor visitor-${id}`).sort());
    expect(ledger.entries[0]).toMatchObject({ code: 'DESTINATION_REJECTED', object: 'visitor', record: { visitorId: expect.stringMatching(/^visitor-(1[6-9]|20)$/) } });
    expect(server.valuesOf('visitor', 'visitor-3')?.custom).toEqual({ name: 'item 3' });
    expect((stateStore.state as { bookmarks: { items: { last_id: number } } }).bookmarks.items.last_id).toBe(20);
  });

  it('rejects records that do not fit the object before sending, naming the field', async () => {
    const server = await mock({ visitors: ['visitor-1', 'visitor-2'] });
    const { summary, ledger } = await runToPendo({ base_url: server.url, max_wait_ms: 10 }, 2, { visitorId: { template: 'visitor-{{id}}' }, profile: { const: { nested: true } } });
    expect(summary.counters).toMatchObject({ read: 2, delivered: 0, rejected: 2 });
    expect(ledger.entries[0]?.reason).toContain('profile: an object cannot be a Pendo metadata value');
    expect(server.calls).toHaveLength(0);
  });

  it('gets every record through a 408 and a rate limit, waiting out Retry-After', async () => {
    const server = await mock({
      visitors: Array.from({ length: 30 }, (_, index) => `visitor-${index + 1}`),
      slow: { calls: 1, delayMs: 10 },
      rateLimit: { requests: 2, windowMs: 1000, retryAfterSeconds: 1 },
    });
    const { summary } = await runToPendo({ base_url: server.url, batch_size: 5, max_wait_ms: 10, concurrency: 1, rate_limit: 100 }, 30);
    expect(summary.error).toBeUndefined();
    expect(summary.counters).toMatchObject({ read: 30, delivered: 30, rejected: 0 });
    expect(summary.counters.retried).toBeGreaterThan(0);
    expect(server.stats.timedOut).toBe(1);
    expect(server.stats.rateLimited).toBeGreaterThan(0);
    expect(server.all('visitor')).toHaveLength(30);
    // A batch answered 429 was not sent again before its Retry-After second had passed.
    server.calls.forEach((call, index) => {
      if (call.status !== 429) return;
      const again = server.calls.slice(index + 1).find((later) => later.firstId === call.firstId);
      expect(again, `the batch of ${call.firstId} was sent again`).toBeDefined();
      expect(again!.at - call.at).toBeGreaterThanOrEqual(950);
    });
  }, 30_000);
});

describe('pendo destination: check', () => {
  it('passes with a key Pendo accepts, reading the visitor metadata schema', async () => {
    const server = await mock();
    expect(await pendo.check(config({ base_url: server.url }), defaultContext())).toEqual({ ok: true });
    expect(server.calls[0]).toMatchObject({ method: 'GET', path: '/api/v1/metadata/schema/visitor', status: 200 });
  });

  it('fails on a refused key, naming the status and not the key', async () => {
    const server = await mock();
    const result = await pendo.check(config({ base_url: server.url, integration_key: 'not-the-key-abcdef123456' }), defaultContext());
    expect(result.ok).toBe(false);
    const reason = result.ok ? '' : result.reason;
    expect(reason).toContain('refused the integration key (HTTP 403)');
    expect(reason).not.toContain('not-the-key-abcdef123456');
  });

  it('fails readably on a host that is not Pendo, and on one that cannot be reached', async () => {
    const server = await mock();
    expect(await pendo.check(config({ base_url: `${server.url}/elsewhere` }), defaultContext())).toEqual({ ok: false, reason: expect.stringContaining('HTTP 404') });
    expect(await pendo.check(config({ base_url: 'http://127.0.0.1:1' }), defaultContext())).toEqual({ ok: false, reason: expect.stringContaining('cannot reach 127.0.0.1:1: ECONNREFUSED') });
  });
});

describe('pendo destination: spec and objects', () => {
  it('fills defaults and derives batch limits and rate limits from them', () => {
    const cfg = config({});
    expect(cfg).toMatchObject({ region: 'us', group: 'custom', create_missing: false, batch_size: 500, rate_limit: 10, concurrency: 4, timeout_ms: 330_000 });
    expect(resolvePerConfig(object('visitor').batch, cfg)).toEqual({ maxRecords: 500, maxBytes: 2_000_000, maxWaitMs: 1000 });
    expect(resolvePerConfig(pendo.limits, cfg)).toEqual({ requestsPerSecond: 10, concurrency: 4 });
    expect(object('account').syncModes).toEqual(['upsert', 'update', 'all']);
  });

  it('refuses unknown keys, a missing key, an unknown region and credentials in base_url, echoing no secret', () => {
    const result = parseConfig(pendo.spec, { integration_key: 'k', kind: 'visitor', region: 'mars', base_url: 'https://user:s3cr3t@pendo.example' }, 'destinations.pendo');
    expect(result.ok).toBe(false);
    const paths = result.ok ? [] : result.issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['destinations.pendo.kind', 'destinations.pendo.region', 'destinations.pendo.base_url']));
    expect(JSON.stringify(result)).not.toContain('s3cr3t');
    expect(parseConfig(pendo.spec, {}).ok).toBe(false);
  });

  it('requires the id field and at least one value, and refuses objects as values', () => {
    const fields = object('visitor').fields!;
    expect(fields.safeParse({ visitorId: 'v1', plan: 'pro', seats: 3, trial: true, renews: null }).success).toBe(true);
    expect(fields.safeParse({ visitorId: 12345678901234567890n, plan: 'pro' }).success).toBe(true);
    expect(fields.safeParse({ plan: 'pro' }).error?.issues[0]?.path).toEqual(['visitorId']);
    expect(fields.safeParse({ visitorId: 'v1' }).error?.issues[0]?.message).toContain('no values to set');
    expect(fields.safeParse({ visitorId: 1.5, plan: 'x' }).success).toBe(false);
    expect(object('account').fields!.safeParse({ accountId: 'a1', tier: 'gold' }).success).toBe(true);
    expect(object('account').fields!.safeParse({ visitorId: 'v1', tier: 'gold' }).success).toBe(false);
  });
});
