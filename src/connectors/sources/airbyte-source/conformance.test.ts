/** The airbyte-source source passes the shared conformance suite, running the standalone fixture connector. */
import { describeConformance } from 'sluice/testing';
import { fixtureCommand } from '../../../../test/fixtures/external/support.ts';
import source from './index.ts';

describeConformance(source, {
  validConfig: { command: fixtureCommand('airbyte-source.mjs'), config: { count: 20 } },
  invalidConfig: { command: fixtureCommand('airbyte-source.mjs'), config: { fail_check: true } },
});
