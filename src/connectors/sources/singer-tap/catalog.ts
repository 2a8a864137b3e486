/**
 * The tap's catalog: discovered (`<command> --config F --discover`, once per run) or given in the config;
 * read as Sluice streams; and rewritten for a read so that exactly the activation's stream is selected.
 *
 * Selection: the stream's breadcrumb-`[]` metadata gets `selected: true` and every other stream
 * `selected: false` (so a tap that honours its catalog sends nothing else); the selected stream's
 * properties without a `selected` of their own are selected (a property set to false stays out); and a
 * stream whose catalog says no `replication-method` gets the activation's: INCREMENTAL on its cursor, or
 * FULL_TABLE. With `--properties` (older taps), the legacy `schema.selected` is set as well.
 */
import { text } from 'node:stream/consumers';
import { type SingerCatalogInput, parseSingerCatalog } from '../../../interop/singer-catalog.ts';
import { programName } from '../../../interop/external/child.ts';
import { DiscoveryCache } from '../../../interop/external/discovery-cache.ts';
import type { Redact } from '../../../interop/external/redact.ts';
import { runToCompletion } from '../../../interop/external/run.ts';
import { type JsonObject, type JsonValue, parseJson } from '../../../protocol/json.ts';
import type { ConnectorContext } from '../../../sdk/context.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import type { ConfiguredStream, StreamDescriptor } from '../../../sdk/source.ts';
import type { SingerTapConfig } from './spec.ts';

type Entry = SingerCatalogInput['streams'][number];
type Metadata = Entry['metadata'][number];

const discovered = new DiscoveryCache<SingerCatalogInput>();

/** The configured catalog, or the tap's own discovery. */
export function tapCatalog(config: SingerTapConfig, ctx: ConnectorContext, redact: Redact): Promise<SingerCatalogInput> {
  if (config.catalog !== undefined) return Promise.resolve(parseCatalog(config.catalog, 'the configured catalog'));
  return discovered.get(config, () => runDiscovery(config, ctx, redact));
}

/** Run the tap's discovery; it fails with the tap's own words when the tap does. */
export async function runDiscovery(config: SingerTapConfig, ctx: ConnectorContext, redact: Redact): Promise<SingerCatalogInput> {
  const result = await runToCompletion({
    config,
    args: async (files) => ['--config', await files.write('config.json', config.config), '--discover'],
    logger: ctx.logger,
    redact,
    signal: ctx.signal,
    consume: (stdout) => text(stdout),
  });
  if (result.aborted) throw new SluiceError('SOURCE_FAILED', 'discovery was cancelled');
  if (result.exit.code !== 0) throw new SluiceError('SOURCE_FAILED', result.failure);
  let value: JsonValue;
  try {
    value = parseJson(result.value);
  } catch (error) {
    throw new SluiceError('SOURCE_FAILED', `${programName(config.command)} --discover did not print a JSON catalog (${redact((error as Error).message)})`);
  }
  return parseCatalog(value, `the catalog ${programName(config.command)} discovered`);
}

function parseCatalog(value: unknown, what: string): SingerCatalogInput {
  const parsed = parseSingerCatalog(value);
  if (parsed.ok) return parsed.catalog;
  const problems = parsed.issues.slice(0, 5).map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  throw new SluiceError('SOURCE_FAILED', `${what} is not a Singer catalog: ${problems}`);
}

export function streamName(entry: Entry): string {
  return (entry.tap_stream_id ?? entry.stream)!;
}

function topMetadata(entry: Entry): Record<string, unknown> {
  return entry.metadata.find((item) => item.breadcrumb.length === 0)?.metadata ?? {};
}

const string = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const strings = (value: unknown): string[] | undefined => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined);

/** Catalog entries as Sluice streams: keys from `table-key-properties`, the cursor from `replication-key`. */
export function streamsOf(catalog: SingerCatalogInput): StreamDescriptor[] {
  return catalog.streams.map((entry) => {
    const top = topMetadata(entry);
    const keys = strings(top['table-key-properties']) ?? entry.key_properties ?? [];
    const cursor = string(top['replication-key']) ?? string(entry.replication_key) ?? strings(top['valid-replication-keys'])?.[0];
    const forced = string(top['forced-replication-method'])?.toUpperCase();
    const method = (string(top['replication-method']) ?? string(entry.replication_method))?.toUpperCase();
    const incremental = forced !== 'FULL_TABLE' && cursor !== undefined && (method === undefined || method === 'INCREMENTAL');
    return {
      name: streamName(entry),
      jsonSchema: entry.schema,
      ...(keys.length > 0 ? { primaryKey: keys.map((key) => [key]) } : {}),
      ...(cursor === undefined ? {} : { cursorField: [cursor] }),
      syncModes: incremental ? ['full_refresh', 'incremental'] : ['full_refresh'],
    };
  });
}

/** The catalog to pass to a read: the activation's streams selected, every other stream not. */
export function selectCatalog(catalog: SingerCatalogInput, streams: readonly ConfiguredStream[], legacy: boolean): JsonObject {
  const wanted = new Map(streams.map((stream) => [stream.name, stream]));
  return {
    ...(catalog as JsonObject),
    streams: catalog.streams.map((entry) => {
      const stream = wanted.get(streamName(entry));
      const selected = stream !== undefined;
      const metadata: Metadata[] = entry.metadata.map((item) =>
        selected && item.breadcrumb.length === 2 && item.breadcrumb[0] === 'properties' && item.metadata.selected === undefined
          ? { ...item, metadata: { ...item.metadata, selected: true } }
          : item,
      );
      let topIndex = metadata.findIndex((item) => item.breadcrumb.length === 0);
      if (topIndex === -1) {
        metadata.unshift({ breadcrumb: [], metadata: {} });
        topIndex = 0;
      }
      const top: Record<string, unknown> = { ...metadata[topIndex]!.metadata, selected };
      if (stream !== undefined && top['replication-method'] === undefined && entry.replication_method === undefined) {
        const incremental = stream.syncMode === 'incremental' && stream.cursorField !== undefined && stream.cursorField.length > 0;
        top['replication-method'] = incremental ? 'INCREMENTAL' : 'FULL_TABLE';
        if (incremental) top['replication-key'] = stream.cursorField!.join('.');
      }
      metadata[topIndex] = { ...metadata[topIndex]!, metadata: top };
      const schema = legacy ? { ...entry.schema, selected } : entry.schema;
      return { ...entry, schema, metadata } as JsonObject;
    }),
  };
}
