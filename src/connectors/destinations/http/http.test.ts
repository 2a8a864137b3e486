/**
 * The http destination against real loopback servers: body formats, headers, the status → outcome map,
 * Retry-After, timeouts, resets, refused connections, check() and the spec. No mocked fetch anywhere.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultContext } from '../../../sdk/context.ts';
import { isStreamingObject, resolvePerConfig } from '../../../sdk/destination.ts';
import type { OutgoingRecord, StreamingObject, WriteContext } from '../../../sdk/destination.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import { stringifyJson } from '../../../protocol/json.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import http from './index.ts';
import type { HttpClient } from './client.ts';
import type { HttpConfig } from './spec.ts';

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A loopback server that records every request and answers with `handler` (default: 200 `{}`). */
async function serve(handler: Handler = (_req, res) => res.end('{}')): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/ingest?source=test`, received };
}

/** A port nothing listens on: bound, then released. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/ingest`;
}

function config(input: Record<string, unknown>): HttpConfig {
  const parsed = parseConfig(http.spec, input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

const recordsObject = http.objects.records;
if (recordsObject === undefined || !isStreamingObject(recordsObject)) throw new Error('records must be a streaming object');
const object: StreamingObject<HttpConfig, HttpClient> = recordsObject;

function outgoing(...rows: JsonObject[]): OutgoingRecord[] {
  return rows.map((data) => ({ stream: 'test', data, json: stringifyJson(data) }));
}

/** Open a session, write one batch, close: the calls the engine makes, in its order. */
async function writeOnce(input: Record<string, unknown>, records: readonly OutgoingRecord[], idempotencyKey = 'run-1:batch-1') {
  const cfg = config(input);
  const base = defaultContext();
  const session = await http.open!(cfg, base);
  const ctx: WriteContext<HttpConfig, HttpClient> = {
    ...base,
    config: cfg,
    session,
    object: 'records',
    syncMode: 'append',
    idempotencyKey,
    attempt: 1,
    stream: { name: 'records', jsonSchema: {} },
  };
  try {
    return await object.write(records, ctx);
  } finally {
    await http.close!(session, base, { complete: true });
  }
}

const BIG = 12345678901234567890n;
const two = () => outgoing({ id: BIG, name: 'Ada, "the first"' }, { id: 2, name: 'Grace\nHopper', tags: ['x'] });

describe('http destination: bodies and headers', () => {
  it('sends a JSON array with long integers written exactly', async () => {
    const server = await serve();
    const outcomes = await writeOnce({ url: server.url }, two());
    expect(outcomes).toEqual([{ status: 'delivered' }, { status: 'delivered' }]);
    expect(server.received).toHaveLength(1);
    const [request] = server.received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/ingest?source=test');
    expect(request?.body).toBe('[{"id":12345678901234567890,"name":"Ada, \\"the first\\""},{"id":2,"name":"Grace\\nHopper","tags":["x"]}]');
    expect(request?.headers['content-type']).toBe('application/json');
  });

  it('sends NDJSON, one record per line', async () => {
    const server = await serve();
    await writeOnce({ url: server.url, format: 'ndjson', method: 'PUT' }, two());
    const [request] = server.received;
    expect(request?.method).toBe('PUT');
    expect(request?.headers['content-type']).toBe('application/x-ndjson');
    expect(request?.body).toBe('{"id":12345678901234567890,"name":"Ada, \\"the first\\""}\n{"id":2,"name":"Grace\\nHopper","tags":["x"]}\n');
  });

  it('sends an envelope under the configured key', async () => {
    const server = await serve();
    await writeOnce({ url: server.url, format: 'envelope', envelope_key: 'items' }, outgoing({ id: BIG }));
    expect(server.received[0]?.body).toBe('{"items":[{"id":12345678901234567890}]}');
    await writeOnce({ url: server.url, format: 'envelope', method: 'PATCH' }, outgoing({ id: 1 }));
    expect(server.received[1]?.body).toBe('{"batch":[{"id":1}]}');
    expect(server.received[1]?.method).toBe('PATCH');
  });

  it('marks each record with its op in op_field (diff sync modes), keeping the record text exact', async () => {
    const server = await serve();
    const records: OutgoingRecord[] = [
      { ...outgoing({ id: BIG })[0]!, op: 'create' },
      { ...outgoing({})[0]!, op: 'update' },
      outgoing({ id: 3 })[0]!,
      { stream: 'test', data: {}, json: '{ }', op: 'update' },
      { stream: 'test', data: { a: 1 }, json: '{ "a": 1 }', op: 'create' },
    ];
    await writeOnce({ url: server.url, op_field: '_op' }, records);
    expect(server.received[0]?.body).toBe('[{"_op":"create","id":12345678901234567890},{"_op":"update"},{"id":3},{"_op":"update" },{"_op":"create", "a": 1 }]');
    expect(JSON.parse(server.received[0]!.body)).toHaveLength(5);
  });

  it('sends user headers and the batch idempotency key; a user Content-Type wins', async () => {
    const server = await serve();
    const headers = { Authorization: 'Bearer s3cret-token-value', 'Content-Type': 'application/vnd.acme+json', 'X-Tenant': 'acme' };
    await writeOnce({ url: server.url, headers }, outgoing({ id: 1 }), 'run-7:batch-42');
    const received = server.received[0]?.headers;
    expect(received?.authorization).toBe('Bearer s3cret-token-value');
    expect(received?.['x-tenant']).toBe('acme');
    expect(received?.['content-type']).toBe('application/vnd.acme+json');
    expect(received?.['idempotency-key']).toBe('run-7:batch-42');
  });

  it('reuses keep-alive connections across batches', async () => {
    const ports = new Set<number>();
    const server = await serve((req, res) => {
      ports.add(req.socket.remotePort ?? 0);
      res.end();
    });
    const cfg = config({ url: server.url, concurrency: 1 });
    const base = defaultContext();
    const session = await http.open!(cfg, base);
    const ctx = { ...base, config: cfg, session, object: 'records', syncMode: 'append' as const, attempt: 1, stream: { name: 'records', jsonSchema: {} } };
    for (let i = 0; i < 5; i++) await object.write(outgoing({ i }), { ...ctx, idempotencyKey: `b${i}` });
    await http.close!(session, base, { complete: true });
    expect(server.received).toHaveLength(5);
    expect(ports.size).toBe(1);
  });
});

describe('http destination: outcomes', () => {
  it('retries every record on 503, with the body in the reason', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(503).end('upstream busy');
    });
    const outcomes = await writeOnce({ url: server.url }, two());
    expect(outcomes).toEqual([
      { status: 'retry', reason: 'HTTP 503: upstream busy' },
      { status: 'retry', reason: 'HTTP 503: upstream busy' },
    ]);
  });

  it('honours Retry-After in seconds on 429', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(429, { 'Retry-After': '2' }).end();
    });
    const before = Date.now();
    const [outcome] = await writeOnce({ url: server.url }, outgoing({ id: 1 }));
    expect(outcome?.status).toBe('retry');
    const notBefore = outcome?.status === 'retry' ? (outcome.notBefore ?? 0) : 0;
    expect(notBefore).toBeGreaterThanOrEqual(before + 2000);
    expect(notBefore).toBeLessThanOrEqual(Date.now() + 2000);
  });

  it('honours Retry-After as an HTTP-date', async () => {
    const at = new Date(Math.ceil((Date.now() + 30_000) / 1000) * 1000);
    const server = await serve((_req, res) => {
      res.writeHead(503, { 'Retry-After': at.toUTCString() }).end();
    });
    const [outcome] = await writeOnce({ url: server.url }, outgoing({ id: 1 }));
    expect(outcome).toEqual({ status: 'retry', reason: 'HTTP 503', notBefore: at.getTime() });
  });

  it('rejects every record on 400, quoting the error body', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"field `email` is required"}');
    });
    const outcomes = await writeOnce({ url: server.url }, two());
    expect(outcomes).toHaveLength(2);
    for (const outcome of outcomes) {
      expect(outcome).toEqual({ status: 'rejected', reason: 'HTTP 400: {"error":"field `email` is required"}' });
    }
  });

  it('rejects on 501 and on a redirect (not followed)', async () => {
    const server = await serve((req, res) => {
      if (req.url?.startsWith('/moved')) res.writeHead(301, { location: '/elsewhere' }).end();
      else res.writeHead(501).end();
    });
    expect(await writeOnce({ url: server.url }, outgoing({ id: 1 }))).toEqual([{ status: 'rejected', reason: 'HTTP 501' }]);
    expect(await writeOnce({ url: server.url.replace('/ingest', '/moved') }, outgoing({ id: 1 }))).toEqual([
      { status: 'rejected', reason: 'HTTP 301' },
    ]);
  });

  it('redacts secret header values that a server echoes back', async () => {
    const server = await serve((req, res) => {
      res.writeHead(422).end(`bad request from ${req.headers.authorization ?? ''} (token s3cret-token-value)`);
    });
    const [outcome] = await writeOnce({ url: server.url, headers: { Authorization: 'Bearer s3cret-token-value' } }, outgoing({ id: 1 }));
    expect(outcome).toEqual({ status: 'rejected', reason: 'HTTP 422: bad request from *** (token ***)' });
  });

  it('caps a huge error body to an excerpt', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(400).end('x'.repeat(1_000_000));
    });
    const [outcome] = await writeOnce({ url: server.url }, outgoing({ id: 1 }));
    expect(outcome?.status).toBe('rejected');
    expect(outcome?.status === 'rejected' && outcome.reason.length).toBeLessThan(400);
  });

  it.each([401, 403])('stops the run on %i without revealing the credentials', async (status) => {
    const server = await serve((req, res) => {
      res.writeHead(status).end(`invalid token: ${req.headers['x-api-key'] ?? ''}`);
    });
    const secretValue = 'sk_live_0123456789abcdef';
    const error = await writeOnce({ url: server.url, headers: { 'X-Api-Key': secretValue } }, two()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceError);
    const sluiceError = error as SluiceError;
    expect(sluiceError.code).toBe('AUTH_REFUSED');
    expect(sluiceError.retryClass).toBe('auth');
    expect(sluiceError.message).toContain(`HTTP ${status}`);
    expect(sluiceError.message).toContain('127.0.0.1');
    expect(sluiceError.message).not.toContain(secretValue);
    expect(sluiceError.message).not.toContain('0123456789');
  });
});

