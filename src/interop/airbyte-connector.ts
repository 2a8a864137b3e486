/**
 * Airbyte `spec`, `check` and `discover` for Sluice connectors, each as the one message Airbyte expects.
 *
 * - SPEC: the config's JSON Schema (draft-07, which Airbyte validates with; secret fields carry
 *   `airbyte_secret`), and for destinations `supported_destination_sync_modes`.
 * - CONNECTION_STATUS: SUCCEEDED, or FAILED with the connector's reason — a failed check is an answer,
 *   not an error, so the process still exits 0 (as Airbyte's CDKs do).
 * - CATALOG: the source's streams with json_schema, sync modes, cursor and primary key.
 */
import { z } from 'zod';
import { connectionStatus } from '../protocol/airbyte.ts';
import type { JsonObject } from '../protocol/json.ts';
import type { ConnectorContext } from '../sdk/context.ts';
import type { DestinationDefinition } from '../sdk/destination.ts';
import { describeError } from '../sdk/errors.ts';
import type { SourceDefinition } from '../sdk/source.ts';
import { supportedDestinationModes, toAirbyteStream } from './airbyte-catalog.ts';

export function airbyteSpec(definition: SourceDefinition | DestinationDefinition): JsonObject {
  // Same derivation as specToJsonSchema, but draft-07: the dialect Airbyte's platform validates configs with.
  const connectionSpecification = z.toJSONSchema(definition.spec, { io: 'input', unrepresentable: 'any', target: 'draft-7' }) as JsonObject;
  const spec: JsonObject = { connectionSpecification };
  if (definition.kind === 'destination') {
    spec.supportsIncremental = true;
    spec.supportsNormalization = false;
    spec.supportsDBT = false;
    spec.supported_destination_sync_modes = supportedDestinationModes(definition);
  }
  return { type: 'SPEC', spec };
}

export async function airbyteCheck(definition: SourceDefinition | DestinationDefinition, config: unknown, ctx: ConnectorContext): Promise<JsonObject> {
  try {
    const result = await definition.check(config, ctx);
    return result.ok ? connectionStatus(true) : connectionStatus(false, result.reason);
  } catch (error) {
    return connectionStatus(false, describeError(error));
  }
}

export async function airbyteDiscover(definition: SourceDefinition, config: unknown, ctx: ConnectorContext): Promise<JsonObject> {
  const streams = await definition.discover(config, ctx);
  return { type: 'CATALOG', catalog: { streams: streams.map(toAirbyteStream) } };
}
