/**
 * Event delivery on each database target, through the real API (ingestion by inject) and the http
 * destination to local receivers: filter and mapping; per-user order kept through 429s with Retry-After;
 * a failing destination that does not hold back another activation of the same source; dead letters
 * listed, and replayed (by filter, then the rest) once the receiver is fixed; restarts resume at the cursor.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TestApi, startTestApi } from '../../../test/support/api.ts';
import { forEachDatabase } from '../../../test/support/databases.ts';
import { eventConfig, track, waitFor } from '../../../test/support/events.ts';
import { type Receiver, accept, startReceiver } from '../../../test/support/receiver.ts';
import { type EventDelivery, startEventDelivery } from './delivery.ts';

const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 40 };

forEachDatabase((target) => {
  let api: TestApi;
  let delivery: EventDelivery | undefined;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    api = await startTestApi(target);
  });
  afterEach(async () => {
    await delivery?.stop();
    delivery = undefined;
    for (const receiver of receivers.splice(0)) await receiver.close();
  });
  afterAll(async () => {
    await api?.close();
  });

  async function receiver(respond = accept): Promise<Receiver> {
    const started = await startReceiver(respond);
    receivers.push(started);
    return started;
  }

  async function apply(config: unknown): Promise<void> {
    const posted = await api.call('POST', '/api/v1/configs', { body: { value: config } });
    expect(posted.status, posted.text).toBe(200);
    delivery ??= startEventDelivery(api.platform, { pollMs: 20, configCheckMs: 60_000, retry: FAST_RETRY, leaseSeconds: 5 });
    await delivery.sync();
  }

  const records = (from: Receiver) => from.requests.flatMap((request) => request.records);
  /** Distinct ids the receiver accepted (2xx). */
  const delivered = (from: Receiver) => [...new Set(from.acceptedIds('id'))];

  it('delivers the events its filter lets through, mapped', async () => {
    const web = await receiver();
    await apply(
      eventConfig([
        {
          name: 'pro_orders',
          url: web.url,
          filter: { types: ['track'], events: ['Order Completed'], where: 'properties.plan == "pro" and properties.total >= 10' },
          mapping: { id: 'messageId', user: 'userId', name: 'event', total: 'properties.total', source: { const: 'web' } },
        },
      ]),
    );
    const sent = await track(api.app, '/v1/batch', {
      batch: [
        { type: 'identify', userId: 'u1', traits: { plan: 'pro' }, messageId: 'f-1' },
        { type: 'track', userId: 'u1', event: 'Order Completed', properties: { plan: 'pro', total: 12 }, messageId: 'f-2' },
        { type: 'track', userId: 'u2', event: 'Order Completed', properties: { plan: 'free', total: 50 }, messageId: 'f-3' },
        { type: 'track', userId: 'u3', event: 'Order Completed', properties: { plan: 'pro', total: 5 }, messageId: 'f-4' },
        { type: 'track', anonymousId: 'a4', event: 'Signed Up', properties: { plan: 'pro', total: 99 }, messageId: 'f-5' },
      ],
    });
    expect(sent).toEqual({ status: 200, body: { success: true } });
    await waitFor('the pro order', () => records(web).length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(records(web)).toEqual([{ id: 'f-2', user: 'u1', name: 'Order Completed', total: 12, source: 'web' }]);
  });

  it("keeps each user's order through 429s with Retry-After, and pauses the whole activation for them", async () => {
    let refusals = 0;
    const pausedUntil: number[] = [];
    const web = await receiver((request, index, res) => {
      if (index < 2) {
        refusals++;
        pausedUntil.push(Date.now() + 1000);
        res.writeHead(429, { 'retry-after': '1' }).end('slow down');
        return;
      }
      accept(request, index, res, undefined as never);
    });
    await apply(eventConfig([{ name: 'ordered', url: web.url, mapping: { id: 'messageId', user: 'userId', n: 'properties.n' }, destination: { batch_size: 5, concurrency: 3 } }]));
    const users = ['ann', 'bob', 'cyd', 'dee'];
    const batch = Array.from({ length: 60 }, (_, n) => ({ type: 'track', userId: users[n % users.length], event: 'Step', properties: { n }, messageId: `o-${n}` }));
    expect((await track(api.app, '/v1/batch', { batch })).status).toBe(200);
    await waitFor('every event', () => delivered(web).length >= 60);
    expect(refusals).toBe(2);
    // Nothing was sent during the pause the Retry-After asked for.
    const firstAccepted = web.requests.find((_request, index) => index >= 2)!;
    expect(firstAccepted.at).toBeGreaterThanOrEqual(Math.max(...pausedUntil) - 1050);
    const accepted = web.requests.slice(2).flatMap((request) => request.records);
    for (const user of users) {
      const sequence = accepted.filter((record) => record.user === user).map((record) => record.n as number);
      expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
      expect(new Set(sequence).size).toBe(15);
    }
  });

  it('lets one activation deliver while another destination fails; dead letters are listed and replayed after the fix', async () => {
    const good = await receiver();
    let broken = true;
    const fixedNames: unknown[] = [];
    const flaky = await receiver((request, index, res) => {
      // Slow and failing: three attempts take most of a second.
      if (broken) setTimeout(() => res.writeHead(503).end('down for maintenance'), 250);
      else {
        fixedNames.push(...request.records.map((record) => record.name));
        accept(request, index, res, undefined as never);
      }
    });
    await apply(
      eventConfig([
        { name: 'to_good', url: good.url, mapping: { id: 'messageId' } },
        { name: 'to_flaky', url: flaky.url, mapping: { id: 'messageId', name: 'event' }, retry: { max_attempts: 3 }, destination: { batch_size: 10 } },
      ]),
    );
    const batch = Array.from({ length: 20 }, (_, n) => ({ type: 'track', userId: `u${n % 3}`, event: n % 2 === 0 ? 'Even' : 'Odd', messageId: `d-${n}` }));
    expect((await track(api.app, '/v1/batch', { batch })).status).toBe(200);
    await waitFor('the good activation', () => delivered(good).length >= 20);
    // Delivered while the other activation is still retrying its first batches.
    expect((await api.call('GET', '/api/v1/dead-letters?activation=to_flaky')).body.dead_letters).toEqual([]);

    const listed = await waitFor('dead letters', async () => {
      const page = await api.call('GET', '/api/v1/dead-letters?activation=to_flaky&limit=50');
      return page.body.dead_letters.length >= 20 ? page.body : undefined;
    });
    expect(listed.dead_letters[0]).toMatchObject({ activation: 'to_flaky', source: 'web', destination: 'to_to_flaky', attempts: 3, message_id: 'd-0', event: { type: 'track', messageId: 'd-0' } });
    expect(listed.dead_letters[0].reason).toContain('503');
    const sources = await api.call('GET', '/api/v1/event-sources');
    expect(sources.body).toEqual([
      expect.objectContaining({ name: 'web', write_keys: 1, activations: expect.arrayContaining([expect.objectContaining({ name: 'to_flaky', dead_letters: 20, lag: 0 })]) }),
    ]);

    broken = false;
    const bad = await api.call('POST', '/api/v1/dead-letters:replay', { body: { activation: 'to_flaky', filter: { where: 'event ==' } } });
    expect(bad.status).toBe(400);
    const even = await api.call('POST', '/api/v1/dead-letters:replay', { body: { activation: 'to_flaky', filter: { where: 'event == "Even"' } } });
    expect(even.body).toEqual({ replayed: 10 });
    await waitFor('the even events', () => delivered(flaky).length >= 10);
    expect(fixedNames).toEqual(Array.from({ length: 10 }, () => 'Even'));
    const rest = await api.call('POST', '/api/v1/dead-letters:replay', { body: { activation: 'to_flaky', from: new Date(Date.now() - 60_000).toISOString() } });
    expect(rest.body).toEqual({ replayed: 10 });
    await waitFor('every event', () => delivered(flaky).length >= 20);
    expect(delivered(good)).toHaveLength(20); // the replay was for to_flaky only
    const after = await api.call('GET', '/api/v1/dead-letters?activation=to_flaky');
    expect(after.body.dead_letters).toEqual([]);
    const replayed = await api.call('GET', '/api/v1/dead-letters?activation=to_flaky&status=replayed&limit=100');
    expect(replayed.body.dead_letters).toHaveLength(20);
    const audit = await api.call('GET', '/api/v1/audit');
    expect(audit.body.entries.filter((entry: { action: string }) => entry.action === 'dead_letters.replay')).toHaveLength(2);
  });

  it('resumes after a restart from its cursor, and refuses to trigger an event activation', async () => {
    const web = await receiver();
    await apply(eventConfig([{ name: 'resume', url: web.url, mapping: { id: 'messageId' } }]));
    expect((await track(api.app, '/v1/track', { userId: 'u', event: 'One', messageId: 'r-1' })).status).toBe(200);
    await waitFor('the first event', () => delivered(web).length >= 1);
    await delivery!.stop();
    delivery = undefined;
    expect((await track(api.app, '/v1/track', { userId: 'u', event: 'Two', messageId: 'r-2' })).status).toBe(200);
    delivery = startEventDelivery(api.platform, { pollMs: 20, configCheckMs: 60_000, retry: FAST_RETRY, leaseSeconds: 5 });
    await delivery.sync();
    await waitFor('the second event', () => delivered(web).length >= 2);
    expect(records(web).map((record) => record.id)).toEqual(['r-1', 'r-2']);
    const trigger = await api.call('POST', '/api/v1/activations/resume:trigger', { body: {} });
    expect(trigger.status).toBe(409);
    expect(trigger.body.error).toContain('delivers events as they arrive');
  });
});

