/**
 * The pendo destination passes the shared conformance suite against the local mock of Pendo's metadata
 * API. Test records `{ id, tag, name }` become visitors `visitor-<id>` whose custom fields id, tag and name
 * are declared in the mock, created on first write (`create_missing`), and read back from the mock.
 */
import { afterAll, beforeAll } from 'vitest';
import { describeConformance } from 'sluice/testing';
import type { JsonObject } from 'sluice/sdk';
import pendo from './index.ts';
import { MockPendo } from './mock-pendo.ts';

const KEY = 'conformance-pendo-key-0123456789';
const mock = new MockPendo({ integrationKey: KEY, customFields: { visitor: { id: 'number', tag: 'string', name: 'string' } }, maxRecords: 50 });

beforeAll(async () => {
  await mock.start();
});
afterAll(async () => {
  await mock.close();
});

describeConformance(pendo, {
  // The invalid config is derived: base_url moved to a port nothing listens on.
  validConfig: () => ({ integration_key: KEY, base_url: mock.url, create_missing: true, batch_size: 50, max_wait_ms: 20, rate_limit: 100 }),
  object: 'visitor',
  record: { visitorId: 'visitor-{id}' },
  inspect: async () => mock.all('visitor').map(({ values }) => values as JsonObject),
  module: new URL('./index.ts', import.meta.url),
});
