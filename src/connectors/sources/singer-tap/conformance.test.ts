/** The singer-tap source passes the shared conformance suite, running the standalone fixture tap. */
import { describeConformance } from 'sluice/testing';
import { fixtureCommand } from '../../../../test/fixtures/external/support.ts';
import tap from './index.ts';

describeConformance(tap, {
  validConfig: { command: fixtureCommand('singer-tap.mjs'), config: { count: 20 } },
  invalidConfig: { command: ['/nonexistent/tap-nothing'], config: {} },
});
