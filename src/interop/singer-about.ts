/**
 * `--about` for Singer taps and targets, in the Meltano Singer SDK's JSON shape: name, description,
 * capabilities, and `settings` — the JSON Schema of the connector's config, which Meltano shows to users.
 */
import type { JsonObject } from '../protocol/json.ts';
import type { DestinationDefinition } from '../sdk/destination.ts';
import type { SourceDefinition } from '../sdk/source.ts';
import { specToJsonSchema } from '../sdk/spec.ts';

export function singerAbout(definition: SourceDefinition | DestinationDefinition): JsonObject {
  const tap = definition.kind === 'source';
  return {
    name: `${tap ? 'tap' : 'target'}-sluice-${definition.id}`,
    description: definition.description,
    capabilities: tap ? ['catalog', 'properties', 'discover', 'state', 'about'] : ['about', 'activate-version', 'batch'],
    settings: specToJsonSchema(definition.spec) as JsonObject,
  };
}
