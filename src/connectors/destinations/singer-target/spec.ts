/**
 * The `singer-target` destination's config: the target's command line, its own config (secret), how the
 * records are announced (stream name, schema, key properties) and how batches are cut and confirmed.
 * Unknown keys are rejected; the target's own config is passed on as it is.
 */
import { z } from 'zod';
import { commandField, connectorConfigField, envField } from '../../../interop/external/spec-fields.ts';
import { field } from '../../../sdk/spec.ts';

export const singerTargetSpec = z.strictObject({
  command: commandField([['/opt/targets/target-crm/bin/target-crm'], ['node', 'targets/crm.mjs'], ['npx', 'sluice', 'singer', 'target', 'http']]),
  config: connectorConfigField('target'),
  stream: field(z.string().min(1).optional(), {
    description: "The Singer stream name the records are sent under — for most targets, the table or file they land in. Default: the source stream's name.",
    examples: ['customers'],
  }),
  schema: field(z.record(z.string(), z.unknown()).default({ type: 'object' }), {
    description:
      'The JSON Schema sent in the SCHEMA message before the first record. Targets that create tables from it need the real one (with `properties`); the default `{"type": "object"}` suits targets that write records as they are.',
    examples: [{ type: 'object', properties: { id: { type: 'integer' }, email: { type: 'string' } } }],
  }),
  key_properties: field(z.array(z.string().min(1)).default([]), {
    description: "The record fields that identify a record, sent as the SCHEMA's `key_properties` (targets that upsert use them).",
    examples: [['id']],
  }),
  batch_size: field(z.int().min(1).max(1_000_000).default(10_000), {
    description:
      'The most records sent before Sluice asks the target to confirm them. After each batch Sluice sends a STATE and waits until the target prints it back, which a Singer target does once the records before it are stored; larger batches mean fewer such waits.',
  }),
  max_wait_ms: field(z.int().min(0).default(1000), {
    description: 'How long a partly filled batch may wait for more records before it is sent anyway, in milliseconds.',
  }),
  echo_timeout_ms: field(z.int().min(1).default(300_000), {
    description:
      'How long to wait for the target to print back the state that follows a batch (and, at the end, for it to exit), in milliseconds. A target that stays silent longer fails the run; its batch is sent again next run.',
  }),
  env: envField,
});

export type SingerTargetConfig = z.output<typeof singerTargetSpec>;
