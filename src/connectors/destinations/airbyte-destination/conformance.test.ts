/** The airbyte-destination destination passes the shared conformance suite, running the standalone fixture connector. */
import { join } from 'node:path';
import { describeConformance, readJsonLines } from 'sluice/testing';
import { fixtureCommand } from '../../../../test/fixtures/external/support.ts';
import destination from './index.ts';

describeConformance(destination, {
  validConfig: ({ dir }) => ({ command: fixtureCommand('airbyte-destination.mjs'), config: { path: join(dir, 'out.jsonl') }, max_wait_ms: 100 }),
  invalidConfig: ({ dir }) => ({ command: fixtureCommand('airbyte-destination.mjs'), config: { path: join(dir, 'missing', 'out.jsonl') } }),
  inspect: ({ dir }) => readJsonLines(join(dir, 'out.jsonl')),
  module: new URL('./index.ts', import.meta.url),
});
