/**
 * Singer catalogs for a Sluice source: `--discover` output, and `--catalog`/`--properties` input.
 *
 * Discovered streams carry stream-level metadata (breadcrumb `[]`) with `selected: true`,
 * `replication-method`, `replication-key`, `table-key-properties`, plus one entry per top-level property,
 * so the output can be edited and fed straight back. Reading a catalog follows singer-python: a stream is
 * synced when its `selected` (else `selected-by-default`, else legacy `schema.selected`) is true; a property
 * whose `selected` is false is left out of records, unless its inclusion is `automatic` (keys, cursor).
 */
import { z } from 'zod';
import type { JsonObject, JsonValue } from '../protocol/json.ts';
import type { SingerCatalog, SingerCatalogEntry, SingerMetadata } from '../protocol/singer.ts';
import type { Logger } from '../sdk/context.ts';
import type { ConfiguredStream, StreamDescriptor } from '../sdk/source.ts';
import { type ConfigIssue, parseConfig } from '../sdk/spec.ts';

const metadataEntry = z.looseObject({ breadcrumb: z.array(z.string()), metadata: z.record(z.string(), z.unknown()) });
const catalogEntry = z
  .looseObject({
    tap_stream_id: z.string().optional(),
    stream: z.string().optional(),
    schema: z.record(z.string(), z.unknown()),
    key_properties: z.array(z.string()).optional(),
    replication_key: z.string().optional(),
    replication_method: z.string().optional(),
    metadata: z.array(metadataEntry).default([]),
  })
  .refine((entry) => entry.tap_stream_id !== undefined || entry.stream !== undefined, 'a stream needs a tap_stream_id');
const catalogSchema = z.looseObject({ streams: z.array(catalogEntry) });
type ParsedEntry = z.output<typeof catalogEntry>;
/** A catalog as read from `--catalog`/`--properties`. */
export type SingerCatalogInput = z.output<typeof catalogSchema>;

export function parseSingerCatalog(raw: unknown): { ok: true; catalog: SingerCatalogInput } | { ok: false; issues: ConfigIssue[] } {
  const parsed = parseConfig(catalogSchema, raw);
  return parsed.ok ? { ok: true, catalog: parsed.value } : { ok: false, issues: parsed.issues };
}

export function singerCatalog(streams: readonly StreamDescriptor[]): SingerCatalog {
  return { streams: streams.map(catalogEntryFor) };
}

function catalogEntryFor(stream: StreamDescriptor): SingerCatalogEntry {
  const keys = (stream.primaryKey ?? []).map((path) => path.join('.'));
  const cursor = stream.cursorField?.join('.');
  const incremental = cursor !== undefined && stream.syncModes.includes('incremental');
  const streamMetadata: Record<string, JsonValue> = {
    inclusion: 'available',
    selected: true,
    'selected-by-default': true,
    'table-key-properties': keys,
    'replication-method': incremental ? 'INCREMENTAL' : 'FULL_TABLE',
  };
  if (incremental) Object.assign(streamMetadata, { 'replication-key': cursor, 'valid-replication-keys': [cursor] });
  else streamMetadata['forced-replication-method'] = 'FULL_TABLE';
  const properties = Object.keys((stream.jsonSchema.properties as Record<string, unknown> | undefined) ?? {});
  const metadata: SingerMetadata[] = [
    { breadcrumb: [], metadata: streamMetadata },
    ...properties.map((name) => ({
      breadcrumb: ['properties', name],
      metadata: { inclusion: keys.includes(name) || name === cursor ? 'automatic' : 'available', 'selected-by-default': true },
    })),
  ];
  return {
    tap_stream_id: stream.name,
    stream: stream.name,
    schema: stream.jsonSchema as JsonObject,
    key_properties: keys,
    replication_method: incremental ? 'INCREMENTAL' : 'FULL_TABLE',
    ...(incremental ? { replication_key: cursor } : {}),
    metadata,
  };
}

/** One stream to sync, and what its SCHEMA message and records look like. */
export interface SingerSelection {
  readonly configured: ConfiguredStream;
  readonly schema: JsonObject;
  readonly keyProperties: readonly string[];
  readonly bookmarkProperties: readonly string[];
  /** Top-level properties deselected in the catalog: removed from records. */
  readonly dropped: readonly string[];
}

export function selectSingerStreams(streams: readonly StreamDescriptor[], catalog: SingerCatalogInput | undefined, logger: Logger): SingerSelection[] {
  const entries = catalog?.streams ?? singerCatalog(streams).streams.map((entry) => ({ ...entry, metadata: [...(entry.metadata ?? [])] }) as ParsedEntry);
  const byName = new Map(streams.map((stream) => [stream.name, stream]));
  const out: SingerSelection[] = [];
  for (const entry of entries) {
    const name = (entry.tap_stream_id ?? entry.stream)!;
    const stream = byName.get(name);
    const top = entry.metadata.find((item) => item.breadcrumb.length === 0)?.metadata ?? {};
    const selected = top.selected ?? top['selected-by-default'] ?? entry.schema.selected ?? false;
    if (selected !== true) {
      logger.info({ stream: name }, 'stream not selected in the catalog; skipped');
      continue;
    }
    if (stream === undefined) {
      logger.warn({ stream: name }, `the catalog selects stream "${name}", which the source does not have; skipped`);
      continue;
    }
    const method = String(top['replication-method'] ?? entry.replication_method ?? top['forced-replication-method'] ?? '').toUpperCase();
    const key = (top['replication-key'] as string | undefined) ?? entry.replication_key;
    const cursorField = key !== undefined ? [key] : stream.cursorField;
    let syncMode: ConfiguredStream['syncMode'] = method === 'INCREMENTAL' || method === 'LOG_BASED' || (method === '' && stream.syncModes.includes('incremental') && cursorField !== undefined) ? 'incremental' : 'full_refresh';
    if (syncMode === 'incremental' && !stream.syncModes.includes('incremental')) {
      logger.warn({ stream: name }, 'the catalog asks for INCREMENTAL replication, which this stream does not support; reading it in full');
      syncMode = 'full_refresh';
    }
    const dropped = entry.metadata
      .filter((item) => item.breadcrumb.length === 2 && item.breadcrumb[0] === 'properties' && item.metadata.selected === false && item.metadata.inclusion !== 'automatic')
      .map((item) => item.breadcrumb[1]!);
    const keyProperties = (top['table-key-properties'] as string[] | undefined) ?? entry.key_properties ?? (stream.primaryKey ?? []).map((path) => path.join('.'));
    out.push({
      configured: { name, syncMode, ...(cursorField === undefined ? {} : { cursorField }), ...(stream.primaryKey === undefined ? {} : { primaryKey: stream.primaryKey }) },
      schema: withoutProperties(catalog === undefined ? (stream.jsonSchema as JsonObject) : (entry.schema as JsonObject), dropped),
      keyProperties,
      bookmarkProperties: syncMode === 'incremental' && cursorField !== undefined ? [cursorField.join('.')] : [],
      dropped,
    });
  }
  return out;
}

function withoutProperties(schema: JsonObject, dropped: readonly string[]): JsonObject {
  if (dropped.length === 0 || typeof schema.properties !== 'object' || schema.properties === null) return schema;
  const properties = { ...(schema.properties as JsonObject) };
  for (const name of dropped) delete properties[name];
  return { ...schema, properties };
}
