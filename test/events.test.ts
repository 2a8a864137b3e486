/**
 * The real client libraries, unchanged, against a listening server: `@segment/analytics-node` (JSON,
 * Basic auth) and `@rudderstack/rudder-sdk-node` (gzip labelled application/x-www-form-urlencoded) send
 * track, identify, page and screen calls to `/v1/batch`; an event activation with a filter and a mapping
 * delivers what its filter lets through to a local HTTP receiver (the http destination). The event log is
 * the embedded one `sluice serve` uses: its own PGlite in a worker thread.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventDelivery, startEventDelivery } from '../src/platform/events/delivery.ts';
import { openEventLog } from '../src/store/event-log.ts';
import { dumpEvents } from '../src/store/events.ts';
import { type TestApi, startTestApi } from './support/api.ts';
import { databaseTargets } from './support/databases.ts';
import { WRITE_KEY, eventConfig, waitFor } from './support/events.ts';
import { type Receiver, startReceiver } from './support/receiver.ts';

const RUDDER_KEY = 'wk_rudder_0123456789abcdef';

let api: TestApi;
let delivery: EventDelivery;
let receiver: Receiver;
let url: string;
let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-event-log-'));
  // As `sluice serve` runs embedded: the event log in its own PGlite, in a worker thread.
  api = await startTestApi(databaseTargets[0]!, { eventLog: () => openEventLog(home) });
  receiver = await startReceiver();
  const config = eventConfig(
    [
      {
        name: 'web_to_crm',
        url: receiver.url,
        filter: { types: ['track', 'identify', 'page'], where: 'type != "track" or properties.keep == true' },
        mapping: { id: 'messageId', type: 'type', user: 'userId', what: { template: '{{event}}{{name}}' }, plan: 'traits.plan', library: 'context.library.name', at: 'timestamp' },
      },
    ],
    [WRITE_KEY, RUDDER_KEY],
  );
  const posted = await api.call('POST', '/api/v1/configs', { body: { value: config } });
  expect(posted.status, posted.text).toBe(200);
  delivery = startEventDelivery(api.platform, { pollMs: 20 });
  await delivery.sync();
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await delivery?.stop();
  await api?.close();
  await receiver?.close();
  await rm(home, { recursive: true, force: true });
});

function received(library: string) {
  return receiver.requests.flatMap((request) => request.records).filter((record) => record.library === library);
}

describe('client libraries, end to end', () => {
  it('@segment/analytics-node', async () => {
    const analytics = new SegmentAnalytics({ writeKey: WRITE_KEY, host: url, flushAt: 3, flushInterval: 100 });
    const errors: unknown[] = [];
    analytics.on('error', (error) => errors.push(error));
    analytics.identify({ userId: 'seg-1', traits: { plan: 'pro' } });
    analytics.track({ userId: 'seg-1', event: 'Order Completed', properties: { keep: true } });
    analytics.track({ userId: 'seg-1', event: 'Dropped', properties: { keep: false } });
    analytics.page({ userId: 'seg-1', name: 'Pricing' });
    analytics.screen({ userId: 'seg-1', name: 'Home' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    const records = await waitFor('the segment events', () => {
      const found = received('@segment/analytics-node');
      return found.length >= 3 ? found : undefined;
    });
    expect(records.map((record) => [record.type, record.user, record.what])).toEqual([
      ['identify', 'seg-1', ''],
      ['track', 'seg-1', 'Order Completed'],
      ['page', 'seg-1', 'Pricing'],
    ]);
    expect(records[0]!.plan).toBe('pro');
    expect(Date.parse(String(records[1]!.at))).toBeGreaterThan(Date.now() - 60_000);
  });

  it('@rudderstack/rudder-sdk-node (gzip)', async () => {
    const client = new RudderAnalytics(RUDDER_KEY, { dataPlaneUrl: url, flushAt: 3, flushInterval: 100, logLevel: 'error' });
    client.identify({ userId: 'rud-1', traits: { plan: 'team' } });
    client.track({ userId: 'rud-1', event: 'Signed Up', properties: { keep: true } });
    client.track({ anonymousId: 'anon-7', event: 'Dropped', properties: { keep: false } });
    client.page({ userId: 'rud-1', name: 'Docs' });
    await client.flush();
    const records = await waitFor('the rudderstack events', () => {
      const found = received('analytics-node');
      return found.length >= 3 ? found : undefined;
    });
    expect(records.map((record) => [record.type, record.user, record.what])).toEqual([
      ['identify', 'rud-1', ''],
      ['track', 'rud-1', 'Signed Up'],
      ['page', 'rud-1', 'Docs'],
    ]);
    expect(records[0]!.plan).toBe('team');
    const logged = await dumpEvents(api.platform.eventLog!);
    expect(logged.filter((row) => row.event.context?.library?.name === 'analytics-node')).toHaveLength(4);
  });
});
