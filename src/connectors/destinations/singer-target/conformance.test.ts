/** The singer-target destination passes the shared conformance suite, running the standalone fixture target. */
import { join } from 'node:path';
import { describeConformance, readJsonLines } from 'sluice/testing';
import { fixtureCommand } from '../../../../test/fixtures/external/support.ts';
import target from './index.ts';

describeConformance(target, {
  validConfig: ({ dir }) => ({ command: fixtureCommand('singer-target.mjs'), config: { path: join(dir, 'out.jsonl') }, max_wait_ms: 100 }),
  // The fixture target cannot start without a path to write to.
  invalidConfig: { command: fixtureCommand('singer-target.mjs'), config: {} },
  inspect: ({ dir }) => readJsonLines(join(dir, 'out.jsonl')),
  module: new URL('./index.ts', import.meta.url),
});
