/**
 * The ga4 destination against the local mock of GA4's Measurement Protocol (mock-ga4.ts) and, for answers
 * GA4 itself never gives (401, 404, odd bodies), small loopback servers: request shape and endpoints,
 * grouping per user in requests of at most 25 events under 130 kB, GA4's rules checked before sending,
 * validation messages mapped to the events they name, retries (through the real engine too), the silent
 * acceptance of a wrong api_secret, check() and the spec. No mocked fetch anywhere.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLedger } from '../../../engine/ledger.ts';
import type { Mapping } from '../../../engine/mapping.ts';
import { runActivation } from '../../../engine/run.ts';
import { MemoryStateStore } from '../../../engine/state-store.ts';
import { stringifyJson } from '../../../protocol/json.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import { defaultContext } from '../../../sdk/context.ts';
import { resolvePerConfig } from '../../../sdk/destination.ts';
import type { OutgoingRecord, StreamingObject } from '../../../sdk/destination.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import type { Outcome } from '../../../sdk/outcome.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import { sequenceSource } from '../../../../test/support/sources.ts';
import type { Ga4Client } from './client.ts';
import { eventFields, prepareEvent } from './event.ts';
import ga4 from './index.ts';
import { type MockGa4, type MockGa4Options, startMockGa4, validateRequest } from './mock-ga4.ts';
import { planRequests } from './requests.ts';
import type { Ga4Config } from './spec.ts';
import { parseValidationMessages, verdictOf } from './validation.ts';

const SECRET = 'ga4-test-secret-Xy7Qm2Lp9Rt4';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function mock(options: MockGa4Options = {}): Promise<MockGa4> {
  const server = await startMockGa4({ apiSecret: SECRET, ...options });
  closers.push(() => server.close());
  return server;
}

function config(input: Record<string, unknown>): Ga4Config {
  const parsed = parseConfig(ga4.spec, { api_secret: SECRET, ...input });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

/** A web stream on the mock. */
function web(server: MockGa4, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { measurement_id: server.measurementId, base_url: server.url, ...extra };
}

const object = ga4.objects.event as StreamingObject<Ga4Config, Ga4Client>;

function outgoing(...rows: JsonObject[]): OutgoingRecord[] {
  return rows.map((data) => ({ stream: 'events', data, json: stringifyJson(data) }));
}