describe('http destination: network failures', () => {
  it('retries a request that times out', async () => {
    const server = await serve(() => {
      // Never answers.
    });
    const started = Date.now();
    const outcomes = await writeOnce({ url: server.url, timeout_ms: 200 }, two());
    expect(Date.now() - started).toBeLessThan(5000);
    expect(outcomes.map((o) => o.status)).toEqual(['retry', 'retry']);
    expect(outcomes[0]?.status === 'retry' && outcomes[0].reason).toMatch(/timeout/i);
  });

  it('retries when the server resets the connection', async () => {
    const server = await serve((req) => {
      req.socket.destroy();
    });
    const outcomes = await writeOnce({ url: server.url }, two());
    expect(outcomes.map((o) => o.status)).toEqual(['retry', 'retry']);
  });

  it('retries when the connection is refused', async () => {
    const outcomes = await writeOnce({ url: await closedPortUrl() }, two());
    expect(outcomes.map((o) => o.status)).toEqual(['retry', 'retry']);
    expect(outcomes[0]?.status === 'retry' && outcomes[0].reason).toContain('ECONNREFUSED');
  });
});

describe('http destination: check', () => {
  it('is ok when the server answers, even 404/405', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(405).end();
    });
    expect(await http.check(config({ url: server.url, headers: { Authorization: 'Bearer abcdefgh1234' } }), defaultContext())).toEqual({ ok: true });
    expect(server.received[0]?.method).toBe('OPTIONS');
    expect(server.received[0]?.headers.authorization).toBe('Bearer abcdefgh1234');
  });

  it('fails on refused credentials, naming the status and not the headers', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(401).end();
    });
    const result = await http.check(config({ url: server.url, headers: { Authorization: 'Bearer abcdefgh1234' } }), defaultContext());
    expect(result.ok).toBe(false);
    const reason = result.ok ? '' : result.reason;
    expect(reason).toContain('401');
    expect(reason).not.toContain('abcdefgh1234');
  });

  it('fails on a 5xx', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(502).end();
    });
    const result = await http.check(config({ url: server.url }), defaultContext());
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('HTTP 502') });
  });

  it('fails readably when nothing listens, naming the host', async () => {
    const url = await closedPortUrl();
    const result = await http.check(config({ url }), defaultContext());
    expect(result.ok).toBe(false);
    const reason = result.ok ? '' : result.reason;
    expect(reason).toContain(new URL(url).host);
    expect(reason).toContain('ECONNREFUSED');
  });
});

