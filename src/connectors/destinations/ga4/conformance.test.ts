/**
 * The ga4 destination passes the shared conformance suite against the local mock of GA4's Measurement
 * Protocol. Test records `{ id, tag, name }` become events named `conformance_event` of client
 * `cid-<id>`, whose fields `id` and `tag` travel as event parameters; the suite reads them back from the
 * events the mock kept (those GA4 would keep).
 */
import { afterAll, beforeAll } from 'vitest';
import { describeConformance } from 'sluice/testing';
import type { JsonObject } from 'sluice/sdk';
import ga4 from './index.ts';
import { MockGa4 } from './mock-ga4.ts';

const SECRET = 'conformance-ga4-secret-0123456789';
const mock = new MockGa4({ apiSecret: SECRET });

beforeAll(async () => {
  await mock.start();
});
afterAll(async () => {
  await mock.close();
});

describeConformance(ga4, {
  // The invalid config is derived: base_url moved to a port nothing listens on.
  validConfig: () => ({ measurement_id: mock.measurementId, api_secret: SECRET, base_url: mock.url, batch_size: 50, max_wait_ms: 20 }),
  object: 'event',
  record: { name: 'conformance_event', client_id: 'cid-{id}' },
  inspect: async () => mock.events.map((event) => event.params as JsonObject),
  module: new URL('./index.ts', import.meta.url),
});
