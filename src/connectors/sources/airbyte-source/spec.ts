/**
 * The `airbyte-source` source's config: the connector's command line (an image run with docker, or a
 * Python connector installed locally), its own config (secret), an optional catalog to use instead of
 * its `discover`, and extra environment variables. Unknown keys are rejected.
 */
import { z } from 'zod';
import { commandField, connectorConfigField, envField } from '../../../interop/external/spec-fields.ts';
import { field } from '../../../sdk/spec.ts';
import { airbyteCatalogSchema } from './catalog.ts';

export const airbyteSourceSpec = z.strictObject({
  command: commandField([
    ['docker', 'run', '--rm', '-i', '-v', '/tmp:/tmp', 'airbyte/source-faker:6.2.6'],
    ['source-github'],
  ]),
  config: connectorConfigField('connector'),
  catalog: field(airbyteCatalogSchema.optional(), {
    description:
      "An Airbyte catalog (the `catalog` of the CATALOG message `discover` prints: `{\"streams\": [...]}`) to use instead of running `discover`. Sluice builds the configured catalog for the activation's stream from it.",
  }),
  env: envField,
});

export type AirbyteSourceConfig = z.output<typeof airbyteSourceSpec>;
