/**
 * The tracking API on each database target: write-key auth (Basic user name or body `writeKey`, keys
 * from `${ENV}`, a new config's keys at once), gzip by Content-Encoding whatever the Content-Type, the
 * 32 KB / 500 KB limits (400; nothing of a refused batch stored), per-event rules (the bad events of a
 * batch rejected alone, with their reason, into the rejects ledger and the response; the rest stored),
 * batch context merged, messageId generated and deduplicated, receivedAt and clock-skew correction.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApi, startTestApi } from '../../../test/support/api.ts';
import { forEachDatabase } from '../../../test/support/databases.ts';
import { WRITE_KEY, basicAuth, eventConfig, track } from '../../../test/support/events.ts';
import { dumpEvents } from '../../store/events.ts';
import { MAX_BATCH_BYTES, normalizeRequest } from './normalize.ts';

const ENV_KEY = 'wk_from_env_fedcba9876543210';

forEachDatabase((target) => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi(target, { env: { MOBILE_KEY: ENV_KEY } });
    const config = eventConfig([], [WRITE_KEY, '${MOBILE_KEY}']);
    const posted = await api.call('POST', '/api/v1/configs', { body: { value: config } });
    expect(posted.status, posted.text).toBe(200);
  });
  afterAll(async () => {
    await api?.close();
  });

  async function logged(messageId?: string): Promise<Array<{ source: string; body: Record<string, any> }>> {
    const events = await dumpEvents(api.db);
    return events.filter((row) => messageId === undefined || row.event.messageId === messageId).map((row) => ({ source: row.source, body: row.event }));
  }

  it('takes a write key as the Basic user name, as writeKey in the body, or from ${ENV}; refuses the rest with 401', async () => {
    expect(await track(api.app, '/v1/track', { userId: 'u1', event: 'A', messageId: 'auth-1' })).toEqual({ status: 200, body: { success: true } });
    expect((await track(api.app, '/v1/track', { userId: 'u1', event: 'A', messageId: 'auth-2', writeKey: WRITE_KEY }, {})).status).toBe(200);
    expect((await track(api.app, '/v1/track', { userId: 'u1', event: 'A', messageId: 'auth-3' }, { authorization: basicAuth(ENV_KEY) })).status).toBe(200);
    const none = await track(api.app, '/v1/track', { userId: 'u1', event: 'A' }, {});
    expect(none).toEqual({ status: 401, body: { success: false, error: expect.stringContaining('write key is required') } });
    expect((await track(api.app, '/v1/track', { userId: 'u1', event: 'A' }, { authorization: basicAuth('wk_wrong_0123456789abcdef') })).status).toBe(401);
    expect((await track(api.app, '/v1/track', { userId: 'u1', event: 'A' }, { 'x-api-key': api.key })).status).toBe(401);
    expect((await logged()).map((event) => event.body.messageId)).toEqual(['auth-1', 'auth-2', 'auth-3']);
    expect((await logged('auth-2'))[0]!.body).not.toHaveProperty('writeKey');
  });

  it('reads gzip and deflate by Content-Encoding, whatever the Content-Type says', async () => {
    const body = JSON.stringify({ batch: [{ type: 'track', userId: 'u2', event: 'Zipped', messageId: 'gz-1' }] });
    for (const [encoding, payload, type] of [
      ['gzip', gzipSync(body), 'application/x-www-form-urlencoded'],
      ['deflate', deflateSync(body.replace('gz-1', 'gz-2')), 'text/plain'],
    ] as const) {
      const response = await api.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basicAuth(), 'content-type': type, 'content-encoding': encoding }, payload });
      expect(response.statusCode, response.body).toBe(200);
    }
    const plain = await api.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basicAuth() }, payload: body.replace('gz-1', 'gz-3') });
    expect(plain.statusCode).toBe(200);
    expect((await logged('gz-2'))[0]!.body.event).toBe('Zipped');
    const broken = await api.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basicAuth(), 'content-encoding': 'gzip' }, payload: body });
    expect(broken.statusCode).toBe(400);
    const bomb = await api.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basicAuth(), 'content-encoding': 'gzip' }, payload: gzipSync(Buffer.alloc(5_000_000, 32)) });
    expect(bomb.statusCode).toBe(400);
    expect(bomb.json().error).toContain('500 KB');
    const unknown = await api.app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: basicAuth(), 'content-encoding': 'zstd' }, payload: body });
    expect(unknown.statusCode).toBe(415);
  });

  it('rejects the bad events of a batch alone, with their reasons, and accepts the rest', async () => {
    const batch = [
      { type: 'track', userId: 'u3', event: 'Fine', messageId: 'bad-0' },
      { type: 'track', userId: 'u3', messageId: 'bad-1' },
      { type: 'identify', traits: {}, messageId: 'bad-2' },
      { type: 'launch', userId: 'u3' },
      { type: 'page', anonymousId: 'a', timestamp: 'yesterday' },
      'not an event',
      { type: 'track', userId: 'u3', event: 'Also fine', messageId: 'bad-6' },
    ];
    const response = await track(api.app, '/v1/batch', { batch });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      success: true,
      rejected: [
        { index: 1, path: 'batch[1]', message: 'batch[1].event: a track event needs its name in "event"' },
        { index: 2, path: 'batch[2]', message: 'batch[2]: needs a userId or an anonymousId' },
        { index: 3, path: 'batch[3]', message: 'batch[3].type: must be one of track, identify, page, screen, group, alias' },
        { index: 4, path: 'batch[4]', message: 'batch[4].timestamp: must be an ISO 8601 date-time' },
        { index: 5, path: 'batch[5]', message: 'batch[5]: must be an event object' },
      ],
    });
    expect((await logged('bad-0')).map((event) => event.body.event)).toEqual(['Fine']);
    expect((await logged('bad-6')).map((event) => event.body.event)).toEqual(['Also fine']);
    expect(await logged('bad-1')).toEqual([]);
    // The rejects ledger keeps each with its reason and the event as sent.
    const rejects = await api.call('GET', '/api/v1/event-rejects?source=web&limit=3');
    expect(rejects.status, rejects.text).toBe(200);
    expect(rejects.body.rejects).toEqual([
      { id: expect.any(Number), source: 'web', received_at: expect.any(String), path: 'batch[1]', reason: expect.stringContaining('"event"'), event: batch[1] },
      { id: expect.any(Number), source: 'web', received_at: expect.any(String), path: 'batch[2]', reason: expect.stringContaining('userId'), event: batch[2] },
      { id: expect.any(Number), source: 'web', received_at: expect.any(String), path: 'batch[3]', reason: expect.stringContaining('type'), event: batch[3] },
    ]);
    const rest = await api.call('GET', `/api/v1/event-rejects?source=web&cursor=${encodeURIComponent(rejects.body.next_cursor)}`);
    expect(rest.body.rejects.map((reject: { event: unknown }) => reject.event)).toEqual([batch[4], batch[5]]);
    const sources = await api.call('GET', '/api/v1/event-sources');
    expect(sources.body.find((source: { name: string }) => source.name === 'web').rejected).toBe(5);
    // The same batch again (a client retrying): events with a messageId are neither logged nor rejected twice.
    expect((await track(api.app, '/v1/batch', { batch })).status).toBe(200);
    expect(await logged('bad-0')).toHaveLength(1);
    const again = await api.call('GET', '/api/v1/event-rejects?source=web&limit=100');
    expect(again.body.rejects.map((reject: { path: string }) => reject.path)).toEqual(['batch[1]', 'batch[2]', 'batch[3]', 'batch[4]', 'batch[5]', 'batch[3]', 'batch[4]', 'batch[5]']);
    // A batch whose every event is bad is still a 200: each is rejected with its reason.
    const allBad = await track(api.app, '/v1/batch', { batch: [{ type: 'track', event: 'No one' }] });
    expect(allBad).toEqual({ status: 200, body: { success: true, rejected: [{ index: 0, path: 'batch[0]', message: expect.stringContaining('userId') }] } });
    expect((await api.call('GET', '/api/v1/event-sources')).body.find((source: { name: string }) => source.name === 'web').rejected).toBe(9);
  });

  it('refuses a malformed request whole (400) and a bad single event', async () => {
    const badContext = await track(api.app, '/v1/batch', { context: 'web', batch: [{ type: 'track', userId: 'u3', event: 'Fine', messageId: 'ctx-0' }] });
    expect(badContext).toEqual({ status: 400, body: { success: false, error: 'context: must be an object', issues: [{ path: 'context', message: 'must be an object' }] } });
    expect(await logged('ctx-0')).toEqual([]);
    const single = await track(api.app, '/v1/track', { userId: 'u3' });
    expect(single).toEqual({ status: 400, body: { success: false, error: expect.stringContaining('"event"'), issues: [{ path: 'body.event', message: expect.any(String) }] } });
    expect((await track(api.app, '/v1/batch', { nope: [] })).status).toBe(400);
    const malformed = await api.app.inject({ method: 'POST', url: '/v1/track', headers: { authorization: basicAuth(), 'content-type': 'application/json' }, payload: '{"userId": ' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toMatch(/^malformed JSON body/);
  });

  it('enforces 32 KB per event and 500 KB per batch', async () => {
    const big = 'x'.repeat(33 * 1024);
    const single = await track(api.app, '/v1/track', { userId: 'u4', event: 'Big', properties: { big } });
    expect(single.status).toBe(400);
    expect(single.body.error).toContain('32 KB');
    const inBatch = await track(api.app, '/v1/batch', { batch: [{ type: 'track', userId: 'u4', event: 'Ok' }, { type: 'track', userId: 'u4', event: 'Big', properties: { big } }] });
    expect(inBatch.status).toBe(400);
    expect(inBatch.body.issues).toEqual([{ path: 'batch[1]', message: expect.stringContaining('32 KB') }]);
    const events = Array.from({ length: 20 }, (_, n) => ({ type: 'track', userId: 'u4', event: 'Mid', properties: { pad: 'y'.repeat(30 * 1024) }, messageId: `mid-${n}` }));
    const tooMuch = await track(api.app, '/v1/batch', { batch: events });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.error).toContain('500 KB');
    expect((await track(api.app, '/v1/batch', { batch: events.slice(0, 15) })).status).toBe(200);
    // Under 32 KB as sent, over it once the batch context is merged in: the limit is on what was sent.
    const nearLimit = { type: 'track', userId: 'u4', event: 'Near', properties: { pad: 'z'.repeat(32 * 1024 - 200) }, messageId: 'near-limit' };
    const merged = await track(api.app, '/v1/batch', { context: { note: 'n'.repeat(2000) }, batch: [nearLimit] });
    expect(merged.status).toBe(200);
    expect((await logged('near-limit'))[0]!.body.context.note).toHaveLength(2000);
  });

  it('merges the batch context, generates and deduplicates message ids, stamps receivedAt and corrects clock skew', async () => {
    const sentAt = new Date(Date.now() + 3_600_000); // the client's clock is an hour fast
    const happened = new Date(sentAt.getTime() - 5000);
    const batch = {
      context: { library: { name: 'test' }, ip: '10.0.0.1' },
      integrations: { All: true },
      sentAt: sentAt.toISOString(),
      batch: [
        { type: 'track', userId: 'u5', event: 'Skewed', timestamp: happened.toISOString(), context: { ip: '10.0.0.2' }, messageId: 'dup-1' },
        { type: 'identify', userId: 'u5', traits: { plan: 'pro' } },
        { type: 'track', userId: 'u5', event: 'Skewed', messageId: 'dup-1' },
      ],
    };
    const before = Date.now();
    expect((await track(api.app, '/v1/batch', batch)).status).toBe(200);
    expect((await track(api.app, '/v1/batch', batch)).status).toBe(200); // a retried request: accepted, not logged twice
    const [skewed, ...more] = await logged('dup-1');
    expect(more).toEqual([]);
    const event = skewed!.body;
    expect(event.context).toEqual({ library: { name: 'test' }, ip: '10.0.0.2' });
    expect(event.integrations).toEqual({ All: true });
    expect(event.originalTimestamp).toBe(happened.toISOString());
    expect(event.sentAt).toBe(sentAt.toISOString());
    const received = Date.parse(event.receivedAt);
    expect(received).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(event.timestamp)).toBe(received - 5000);
    const identifies = (await logged()).filter((row) => row.body.type === 'identify' && row.body.userId === 'u5');
    expect(identifies).toHaveLength(2); // no messageId: each request's gets its own
    expect(identifies[0]!.body.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(identifies[0]!.body.timestamp).toBe(identifies[0]!.body.receivedAt);
  });

  it('sees the write keys of a newly posted config at once', async () => {
    const fresh = 'wk_fresh_00112233445566778899';
    expect((await track(api.app, '/v1/track', { userId: 'u6', event: 'A' }, { authorization: basicAuth(fresh) })).status).toBe(401);
    const posted = await api.call('POST', '/api/v1/configs', { body: { value: eventConfig([], [WRITE_KEY, fresh]) } });
    expect(posted.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await track(api.app, '/v1/track', { userId: 'u6', event: 'A' }, { authorization: basicAuth(fresh) })).status).toBe(200);
  });
});

describe('normalizeRequest', () => {
  it('takes the route type for single events and rejects a non-object', () => {
    const ok = normalizeRequest('page', { anonymousId: 'a', name: 'Home' }, 40);
    expect(ok.ok && JSON.parse(ok.events[0]!.json)).toMatchObject({ type: 'page', name: 'Home', anonymousId: 'a' });
    expect(normalizeRequest('alias', { userId: 'u' }, 20)).toMatchObject({ ok: false, issues: [{ path: 'body.previousId' }] });
    expect(normalizeRequest('batch', [], 2)).toMatchObject({ ok: false });
    expect(normalizeRequest('batch', { batch: [] }, MAX_BATCH_BYTES + 1)).toMatchObject({ ok: false, error: expect.stringContaining('500 KB') });
  });

  it('takes a writeKey from the body and keeps it out of the stored event', () => {
    const ok = normalizeRequest('track', { writeKey: 'wk_1', userId: 'u', event: 'E' }, 50);
    expect(ok).toMatchObject({ ok: true, writeKey: 'wk_1' });
    expect(ok.ok && JSON.parse(ok.events[0]!.json)).not.toHaveProperty('writeKey');
  });

  it('measures an event against 32 KB as it was sent, not as stored with the batch context', () => {
    const event = (pad: number) => ({ type: 'track', userId: 'u', event: 'E', properties: { pad: 'p'.repeat(pad) } });
    const body = (pad: number) => ({ context: { note: 'n'.repeat(2000) }, batch: [event(pad)] });
    const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
    const under = body(32 * 1024 - 200);
    expect(normalizeRequest('batch', under, bytes(under))).toMatchObject({ ok: true });
    const over = body(32 * 1024 + 10);
    expect(normalizeRequest('batch', over, bytes(over))).toMatchObject({ ok: false, issues: [{ path: 'batch[0]', message: expect.stringContaining('32 KB') }] });
  });
});
