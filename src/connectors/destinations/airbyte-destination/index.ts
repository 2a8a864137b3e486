/**
 * The `airbyte-destination` destination: any Airbyte destination connector (a docker image, a Python
 * connector) run as `write` for the length of a run. Each batch is confirmed by the connector echoing the
 * state that follows it, so a record counts as delivered only once the connector has committed it. LOG
 * messages and stderr go to the run's logs (secrets masked); a TRACE ERROR, a crash or a silent connector
 * fails the run with the connector's own message. See README.md.
 */
import { airbyteCheck } from '../../../interop/external/airbyte-check.ts';
import { defineDestination } from '../../../sdk/destination.ts';
import { airbyteDestinationSpec } from './spec.ts';
import { AirbyteDestinationSession, writeBatch } from './write.ts';

export default defineDestination<typeof airbyteDestinationSpec, AirbyteDestinationSession>({
  id: 'airbyte-destination',
  title: 'Airbyte destination',
  description: 'Runs an external Airbyte destination connector and writes the records to it; each batch counts as delivered once the connector commits it.',
  spec: airbyteDestinationSpec,
  check: airbyteCheck,
  open: async (config, ctx) => new AirbyteDestinationSession(config, ctx.logger),
  close: (session, _ctx, end) => session.close(end.complete),
  objects: {
    records: {
      title: 'Records',
      description: "Every record, as a RECORD of the configured stream (or of its source stream), with the configured destination sync mode.",
      // The connector's destination_sync_mode does the real work; to the engine every run adds records.
      syncModes: ['append'],
      batch: (config) => ({ maxRecords: config.batch_size, maxBytes: 16_000_000, maxWaitMs: config.max_wait_ms }),
      write: writeBatch,
    },
  },
  // One batch at a time: the connector reads one input stream, and each batch waits for its confirmation.
  limits: { concurrency: 1 },
});
