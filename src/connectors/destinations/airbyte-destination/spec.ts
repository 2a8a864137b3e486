/**
 * The `airbyte-destination` destination's config: the connector's command line, its own config (secret),
 * the stream the records are written as (name, namespace, schema, keys), the destination sync mode, and
 * how batches are cut and confirmed. Unknown keys are rejected.
 */
import { z } from 'zod';
import { commandField, connectorConfigField, envField } from '../../../interop/external/spec-fields.ts';
import { field } from '../../../sdk/spec.ts';

export const airbyteDestinationSpec = z.strictObject({
  command: commandField([
    ['docker', 'run', '--rm', '-i', '-v', '/tmp:/tmp', 'airbyte/destination-local-json:0.2.11'],
    ['destination-duckdb'],
  ]),
  config: connectorConfigField('connector'),
  destination_sync_mode: field(z.enum(['append', 'overwrite', 'append_dedup']).default('append'), {
    description:
      "How the connector treats what is already there: `append` adds the records, `overwrite` replaces the stream's data with this run's records, `append_dedup` keeps one row per `primary_key` (the newest by `cursor_field`).",
  }),
  stream: field(z.string().min(1).optional(), {
    description: "The Airbyte stream name the records are written as — for most destinations, the table name. Default: the source stream's name.",
    examples: ['customers'],
  }),
  namespace: field(z.string().min(1).optional(), {
    description: "The stream's namespace — for most destinations, the schema or dataset the table goes in. Default: the connector's own default.",
    examples: ['crm'],
  }),
  json_schema: field(z.record(z.string(), z.unknown()).default({ type: 'object' }), {
    description:
      "The stream's JSON Schema in the configured catalog. Destinations that create typed columns need the real one (with `properties`); the default `{\"type\": \"object\"}` gets the records stored as they are by most.",
    examples: [{ type: 'object', properties: { id: { type: 'integer' }, email: { type: 'string' } } }],
  }),
  primary_key: field(z.array(z.string().min(1)).default([]), {
    description: 'The fields that identify a record (top-level field names); `append_dedup` needs them.',
    examples: [['id']],
  }),
  cursor_field: field(z.string().min(1).optional(), {
    description: 'With `append_dedup`: the field that says which of two records with the same key is newer.',
    examples: ['updated_at'],
    visibleWhen: { destination_sync_mode: 'append_dedup' },
  }),
  batch_size: field(z.int().min(1).max(1_000_000).default(10_000), {
    description:
      'The most records sent before Sluice asks the connector to confirm them. After each batch Sluice sends a STATE and waits until the connector echoes it, which an Airbyte destination does once the records before it are committed; larger batches mean fewer such waits.',
  }),
  max_wait_ms: field(z.int().min(0).default(1000), {
    description: 'How long a partly filled batch may wait for more records before it is sent anyway, in milliseconds.',
  }),
  echo_timeout_ms: field(z.int().min(1).default(300_000), {
    description:
      'How long to wait for the connector to echo the state that follows a batch (and, at the end, for it to exit), in milliseconds. A connector that stays silent longer fails the run; its batch is sent again next run.',
  }),
  env: envField,
});

export type AirbyteDestinationConfig = z.output<typeof airbyteDestinationSpec>;
