/**
 * The `singer-tap` source's config: the tap's command line, its own config (secret: taps keep
 * credentials there), an optional catalog to use instead of the tap's discovery, and extra environment
 * variables. Unknown keys are rejected; the tap's own config is passed on as it is.
 */
import { z } from 'zod';
import { commandField, connectorConfigField, envField } from '../../../interop/external/spec-fields.ts';
import { field } from '../../../sdk/spec.ts';

export const singerTapSpec = z.strictObject({
  command: commandField([['tap-github'], ['uvx', 'tap-github'], ['/opt/taps/tap-postgres/bin/tap-postgres']]),
  config: connectorConfigField('tap'),
  catalog: field(z.looseObject({ streams: field(z.array(z.looseObject({})), { description: 'The catalog entries, one per stream, as the tap discovers them.' }) }).optional(), {
    description:
      "A Singer catalog (the JSON a tap prints for `--discover`) to use instead of running the tap's discovery, e.g. to set replication metadata the tap needs. Sluice still decides which stream is selected: the activation's stream.",
  }),
  catalog_flag: field(z.enum(['--catalog', '--properties']).default('--catalog'), {
    description: 'How the catalog is handed to the tap: `--catalog` (Singer SDK and most taps) or `--properties` (older singer-python taps).',
  }),
  env: envField,
});

export type SingerTapConfig = z.output<typeof singerTapSpec>;