describe('event activation configs', () => {
  let api: TestApi;
  beforeAll(async () => {
    const { databaseTargets } = await import('../../../test/support/databases.ts');
    api = await startTestApi(databaseTargets[0]!);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('are validated with the rest of the config, every problem with its path', async () => {
    const syntax = await api.call('POST', '/api/v1/configs:validate', { body: { value: eventConfig([{ name: 'e', url: 'http://127.0.0.1:9/x', filter: { where: 'properties.plan = "pro"' } }]) } });
    expect(syntax.body.issues).toEqual([{ path: 'activations[0].filter.where', message: '"=" at 17: compare with ==' }]);
    const config = eventConfig([{ name: 'e', url: 'http://127.0.0.1:9/x', filter: { where: 'properties.plan == "pro"' } }], ['short']);
    const withOthers = {
      ...config,
      sources: { ...config.sources, orders: { type: 'file', path: 'orders.csv' } },
      activations: [
        { ...config.activations[0], schedule: '@daily', sync_mode: 'upsert' },
        { name: 'batchy', source: { $ref: '#/sources/orders' }, destination: { $ref: '#/destinations/to_e' }, filter: { types: ['track'] } },
      ],
    };
    const result = await api.call('POST', '/api/v1/configs:validate', { body: { value: withOthers } });
    const paths = result.body.issues.map((issue: { path: string }) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['sources.web.write_keys[0]', 'activations[0].schedule', 'activations[0].sync_mode', 'activations[1].filter']));
  });
});
