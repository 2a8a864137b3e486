/**
 * The connector's catalog: discovered (`<command> discover --config F`, once per run) or given in the
 * config; read as Sluice streams (a namespaced stream is `namespace.name`); and turned into the
 * ConfiguredAirbyteCatalog a read needs — just the activation's stream, with its sync mode, cursor and
 * primary key, and `destination_sync_mode: append` (the protocol requires one; a source ignores it).
 */
import { z } from 'zod';
import { readAirbyteAnswer } from '../../../interop/external/airbyte-output.ts';
import { programName } from '../../../interop/external/child.ts';
import { DiscoveryCache } from '../../../interop/external/discovery-cache.ts';
import type { Redact } from '../../../interop/external/redact.ts';
import { runToCompletion } from '../../../interop/external/run.ts';
import { streamKey } from '../../../protocol/airbyte.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import type { ConnectorContext } from '../../../sdk/context.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import type { ConfiguredStream, StreamDescriptor } from '../../../sdk/source.ts';
import { field, parseConfig } from '../../../sdk/spec.ts';
import type { AirbyteSourceConfig } from './spec.ts';

const path = z.array(z.string());
const airbyteStream = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().nullish(),
  json_schema: z.record(z.string(), z.unknown()),
  supported_sync_modes: z.array(z.enum(['full_refresh', 'incremental'])).min(1).default(['full_refresh']),
  source_defined_cursor: z.boolean().optional(),
  default_cursor_field: path.optional(),
  source_defined_primary_key: z.array(path).optional(),
});
export const airbyteCatalogSchema = z.looseObject({
  streams: field(z.array(airbyteStream), { description: 'The AirbyteStreams: `name`, `json_schema`, `supported_sync_modes` and the rest, as `discover` prints them.' }),
});
export type AirbyteCatalog = z.output<typeof airbyteCatalogSchema>;
type AirbyteStream = AirbyteCatalog['streams'][number];

const discovered = new DiscoveryCache<AirbyteCatalog>();

export function sourceCatalog(config: AirbyteSourceConfig, ctx: ConnectorContext, redact: Redact): Promise<AirbyteCatalog> {
  if (config.catalog !== undefined) return Promise.resolve(config.catalog);
  return discovered.get(config, () => runDiscover(config, ctx, redact));
}

async function runDiscover(config: AirbyteSourceConfig, ctx: ConnectorContext, redact: Redact): Promise<AirbyteCatalog> {
  const name = programName(config.command);
  const result = await runToCompletion({
    config,
    args: async (files) => ['discover', '--config', await files.write('config.json', config.config)],
    logger: ctx.logger,
    redact,
    signal: ctx.signal,
    consume: (stdout) => readAirbyteAnswer(stdout, 'CATALOG', { name, logger: ctx.logger, redact }),
  });
  if (result.aborted) throw new SluiceError('SOURCE_FAILED', 'discovery was cancelled');
  if (result.value.error !== undefined) throw new SluiceError('SOURCE_FAILED', result.value.error);
  if (result.exit.code !== 0) throw new SluiceError('SOURCE_FAILED', result.failure);
  const parsed = parseConfig(airbyteCatalogSchema, result.value.message?.catalog);
  if (parsed.ok) return parsed.value;
  if (result.value.message === undefined) throw new SluiceError('SOURCE_FAILED', `${name} discover printed no CATALOG message`);
  const problems = parsed.issues.slice(0, 5).map((issue) => `catalog.${issue.path}: ${issue.message}`).join('; ');
  throw new SluiceError('SOURCE_FAILED', `${name} discover printed a CATALOG that is not valid: ${problems}`);
}

const keyOf = (stream: AirbyteStream) => streamKey(stream.name, stream.namespace);

export function streamsOf(catalog: AirbyteCatalog): StreamDescriptor[] {
  return catalog.streams.map((stream) => {
    const incremental = stream.supported_sync_modes.includes('incremental');
    const cursor = stream.default_cursor_field !== undefined && stream.default_cursor_field.length > 0 ? stream.default_cursor_field : undefined;
    // A source-defined cursor needs no field named: an empty cursor_field is what the protocol sends then.
    const cursorField = cursor ?? (incremental && stream.source_defined_cursor === true ? [] : undefined);
    const primaryKey = stream.source_defined_primary_key;
    return {
      name: keyOf(stream),
      jsonSchema: stream.json_schema,
      ...(primaryKey !== undefined && primaryKey.length > 0 ? { primaryKey } : {}),
      ...(cursorField === undefined ? {} : { cursorField }),
      syncModes: stream.supported_sync_modes,
    };
  });
}

export function configuredCatalog(catalog: AirbyteCatalog, streams: readonly ConfiguredStream[]): JsonObject {
  const byKey = new Map(catalog.streams.map((stream) => [keyOf(stream), stream]));
  return {
    streams: streams.map((configured) => {
      const stream = byKey.get(configured.name);
      if (stream === undefined) throw new SluiceError('CONFIG_INVALID', `the catalog has no stream "${configured.name}"`);
      return {
        stream: stream as JsonObject,
        sync_mode: configured.syncMode,
        cursor_field: [...(configured.cursorField ?? [])],
        primary_key: (configured.primaryKey ?? []).map((key) => [...key]),
        destination_sync_mode: 'append',
      };
    }),
  };
}
