/**
 * The events source passes the spec and check parts of the conformance suite. Its stream is the store's
 * event log, fed by the tracking API, so the read checks do not apply (see events.test.ts and
 * test/events.test.ts for delivery).
 */
import { describeConformance } from 'sluice/testing';
import source from './index.ts';

const notRead = 'an events source is not read by runs: the tracking API feeds the event log';

describeConformance(source, {
  validConfig: { write_keys: ['wk_conformance_0123456789abcdef'] },
  skip: {
    'check.invalid': 'every events config the spec accepts works: there is nothing to reach',
    'source.read': notRead,
    'source.state': notRead,
    'source.stop-early': notRead,
  },
});
