/**
 * The marketo-bulk destination runs the shared conformance suite against the local mock of Marketo's
 * APIs. The suite's spec and check checks apply as they are (the invalid config is derived: base_url moved
 * to a port nothing listens on, with a canary in client_secret). The suite drives bulk objects through
 * the engine (files → import jobs → results); marketo-bulk.test.ts drives upload → poll → results directly
 * as well (one outcome per row, in order, no secret in any reason or log line).
 */
import { afterAll, beforeAll } from 'vitest';
import { describeConformance } from 'sluice/testing';
import marketo from './index.ts';
import { MockMarketo } from './mock-marketo.ts';

const SECRET = 'conformance-marketo-secret-0123456789';
const mock = new MockMarketo({ clientSecret: SECRET, queuedMs: 5, importMs: 10 });

beforeAll(async () => {
  await mock.start();
});
afterAll(async () => {
  await mock.close();
});

describeConformance(marketo, {
  validConfig: () => ({ base_url: mock.url, client_id: mock.credentials.client_id, client_secret: SECRET }),
  object: 'leads',
  record: { email: 'user{id}@example.com' },
  module: new URL('./index.ts', import.meta.url),
});
