/**
 * The `airbyte-source` source: any Airbyte source connector (a docker image, a Python connector) run as a
 * child process. Its catalog is discovered once per run; a read configures the activation's stream,
 * passes the last state back as `--state`, and streams RECORD and STATE messages into the engine. LOG
 * messages and stderr go to the run's logs (secrets masked); a TRACE ERROR or a non-zero exit fails the run
 * with the connector's message. See README.md.
 */
import { airbyteCheck } from '../../../interop/external/airbyte-check.ts';
import { redactor } from '../../../interop/external/redact.ts';
import { defineSource } from '../../../sdk/source.ts';
import { sourceCatalog, streamsOf } from './catalog.ts';
import { readSource } from './read.ts';
import { airbyteSourceSpec } from './spec.ts';

export default defineSource({
  id: 'airbyte-source',
  title: 'Airbyte source',
  description: 'Runs an external Airbyte source connector and reads its records, passing state back on the next run.',
  spec: airbyteSourceSpec,
  check: airbyteCheck,
  discover: async (config, ctx) => streamsOf(await sourceCatalog(config, ctx, redactor(config.config, config.env))),
  read: readSource,
});
