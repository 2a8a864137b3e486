/**
 * Airbyte catalogs: the CATALOG a source's `discover` prints, and the ConfiguredAirbyteCatalog that
 * `read` and `write` are given. Parsing is lenient where the protocol is (`additionalProperties: true`: a
 * `_comment`, `sync_id` or `generation_id` is kept, not refused) and names the path of anything missing.
 *
 * Sync modes: a Sluice destination object's modes map to Airbyte's as overwrite → overwrite,
 * append → append, upsert → append_dedup, update → update.
 */
import { z } from 'zod';
import { streamKey } from '../protocol/airbyte.ts';
import type { JsonObject } from '../protocol/json.ts';
import { type DestinationDefinition, type DestinationSyncMode, isStreamingObject } from '../sdk/destination.ts';
import type { StreamDescriptor } from '../sdk/source.ts';
import { type ConfigIssue, parseConfig } from '../sdk/spec.ts';

const path = z.array(z.string());

const airbyteStream = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().nullish(),
  json_schema: z.record(z.string(), z.unknown()),
  supported_sync_modes: z.array(z.enum(['full_refresh', 'incremental'])).optional(),
  source_defined_cursor: z.boolean().optional(),
  default_cursor_field: path.optional(),
  source_defined_primary_key: z.array(path).optional(),
});

export const AIRBYTE_DESTINATION_MODES = ['append', 'overwrite', 'append_dedup', 'update', 'soft_delete'] as const;
export type AirbyteDestinationMode = (typeof AIRBYTE_DESTINATION_MODES)[number];

const configuredStream = z.looseObject({
  stream: airbyteStream,
  sync_mode: z.enum(['full_refresh', 'incremental']),
  // Required by the protocol; a catalog without it gets the mode that never deletes anything.
  destination_sync_mode: z.enum(AIRBYTE_DESTINATION_MODES).default('append'),
  cursor_field: path.optional(),
  primary_key: z.array(path).optional(),
});

const configuredCatalog = z.looseObject({ streams: z.array(configuredStream) });

export type ConfiguredCatalog = z.output<typeof configuredCatalog>;
export type ConfiguredAirbyteStream = z.output<typeof configuredStream>;

export function parseConfiguredCatalog(raw: unknown): { ok: true; catalog: ConfiguredCatalog } | { ok: false; issues: ConfigIssue[] } {
  const parsed = parseConfig(configuredCatalog, raw);
  return parsed.ok ? { ok: true, catalog: parsed.value } : { ok: false, issues: parsed.issues };
}

export function configuredKey(configured: ConfiguredAirbyteStream): string {
  return streamKey(configured.stream.name, configured.stream.namespace);
}

/** A discovered Sluice stream as an AirbyteStream. */
export function toAirbyteStream(stream: StreamDescriptor): JsonObject {
  return {
    name: stream.name,
    json_schema: stream.jsonSchema as JsonObject,
    supported_sync_modes: [...stream.syncModes],
    source_defined_cursor: stream.cursorField !== undefined,
    default_cursor_field: [...(stream.cursorField ?? [])],
    source_defined_primary_key: (stream.primaryKey ?? []).map((key) => [...key]),
  };
}

const TO_SLUICE: Record<AirbyteDestinationMode, DestinationSyncMode | undefined> = {
  overwrite: 'overwrite',
  append: 'append',
  append_dedup: 'upsert',
  update: 'update',
  soft_delete: undefined,
};

/** What `spec` advertises: the Airbyte modes that some object of the destination can do. */
export function supportedDestinationModes(definition: DestinationDefinition): AirbyteDestinationMode[] {
  const modes = new Set(Object.values(definition.objects).filter(isStreamingObject).flatMap((object) => object.syncModes));
  return AIRBYTE_DESTINATION_MODES.filter((mode) => {
    const sluice = TO_SLUICE[mode];
    return sluice !== undefined && modes.has(sluice);
  });
}

/**
 * The one Sluice sync mode a write runs with. Every stream goes to the same object, so the streams must
 * agree on it, and the object must support it; otherwise the reason, for a config_error.
 */
export function writeSyncMode(catalog: ConfiguredCatalog, definition: DestinationDefinition, objectName: string): { mode?: DestinationSyncMode } | { error: string } {
  const object = definition.objects[objectName];
  const supported = object !== undefined && isStreamingObject(object) ? object.syncModes : [];
  const asked = new Map<AirbyteDestinationMode, string[]>();
  for (const stream of catalog.streams) asked.set(stream.destination_sync_mode, [...(asked.get(stream.destination_sync_mode) ?? []), configuredKey(stream)]);
  if (asked.size > 1) {
    const list = [...asked].map(([mode, streams]) => `${mode} (${streams.join(', ')})`).join(', ');
    return { error: `the catalog asks for several destination sync modes — ${list} — but destination ${definition.id} writes every stream to one object; run one write per mode` };
  }
  const [entry] = asked;
  if (entry === undefined) return {};
  const [mode, streams] = entry;
  const sluice = TO_SLUICE[mode];
  if (sluice === undefined || !supported.includes(sluice)) {
    const can = supportedDestinationModes(definition).join(', ') || 'none';
    return { error: `destination ${definition.id} cannot do destination_sync_mode ${mode} (streams: ${streams.join(', ')}); it supports ${can}` };
  }
  return { mode: sluice };
}