/**
 * A receiver's check of a Standard Webhooks signature, written from the spec and independent of the code
 * under test: the key is the base64 after `whsec_` (or the raw text), the signed content is
 * `<webhook-id>.<webhook-timestamp>.<raw body>`, and any one of the space-delimited `v1,` signatures must
 * equal the base64 HMAC-SHA256 of it.
 */
function verifiedBy(secret: string, request: Received): boolean {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret);
  const id = String(request.headers['webhook-id']);
  const timestamp = String(request.headers['webhook-timestamp']);
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest();
  return String(request.headers['webhook-signature'])
    .split(' ')
    .some((entry) => {
      const [version, signature] = entry.split(',');
      if (version !== 'v1' || signature === undefined) return false;
      const given = Buffer.from(signature, 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}

/**
 * The same check through the Standard Webhooks reference library (which also checks the timestamp's age).
 * Once a signature matches, `verify` parses the body as JSON: an NDJSON body then throws a SyntaxError,
 * which still means the signature verified.
 */
function libraryVerifies(secret: string | Webhook, request: Received): boolean {
  const webhook = typeof secret === 'string' ? new Webhook(secret) : secret;
  try {
    webhook.verify(request.body, request.headers as Record<string, string>);
    return true;
  } catch (error) {
    if (error instanceof WebhookVerificationError) return false;
    if (error instanceof SyntaxError) return true;
    throw error;
  }
}

describe('http destination: Standard Webhooks signatures', () => {
  // 32 random bytes, as a provider would issue them.
  const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD1FKtwM+Xa8Y=';
  const OLD_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

  it('signs each request: webhook-id is the batch key, the timestamp is now, the signature covers the exact body', async () => {
    const server = await serve();
    const before = Math.floor(Date.now() / 1000);
    expect(await writeOnce({ url: server.url, signing_secret: SECRET }, two(), 'run-3:batch-9')).toEqual([{ status: 'delivered' }, { status: 'delivered' }]);
    const [request] = server.received;
    expect(request?.headers['webhook-id']).toBe('run-3:batch-9');
    expect(request?.headers['idempotency-key']).toBe('run-3:batch-9');
    const timestamp = Number(request?.headers['webhook-timestamp']);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(String(request?.headers['webhook-signature'])).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    // The body keeps its long integer digit for digit, and the signature is over those bytes.
    expect(request?.body).toContain('12345678901234567890');
    expect(verifiedBy(SECRET, request!)).toBe(true);
    expect(libraryVerifies(SECRET, request!)).toBe(true);
    // A receiver with another secret, or a body changed by one byte, does not verify.
    expect(verifiedBy(OLD_SECRET, request!)).toBe(false);
    expect(libraryVerifies(OLD_SECRET, request!)).toBe(false);
    expect(verifiedBy(SECRET, { ...request!, body: request!.body.replace('Ada', 'Adb') })).toBe(false);
    expect(libraryVerifies(SECRET, { ...request!, body: request!.body.replace('Ada', 'Adb') })).toBe(false);
  });

  it('signs NDJSON and envelope bodies, and bodies with op_field, as sent', async () => {
    const server = await serve();
    await writeOnce({ url: server.url, signing_secret: SECRET, format: 'ndjson' }, two());
    await writeOnce({ url: server.url, signing_secret: SECRET, format: 'envelope', envelope_key: 'items' }, two());
    await writeOnce({ url: server.url, signing_secret: SECRET, op_field: '_op' }, [{ ...outgoing({ id: 1 })[0]!, op: 'create' }]);
    expect(server.received).toHaveLength(3);
    for (const request of server.received) {
      expect(verifiedBy(SECRET, request)).toBe(true);
      expect(libraryVerifies(SECRET, request)).toBe(true);
    }
  });

  it('uses a raw secret as its UTF-8 bytes', async () => {
    const raw = 'a plain shared secret, not base64';
    const server = await serve();
    await writeOnce({ url: server.url, signing_secret: raw }, two());
    expect(verifiedBy(raw, server.received[0]!)).toBe(true);
    expect(libraryVerifies(new Webhook(raw, { format: 'raw' }), server.received[0]!)).toBe(true);
    // Beyond ASCII the key is the text's UTF-8 (the JavaScript reference library's raw mode keeps only the
    // low byte of each UTF-16 unit, so it cannot verify such a secret: README says to keep raw secrets ASCII).
    const unicode = 'ünïcødé shared secret';
    await writeOnce({ url: server.url, signing_secret: unicode }, two());
    expect(verifiedBy(unicode, server.received[1]!)).toBe(true);
  });

  it('signs with every secret in a list, space-delimited, so a receiver on the old secret keeps verifying', async () => {
    const server = await serve();
    await writeOnce({ url: server.url, signing_secret: [SECRET, OLD_SECRET] }, two());
    const [request] = server.received;
    const signatures = String(request?.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    expect(signatures.every((signature) => signature.startsWith('v1,'))).toBe(true);
    expect(verifiedBy(SECRET, request!)).toBe(true);
    expect(verifiedBy(OLD_SECRET, request!)).toBe(true);
    expect(libraryVerifies(SECRET, request!)).toBe(true);
    expect(libraryVerifies(OLD_SECRET, request!)).toBe(true);
  });

  it('keeps webhook-id free of full stops (the retried part of a batch has a key `<batch>.<attempt>`)', async () => {
    const server = await serve();
    await writeOnce({ url: server.url, signing_secret: SECRET }, two(), 'b6f1c2d4-0001-4b8e-9a7f-3c2d1e0f9a8b-17.2');
    const [request] = server.received;
    expect(request?.headers['idempotency-key']).toBe('b6f1c2d4-0001-4b8e-9a7f-3c2d1e0f9a8b-17.2');
    expect(request?.headers['webhook-id']).toBe('b6f1c2d4-0001-4b8e-9a7f-3c2d1e0f9a8b-17_2');
    expect(verifiedBy(SECRET, request!)).toBe(true);
    expect(libraryVerifies(SECRET, request!)).toBe(true);
  });

  it('keeps the same webhook-id when a batch is retried, with a fresh timestamp and signature', async () => {
    let calls = 0;
    const server = await serve((_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(503).end();
      else res.end();
    });
    expect((await writeOnce({ url: server.url, signing_secret: SECRET }, two(), 'run-1:batch-5'))[0]?.status).toBe('retry');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await writeOnce({ url: server.url, signing_secret: SECRET }, two(), 'run-1:batch-5'))[0]?.status).toBe('delivered');
    const [first, second] = server.received;
    expect(first?.headers['webhook-id']).toBe(second?.headers['webhook-id']);
    expect(Number(second?.headers['webhook-timestamp'])).toBeGreaterThan(Number(first?.headers['webhook-timestamp']));
    expect(second?.headers['webhook-signature']).not.toBe(first?.headers['webhook-signature']);
    expect(verifiedBy(SECRET, first!) && verifiedBy(SECRET, second!)).toBe(true);
  });

  it('sends no signature headers without a secret', async () => {
    const server = await serve();
    await writeOnce({ url: server.url }, two());
    expect(server.received[0]?.headers['webhook-signature']).toBeUndefined();
    expect(server.received[0]?.headers['webhook-id']).toBeUndefined();
  });

  it('never reveals the secret, even when the endpoint echoes it', async () => {
    const raw = 'raw-shared-secret-0123456789';
    const server = await serve((_req, res) => {
      res.writeHead(400).end(`bad signature for secret ${raw}`);
    });
    const [outcome] = await writeOnce({ url: server.url, signing_secret: raw }, outgoing({ id: 1 }));
    expect(outcome).toEqual({ status: 'rejected', reason: 'HTTP 400: bad signature for secret ***' });
  });

  it('refuses malformed secrets and the signature headers as user headers, without echoing the secret', () => {
    const notBase64 = parseConfig(http.spec, { url: 'https://x.test', signing_secret: 'whsec_not*base64!' });
    expect(notBase64.ok).toBe(false);
    expect(JSON.stringify(notBase64)).not.toContain('not*base64');
    const short = parseConfig(http.spec, { url: 'https://x.test', signing_secret: `whsec_${Buffer.alloc(16, 7).toString('base64')}` });
    expect(short.ok ? '' : short.issues[0]?.message).toContain('24 to 64 bytes');
    expect(parseConfig(http.spec, { url: 'https://x.test', signing_secret: '' }).ok).toBe(false);
    expect(parseConfig(http.spec, { url: 'https://x.test', signing_secret: [] }).ok).toBe(false);
    expect(parseConfig(http.spec, { url: 'https://x.test', signing_secret: SECRET }).ok).toBe(true);
    expect(parseConfig(http.spec, { url: 'https://x.test', signing_secret: [SECRET, 'raw-old-secret'] }).ok).toBe(true);
    for (const name of ['Webhook-Signature', 'webhook-id', 'Webhook-Timestamp']) {
      expect(parseConfig(http.spec, { url: 'https://x.test', headers: { [name]: 'v1,x' } }).ok).toBe(false);
    }
  });
});

describe('http destination: spec', () => {
  it('fills defaults and derives batch limits and rate limits', () => {
    const cfg = config({ url: 'https://api.example.com/v1' });
    expect(cfg).toMatchObject({ method: 'POST', format: 'json_array', envelope_key: 'batch', batch_size: 500, concurrency: 4, timeout_ms: 30_000 });
    expect(resolvePerConfig(object.batch, cfg)).toEqual({ maxRecords: 500, maxBytes: 1_000_000, maxWaitMs: 1000 });
    expect(resolvePerConfig(http.limits, cfg)).toEqual({ requestsPerSecond: 0, concurrency: 4 });
    const tuned = config({ url: 'https://x.test', batch_size: 50, rate_limit: 10, concurrency: 2 });
    expect(resolvePerConfig(object.batch, tuned)?.maxRecords).toBe(50);
    expect(resolvePerConfig(http.limits, tuned)).toEqual({ requestsPerSecond: 10, concurrency: 2 });
  });

  it('rejects unknown keys and bad values, naming the path', () => {
    const result = parseConfig(http.spec, { url: 'https://x.test', batchSize: 10, method: 'GET' }, 'destinations.api');
    expect(result.ok).toBe(false);
    const paths = result.ok ? [] : result.issues.map((issue) => issue.path);
    expect(paths).toContain('destinations.api.batchSize');
    expect(paths).toContain('destinations.api.method');
  });

  it('rejects non-http URLs, credentials in the URL and headers Sluice owns, without echoing values', () => {
    expect(parseConfig(http.spec, { url: 'ftp://x.test' }).ok).toBe(false);
    expect(parseConfig(http.spec, { url: 'https://user:pw@x.test' }).ok).toBe(false);
    expect(parseConfig(http.spec, { url: 'https://x.test', headers: { 'Idempotency-Key': 'k' } }).ok).toBe(false);
    expect(parseConfig(http.spec, { url: 'https://x.test', headers: { 'Content-Length': '1' } }).ok).toBe(false);
    const bad = parseConfig(http.spec, { url: 'https://x.test', headers: { 'X-Key': 'hunter2\r\nX-Evil: 1' } });
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad)).not.toContain('hunter2');
  });
});