/** Open a session, write one batch, close: the calls the engine makes, in its order. */
async function writeOnce(input: Record<string, unknown>, records: readonly OutgoingRecord[]): Promise<readonly Outcome[]> {
  const cfg = config(input);
  const base = defaultContext();
  const session = await ga4.open!(cfg, base);
  try {
    return await object.write(records, { ...base, config: cfg, session, object: 'event', syncMode: 'append', idempotencyKey: 'run-1-1', attempt: 1, stream: { name: 'events', jsonSchema: { type: 'object' } } });
  } finally {
    await ga4.close!(session, base, { complete: true });
  }
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const statuses = (outcomes: readonly Outcome[]) => outcomes.map((outcome) => outcome.status);
const reasonOf = (outcome: Outcome | undefined) => (outcome !== undefined && outcome.status !== 'delivered' ? outcome.reason : '');
const collects = (server: MockGa4) => server.requests.filter((request) => request.endpoint === 'collect');
const bodyOf = (server: MockGa4, index = 0) => JSON.parse(collects(server)[index]?.body ?? 'null') as Record<string, unknown>;

describe('ga4 destination: requests', () => {
  it('posts to /mp/collect with measurement_id and api_secret, client_id and user_id on the request, params exact', async () => {
    const server = await mock();
    const outcomes = await writeOnce(web(server), outgoing({ client_id: '123.456', user_id: 'u-1', name: 'purchase', params: { currency: 'EUR', value: 12.5, transaction_id: 'T-1' }, big: 12345678901234567890n }));
    expect(outcomes).toEqual([{ status: 'delivered' }]);
    const [request] = collects(server);
    expect(request).toMatchObject({ method: 'POST', status: 204, contentType: 'application/json', query: { measurement_id: server.measurementId, api_secret: SECRET } });
    expect(request?.body).toBe('{"client_id":"123.456","user_id":"u-1","events":[{"name":"purchase","params":{"currency":"EUR","value":12.5,"transaction_id":"T-1","big":12345678901234567890}}]}');
    expect(server.events).toEqual([{ stream: server.measurementId, client_id: '123.456', user_id: 'u-1', name: 'purchase', params: { currency: 'EUR', value: 12.5, transaction_id: 'T-1', big: 12345678901234567890 } }]);
    expect(server.dropped).toEqual([]);
  });

  it('sends an app stream\'s events with firebase_app_id and app_instance_id', async () => {
    const server = await mock();
    const outcomes = await writeOnce({ firebase_app_id: server.firebaseAppId, base_url: server.url }, outgoing({ app_instance_id: '0123456789abcdef0123456789abcdef', name: 'level_up', level: 7 }));
    expect(outcomes).toEqual([{ status: 'delivered' }]);
    expect(collects(server)[0]?.query).toEqual({ firebase_app_id: server.firebaseAppId, api_secret: SECRET });
    expect(server.events[0]).toMatchObject({ app_instance_id: '0123456789abcdef0123456789abcdef', name: 'level_up', params: { level: 7 } });
  });

  it('maps a Segment-style event: properties as params, ISO timestamp as timestamp_micros, user properties wrapped, consent passed, nulls left out', async () => {
    const server = await mock();
    const at = new Date(Date.now() - 3600_000);
    const outcomes = await writeOnce(
      web(server),
      outgoing({
        client_id: 'anon-1',
        user_id: 42,
        name: 'order_completed',
        params: { order_id: 'o-9', revenue: 99.99, coupon: null, items: [{ item_id: 'sku-1', price: 99.99, quantity: 1 }] },
        timestamp: at.toISOString(),
        user_properties: { plan: 'pro', seats: { value: 12, timestamp_micros: at.getTime() * 1000 }, churned: null },
        consent: { ad_user_data: 'GRANTED', ad_personalization: 'DENIED' },
        engagement_time_msec: 100,
        session_id: '1700000000',
        referrer: null,
      }),
    );
    expect(outcomes).toEqual([{ status: 'delivered' }]);
    expect(bodyOf(server)).toEqual({
      client_id: 'anon-1',
      user_id: '42',
      user_properties: { plan: { value: 'pro' }, seats: { value: 12, timestamp_micros: at.getTime() * 1000 } },
      consent: { ad_user_data: 'GRANTED', ad_personalization: 'DENIED' },
      events: [
        {
          name: 'order_completed',
          params: { order_id: 'o-9', revenue: 99.99, items: [{ item_id: 'sku-1', price: 99.99, quantity: 1 }], engagement_time_msec: 100, session_id: '1700000000' },
          timestamp_micros: at.getTime() * 1000,
        },
      ],
    });
    expect(server.events).toHaveLength(1);
  });

  it('groups each user\'s events into requests of at most 25, in order, one request per user otherwise', async () => {
    const server = await mock();
    // 60 events of one user interleaved with 3 of another and 2 of a third (same client, other user_id).
    const rows: JsonObject[] = [];
    for (let n = 0; n < 60; n++) {
      rows.push({ client_id: 'c-a', name: 'step', n });
      if (n % 20 === 0) rows.push({ client_id: 'c-b', name: 'view', n });
      if (n === 30 || n === 31) rows.push({ client_id: 'c-a', user_id: 'u-a', name: 'login', n });
    }
    const outcomes = await writeOnce(web(server), outgoing(...rows));
    expect(statuses(outcomes).every((status) => status === 'delivered')).toBe(true);
    const requests = collects(server).map((request) => JSON.parse(request.body) as { client_id: string; user_id?: string; events: { params: { n: number } }[] });
    const shape = (client: string, user?: string) => requests.filter((request) => request.client_id === client && request.user_id === user).map((request) => request.events.map((event) => event.params.n));
    expect(shape('c-a').map((events) => events.length)).toEqual([25, 25, 10]);
    expect(shape('c-a').flat()).toEqual(Array.from({ length: 60 }, (_, n) => n));
    expect(shape('c-b')).toEqual([[0, 20, 40]]);
    expect(shape('c-a', 'u-a')).toEqual([[30, 31]]);
    expect(requests).toHaveLength(5);
    // One user's requests were sent one after the other: in order of their events.
    const arrivals = collects(server).filter((request) => request.identity === 'c-a' && !request.body.includes('"user_id"'));
    expect(arrivals.map((request) => (JSON.parse(request.body) as { events: { params: { n: number } }[] }).events[0]?.params.n)).toEqual([0, 25, 50]);
    expect(server.events).toHaveLength(rows.length);
    expect(server.dropped).toEqual([]);
  });

  it('keeps every request body under 130 kB, and rejects an event too large for any request', async () => {
    const server = await mock();
    const big = (client: string, n: number) => ({ client_id: client, name: 'blob', n, ...Object.fromEntries(Array.from({ length: 10 }, (_, k) => [`p${k}`, 'x'.repeat(1000)])) });
    const huge = { client_id: 'c-1', name: 'blob', ...Object.fromEntries(Array.from({ length: 25 }, (_, k) => [`p${k}`, 'y'.repeat(6000)])) };
    const rows = [...Array.from({ length: 20 }, (_, n) => big('c-1', n)), huge, big('c-1', 20)];
    const outcomes = await writeOnce(web(server), outgoing(...rows));
    expect(statuses(outcomes)).toEqual([...Array(20).fill('delivered'), 'rejected', 'delivered']);
    expect(reasonOf(outcomes[20])).toMatch(/makes a request of \d+ bytes: GA4 takes request bodies smaller than 130 kB/);
    const sizes = collects(server).map((request) => Buffer.byteLength(request.body));
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThan(130_000);
    expect(server.events).toHaveLength(21);
    expect(server.dropped).toEqual([]);
  });

  it('goes to the region\'s host by default', async () => {
    const base = defaultContext();
    for (const [region, host] of [['global', 'www.google-analytics.com'], ['eu', 'region1.google-analytics.com']] as const) {
      const client = await ga4.open!(config({ measurement_id: 'G-ABC123', region }), base);
      expect(client.host).toBe(host);
      await ga4.close!(client, base, { complete: true });
    }
  });
});

describe('ga4 destination: GA4\'s rules, checked before sending', () => {
  it('rejects records that break a documented rule, naming the field, and sends the rest', async () => {
    const server = await mock();
    const old = (Date.now() - 73 * 3600_000) * 1000;
    const cases: Array<[JsonObject, RegExp]> = [
      [{ client_id: 'c', name: '_bad_start' }, /^name: an event name must start with a letter/],
      [{ client_id: 'c', name: 'Order Completed' }, /^name: an event name must start with a letter and hold only letters, digits and underscores/],
      [{ client_id: 'c', name: 'e'.repeat(41) }, /^name: an event name must be 40 characters or fewer/],
      [{ client_id: 'c', name: 'session_start' }, /^name: "session_start" is an event name GA4 reserves/],
      [{ client_id: 'c', name: 'ok', params: { firebase_conversion: 1 } }, /^params\.firebase_conversion: "firebase_conversion" is a parameter name GA4 reserves/],
      [{ client_id: 'c', name: 'ok', ga_session: 1 }, /^ga_session: "ga_session" is a parameter name GA4 reserves/],
      [{ client_id: 'c', name: 'ok', context: { ip: '1.2.3.4' } }, /^context: a GA4 parameter value is text, a number or a boolean/],
      [{ client_id: 'c', name: 'ok', ...Object.fromEntries(Array.from({ length: 26 }, (_, k) => [`p${k}`, k])) }, /^params: 26 event parameters: GA4 takes at most 25 per event/],
      [{ name: 'ok' }, /^client_id: a web stream \(measurement_id\) needs `client_id`/],
      [{ app_instance_id: 'a', name: 'ok' }, /^client_id: a web stream/],
      [{ client_id: 'c', name: 'ok', user_properties: { lifetime_value_in_euro_cents: 1 } }, /^user_properties\.lifetime_value_in_euro_cents: a user property name must be 24 characters or fewer/],
      [{ client_id: 'c', name: 'ok', user_properties: { first_open_time: 1 } }, /reserves/],
      [{ client_id: 'c', name: 'ok', timestamp_micros: old }, /^timestamp: the event happened more than 72 hours ago/],
      [{ client_id: 'c', name: 'ok', timestamp: 'yesterday' }, /^timestamp: must be an ISO 8601 date-time/],
      [{ client_id: 'c', name: 'ok', consent: { ad_user_data: 'yes' } }, /^consent\.ad_user_data: must be "GRANTED" or "DENIED"/],
      [{ client_id: 'c', name: 'ok', params: { value: 1 }, value: 2 }, /given twice/],
    ];
    const rows = cases.flatMap(([row]) => [row, { client_id: 'c-good', name: 'fine' }]);
    const outcomes = await writeOnce(web(server), outgoing(...rows));
    cases.forEach(([, reason], index) => {
      expect(outcomes[index * 2]?.status, JSON.stringify(cases[index]?.[0]).slice(0, 60)).toBe('rejected');
      expect(reasonOf(outcomes[index * 2])).toMatch(reason);
      expect(outcomes[index * 2 + 1]).toEqual({ status: 'delivered' });
    });
    expect(server.events).toHaveLength(cases.length);
    expect(server.events.every((event) => event.name === 'fine')).toBe(true);
    expect(server.dropped).toEqual([]);
  });

  it('the object\'s fields schema applies the same rules, so the engine (and a dry run) rejects before write', () => {
    expect(eventFields.safeParse({ client_id: 'c', name: 'ok', n: 1 }).success).toBe(true);
    expect(eventFields.safeParse({ app_instance_id: 'a', name: 'ok' }).success).toBe(true);
    const bad = eventFields.safeParse({ name: 'page_view!', nested: { a: 1 } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['client_id', 'name', 'nested']);
  });

  it('agrees with the mock\'s independent reading of the rules: what passes here passes GA4\'s validation', () => {
    const rows: JsonObject[] = [
      { client_id: 'c', name: 'purchase', params: { value: 1, items: [{ item_id: 'a' }] }, user_properties: { tier: 'gold' } },
      { client_id: 'c', name: 'ok', ...Object.fromEntries(Array.from({ length: 25 }, (_, k) => [`p${k}`, k])) },
      { client_id: 'c', name: 'n'.repeat(40), user_properties: { u234567890123456789012_4: 'x' } },
    ];
    const events = new Map(rows.map((row, index) => {
      const prepared = prepareEvent(row, 'web');
      if (!prepared.ok) throw new Error(prepared.reason);
      return [index, prepared.event] as const;
    }));
    for (const chain of planRequests(events, undefined).chains) for (const request of chain) expect(validateRequest(request.body, 'web', Date.now())).toEqual([]);
  });
});

describe('ga4 destination: validate_before_send', () => {
  it('rejects the events GA4\'s validation names, with fieldPath and description, and sends the others', async () => {
    const server = await mock();
    // Values longer than 100 characters pass the local rules (GA4 truncates them) but fail strict validation.
    const outcomes = await writeOnce(
      web(server, { validate_before_send: true, validation_behavior: 'ENFORCE_RECOMMENDATIONS' }),
      outgoing({ client_id: 'c-1', name: 'a', n: 0 }, { client_id: 'c-1', name: 'b', note: 'z'.repeat(101) }, { client_id: 'c-1', name: 'c', n: 2 }),
    );
    expect(statuses(outcomes)).toEqual(['delivered', 'rejected', 'delivered']);
    expect(reasonOf(outcomes[1])).toBe('GA4 validation VALUE_OUT_OF_BOUNDS at events[1].params.note: Parameter [note] has a value longer than 100 characters.');
    expect(server.requests.map((request) => request.endpoint)).toEqual(['debug', 'collect']);
    expect(server.requests[0]?.query).toEqual({ measurement_id: server.measurementId, api_secret: SECRET });
    expect(bodyOf(server)).toMatchObject({ validation_behavior: 'ENFORCE_RECOMMENDATIONS', events: [{ name: 'a' }, { name: 'c' }] });
    expect(server.events.map((event) => event.name)).toEqual(['a', 'c']);
  });

  it('rejects every event of a request when a message concerns the request, and sends nothing', async () => {
    const server = await mock();
    const outcomes = await writeOnce(
      web(server, { validate_before_send: true, validation_behavior: 'ENFORCE_RECOMMENDATIONS' }),
      outgoing({ client_id: 'c-1', name: 'a', user_properties: { note: 'q'.repeat(40) } }, { client_id: 'c-1', name: 'b', user_properties: { note: 'q'.repeat(40) } }, { client_id: 'c-2', name: 'c' }),
    );
    expect(statuses(outcomes)).toEqual(['rejected', 'rejected', 'delivered']);
    expect(reasonOf(outcomes[0])).toBe('GA4 validation VALUE_OUT_OF_BOUNDS at user_properties.note.value: User property [note] has a value longer than 36 characters.');
    expect(collects(server)).toHaveLength(1);
    expect(server.events.map((event) => event.name)).toEqual(['c']);
  });

  it('maps validation answers as Google documents them: the event index in the description or in the field path', () => {
    const documented = parseValidationMessages(
      '{"validationMessages":[{"fieldPath":"events","description":"Event at index: [1] has invalid name [_badEventName]. Names must start with an alphabetic character.","validationCode":"NAME_INVALID"}]}',
    )!;
    const verdict = verdictOf(documented, 3);
    expect(verdict.request).toBeUndefined();
    expect([...verdict.events]).toEqual([[1, 'GA4 validation NAME_INVALID at events: Event at index: [1] has invalid name [_badEventName]. Names must start with an alphabetic character.']]);
    const byPath = verdictOf(parseValidationMessages('{"validationMessages":[{"fieldPath":"events[0].params.currency","description":"bad currency","validationCode":"VALUE_INVALID"}]}')!, 1);
    expect([...byPath.events.keys()]).toEqual([0]);
    const whole = verdictOf(parseValidationMessages('{"validationMessages":[{"fieldPath":"client_id","description":"Measurement requires a client_id.","validationCode":"VALUE_REQUIRED"}]}')!, 2);
    expect(whole.request).toBe('GA4 validation VALUE_REQUIRED at client_id: Measurement requires a client_id.');
    expect(parseValidationMessages('{"validationMessages":[]}')).toEqual([]);
    expect(parseValidationMessages('<html>')).toBeUndefined();
  });

  it('retries when the validation endpoint fails or answers something that is not a validation result', async () => {
    const server = await mock();
    server.failNext(503, { endpoint: 'debug', body: 'backend error' });
    const [first] = await writeOnce(web(server, { validate_before_send: true }), outgoing({ client_id: 'c', name: 'a' }));
    expect(first).toMatchObject({ status: 'retry', reason: 'HTTP 503: backend error' });
    expect(collects(server)).toHaveLength(0);
    const odd = await serve((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>'));
    const [second] = await writeOnce({ measurement_id: 'G-ABC123', base_url: odd, validate_before_send: true }, outgoing({ client_id: 'c', name: 'a' }));
    expect(second).toEqual({ status: 'retry', reason: 'GA4\'s validation endpoint answered HTTP 200 with a body that is not a validation result: <html>maintenance</html>' });
  });
});

describe('ga4 destination: outcomes', () => {
  it('retries a 5xx and a 429 (no sooner than Retry-After); a user\'s later requests wait with the failed one', async () => {
    const server = await mock();
    server.failNext(429, { endpoint: 'collect', retryAfterSeconds: 3 });
    const rows = [...Array.from({ length: 30 }, (_, n) => ({ client_id: 'c-a', name: 'step', n })), { client_id: 'c-b', name: 'other' }];
    const before = Date.now();
    const outcomes = await writeOnce(web(server, { concurrency: 1 }), outgoing(...rows));
    // c-a's first request (events 0–24) got the 429, so its second (25–29) was held back; c-b went through.
    expect(statuses(outcomes)).toEqual([...Array(30).fill('retry'), 'delivered']);
    const notBefore = outcomes[0]?.status === 'retry' ? (outcomes[0].notBefore ?? 0) : 0;
    expect(notBefore).toBeGreaterThanOrEqual(before + 3000);
    expect(reasonOf(outcomes[0])).toBe('HTTP 429');
    expect(reasonOf(outcomes[29])).toContain('held back behind an earlier request of the same user');
    expect(outcomes[29]).toMatchObject({ notBefore });
    expect(server.events.map((event) => event.name)).toEqual(['other']);

    server.failNext(503, { endpoint: 'collect', body: 'The service is unavailable.' });
    expect(await writeOnce(web(server), outgoing({ client_id: 'c', name: 'x' }))).toEqual([{ status: 'retry', reason: 'HTTP 503: The service is unavailable.' }]);
  });

  it('retries when GA4 cannot be reached, and rejects on other 4xx', async () => {
    const [outcome] = await writeOnce({ measurement_id: 'G-ABC123', base_url: 'http://127.0.0.1:1' }, outgoing({ client_id: 'c', name: 'a' }));
    expect(outcome).toMatchObject({ status: 'retry', reason: expect.stringContaining('ECONNREFUSED') });
    const server = await mock();
    server.failNext(413, { endpoint: 'collect', body: 'Request Entity Too Large' });
    expect(await writeOnce(web(server), outgoing({ client_id: 'c', name: 'a' }))).toEqual([{ status: 'rejected', reason: 'HTTP 413: Request Entity Too Large' }]);
  });

  it('reports delivered for a wrong api_secret, as GA4 gives no sign — the mock shows the events were dropped', async () => {
    const server = await mock();
    const outcomes = await writeOnce(web(server, { api_secret: 'not-the-secret-0000' }), outgoing({ client_id: 'c', name: 'a' }, { client_id: 'c', name: 'b' }));
    expect(outcomes).toEqual([{ status: 'delivered' }, { status: 'delivered' }]);
    expect(server.events).toEqual([]);
    expect(server.dropped.map((drop) => drop.reason)).toEqual(['api_secret is missing or is not a secret of the stream', 'api_secret is missing or is not a secret of the stream']);
  });

  it.each([401, 403])('stops the run on %i, never revealing the api_secret', async (status) => {
    const url = await serve((req, res) => res.writeHead(status).end(`denied: ${req.url ?? ''}`));
    const error = await writeOnce({ measurement_id: 'G-ABC123', base_url: url }, outgoing({ client_id: 'c', name: 'a' })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('AUTH_REFUSED');
    expect((error as SluiceError).message).toContain(`HTTP ${status}`);
    expect((error as SluiceError).message).not.toContain(SECRET);
    expect((error as SluiceError).message).toContain('api_secret=***');
  });

  it('stops the run when the host has no Measurement Protocol (wrong region or base_url)', async () => {
    const url = await serve((_req, res) => res.writeHead(404).end('Not Found'));
    const missing = await writeOnce({ measurement_id: 'G-ABC123', base_url: url }, outgoing({ client_id: 'c', name: 'a' })).catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(SluiceError);
    expect((missing as SluiceError).code).toBe('DESTINATION_FAILED');
    expect((missing as SluiceError).message).toBe(`${new URL(url).host} has no GA4 Measurement Protocol endpoint (HTTP 404): check region and base_url`);
  });
});

const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 100, maxElapsedMs: 20_000 };

describe('ga4 destination: through the engine', () => {
  const segmentLike = (id: number): JsonObject => ({
    type: 'track',
    anonymousId: `anon-${id % 4}`,
    userId: id % 2 === 0 ? `user-${id % 4}` : null,
    event: id === 7 ? 'Order Completed' : 'order_completed',
    properties: { order_id: `o-${id}`, revenue: id * 10, currency: 'EUR' },
    timestamp: new Date(Date.now() - id * 1000).toISOString(),
  });
  const mapping: Mapping = { client_id: 'anonymousId', user_id: 'userId', name: 'event', params: 'properties', timestamp: 'timestamp' };

  it('delivers Segment-style events through 429s and 5xx, sends none twice, and rejects a bad name into the ledger', async () => {
    const server = await mock();
    server.failNext(503, { endpoint: 'collect', count: 2 });
    server.failNext(429, { endpoint: 'collect', retryAfterSeconds: 1 });
    const ledger = new MemoryLedger();
    const summary = await runActivation({
      activation: {
        name: 'events_to_ga4',
        source: { definition: sequenceSource({ count: 40, stateEvery: 10, extra: segmentLike }), config: {} },
        destination: { definition: ga4, config: config(web(server, { batch_size: 10, max_wait_ms: 10 })), object: 'event' },
        mapping,
        retry: FAST_RETRY,
      },
      stateStore: new MemoryStateStore(),
      ledger,
    });
    expect(summary.error).toBeUndefined();
    expect(summary.counters).toMatchObject({ read: 40, delivered: 39, rejected: 1 });
    expect(summary.counters.retried).toBeGreaterThan(0);
    expect(ledger.entries[0]?.reason).toContain('name: an event name must start with a letter and hold only letters, digits and underscores ("Order Completed")');
    const orders = server.events.map((event) => event.params.order_id).sort();
    expect(orders).toHaveLength(39);
    expect(new Set(orders).size).toBe(39);
    expect(server.events.find((event) => event.params.order_id === 'o-2')).toMatchObject({ client_id: 'anon-2', user_id: 'user-2', name: 'order_completed', params: { revenue: 20, currency: 'EUR' } });
    expect(server.dropped).toEqual([]);
  }, 30_000);

  it('a dry run rejects by the same rules and sends nothing', async () => {
    const server = await mock();
    const summary = await runActivation({
      activation: {
        name: 'events_to_ga4',
        source: { definition: sequenceSource({ count: 10, extra: segmentLike }), config: {} },
        destination: { definition: ga4, config: config(web(server)), object: 'event' },
        mapping,
      },
      stateStore: new MemoryStateStore(),
      ledger: new MemoryLedger(),
      dryRun: true,
    });
    expect(summary.plan?.records).toBe(9);
    expect(summary.counters.rejected).toBe(1);
    expect(server.requests).toHaveLength(0);
  });
});

describe('ga4 destination: check', () => {
  it('passes when GA4\'s validation endpoint takes a sample event, and records nothing', async () => {
    const server = await mock();
    expect(await ga4.check(config(web(server)), defaultContext())).toEqual({ ok: true });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({ endpoint: 'debug', status: 200, query: { measurement_id: server.measurementId, api_secret: SECRET } });
    expect(server.events).toEqual([]);
    expect(await ga4.check(config({ firebase_app_id: server.firebaseAppId, base_url: server.url }), defaultContext())).toEqual({ ok: true });
  });

  it('cannot tell a wrong api_secret: the validation endpoint does not check it (documented)', async () => {
    const server = await mock();
    expect(await ga4.check(config(web(server, { api_secret: 'wrong-secret-123456' })), defaultContext())).toEqual({ ok: true });
  });

  it('fails readably on a 5xx, a host that is not GA4, validation messages, and an unreachable host', async () => {
    const server = await mock();
    server.failNext(503, { endpoint: 'debug' });
    expect(await ga4.check(config(web(server)), defaultContext())).toEqual({ ok: false, reason: expect.stringContaining('answered HTTP 503') });
    const notFound = await serve((_req, res) => res.writeHead(404).end());
    expect(await ga4.check(config({ measurement_id: 'G-ABC123', base_url: notFound }), defaultContext())).toEqual({ ok: false, reason: expect.stringContaining('HTTP 404): check region and base_url') });
    const picky = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"validationMessages":[{"fieldPath":"client_id","description":"Measurement requires a client_id.","validationCode":"VALUE_REQUIRED"}]}'));
    expect(await ga4.check(config({ measurement_id: 'G-ABC123', base_url: picky }), defaultContext())).toEqual({ ok: false, reason: 'GA4 refused a sample event: GA4 validation VALUE_REQUIRED at client_id: Measurement requires a client_id.' });
    const result = await ga4.check(config({ measurement_id: 'G-ABC123', base_url: 'http://127.0.0.1:1' }), defaultContext());
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('cannot reach 127.0.0.1:1: ECONNREFUSED') });
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });
});

describe('the mock GA4, as documented', () => {
  const post = (server: MockGa4, path: string, body: string, query = `measurement_id=${server.measurementId}&api_secret=${SECRET}`) =>
    fetch(`${server.url}${path}?${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('answers /mp/collect with 204 and no body, whatever it is sent, keeping only what GA4 would keep', async () => {
    const server = await mock();
    for (const body of ['{"client_id":"c","events":[{"name":"ok"}]}', 'not json', '{"events":[{"name":"ok"}]}', `{"client_id":"c","events":[{"name":"ok","params":{"p":"${'x'.repeat(130_000)}"}}]}`]) {
      const response = await post(server, '/mp/collect', body);
      expect(response.status).toBe(204);
      expect(await response.text()).toBe('');
    }
    const wrongSecret = await post(server, '/mp/collect', '{"client_id":"c","events":[{"name":"ok"}]}', `measurement_id=${server.measurementId}&api_secret=nope`);
    expect(wrongSecret.status).toBe(204);
    expect(server.events).toHaveLength(1);
    expect(server.dropped.map((drop) => drop.reason)).toEqual([
      'VALUE_INVALID: Unable to parse Measurement Protocol JSON payload.',
      'VALUE_REQUIRED client_id: Measurement requires a client_id.',
      'VALUE_OUT_OF_BOUNDS: Post body must be smaller than 130kB.',
      'api_secret is missing or is not a secret of the stream',
    ]);
  });

  it('answers /debug/mp/collect with validationMessages, records nothing, and does not check the secret', async () => {
    const server = await mock();
    const validate = async (body: string) => ((await (await post(server, '/debug/mp/collect', body, 'measurement_id=G-OTHER1&api_secret=wrong')).json()) as { validationMessages: unknown[] }).validationMessages;
    expect(await validate('{"client_id":"c","events":[{"name":"ok"}]}')).toEqual([]);
    expect(await validate('{"events":[{"name":"ok"}]}')).toEqual([{ fieldPath: 'client_id', description: 'Measurement requires a client_id.', validationCode: 'VALUE_REQUIRED' }]);
    expect(await validate('{"client_id":"c","events":[{"name":"_badEventName"}]}')).toEqual([
      { fieldPath: 'events', description: 'Event at index: [0] has invalid name [_badEventName]. Names must start with an alphabetic character.', validationCode: 'NAME_INVALID' },
    ]);
    const many = JSON.stringify({ client_id: 'c', events: Array.from({ length: 26 }, () => ({ name: 'ok' })) });
    expect(await validate(many)).toEqual([expect.objectContaining({ fieldPath: 'events', validationCode: 'EXCEEDED_MAX_ENTITIES' })]);
    expect(await validate('{"client_id":"c","events":[{"name":"ok"},{"name":"session_start"}]}')).toEqual([expect.objectContaining({ fieldPath: 'events', validationCode: 'NAME_RESERVED', description: 'Event at index: [1] has reserved name [session_start].' })]);
    expect(await validate('{"client_id":"c","events":[{"name":"ok","params":{"ga_x":1,"firebase_conversion":1}}]}')).toEqual([
      expect.objectContaining({ fieldPath: 'events[0].params.ga_x', validationCode: 'NAME_RESERVED' }),
      expect.objectContaining({ fieldPath: 'events[0].params.firebase_conversion', validationCode: 'NAME_RESERVED' }),
    ]);
    expect(await validate(`{"client_id":"c","events":[{"name":"ok","params":{"p":"${'x'.repeat(130_000)}"}}]}`)).toEqual([expect.objectContaining({ validationCode: 'VALUE_OUT_OF_BOUNDS', description: 'Post body must be smaller than 130kB.' })]);
    expect(server.events).toEqual([]);
    expect((await post(server, '/mp/other', '{}')).status).toBe(404);
  });
});

describe('ga4 destination: spec and object', () => {
  it('fills defaults and derives batch limits and concurrency', () => {
    const cfg = config({ measurement_id: 'G-ABC123' });
    expect(cfg).toMatchObject({ region: 'global', validate_before_send: false, batch_size: 500, concurrency: 8, timeout_ms: 30_000 });
    expect(resolvePerConfig(object.batch, cfg)).toEqual({ maxRecords: 500, maxBytes: 2_000_000, maxWaitMs: 1000 });
    expect(resolvePerConfig(ga4.limits, cfg)).toEqual({ concurrency: 8 });
    expect(object.syncModes).toEqual(['append', 'insert']);
  });

  it('needs exactly one stream id, refuses a Universal Analytics id and unknown keys, echoing no secret', () => {
    const neither = parseConfig(ga4.spec, { api_secret: SECRET });
    expect(neither.ok ? [] : neither.issues.map((issue) => issue.path)).toContain('measurement_id');
    expect(parseConfig(ga4.spec, { api_secret: SECRET, measurement_id: 'G-ABC123', firebase_app_id: '1:2:android:ab' }).ok).toBe(false);
    const ua = parseConfig(ga4.spec, { api_secret: SECRET, measurement_id: 'UA-12345-1' });
    expect(ua.ok ? '' : ua.issues[0]?.message).toContain('Universal Analytics');
    const unknown = parseConfig(ga4.spec, { api_secret: SECRET, measurement_id: 'G-ABC123', apiSecret: 'x', base_url: 'https://u:p@x.test' }, 'destinations.ga');
    expect(unknown.ok ? [] : unknown.issues.map((issue) => issue.path)).toEqual(expect.arrayContaining(['destinations.ga.apiSecret', 'destinations.ga.base_url']));
    expect(JSON.stringify(unknown)).not.toContain(SECRET);
    expect(parseConfig(ga4.spec, { measurement_id: 'G-ABC123' }).ok).toBe(false);
  });
});
