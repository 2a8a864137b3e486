/**
 * Which streams an Airbyte `read` reads, and how: the configured catalog's streams that the source has,
 * each with the catalog's sync mode (incremental only where the source supports it), cursor field and
 * primary key — the source's defaults where the catalog leaves them empty. Catalog streams the source does
 * not have are logged and skipped, as Airbyte's CDK does.
 */
import type { Logger } from '../sdk/context.ts';
import type { ConfiguredStream, StreamDescriptor } from '../sdk/source.ts';
import type { ConfiguredCatalog } from './airbyte-catalog.ts';

export function selectAirbyteStreams(catalog: ConfiguredCatalog, discovered: readonly StreamDescriptor[], logger: Logger): ConfiguredStream[] {
  const byName = new Map(discovered.map((stream) => [stream.name, stream]));
  const out: ConfiguredStream[] = [];
  for (const configured of catalog.streams) {
    const name = configured.stream.name;
    const descriptor = byName.get(name);
    if (descriptor === undefined) {
      logger.warn({}, `stream "${name}" is in the catalog but the source has no such stream (it has: ${[...byName.keys()].join(', ') || 'none'}); skipped`);
      continue;
    }
    let syncMode = configured.sync_mode;
    if (syncMode === 'incremental' && !descriptor.syncModes.includes('incremental')) {
      logger.warn({}, `stream "${name}" cannot be read incrementally; reading it in full`);
      syncMode = 'full_refresh';
    }
    const cursorField = configured.cursor_field !== undefined && configured.cursor_field.length > 0 ? configured.cursor_field : descriptor.cursorField;
    const primaryKey = configured.primary_key !== undefined && configured.primary_key.length > 0 ? configured.primary_key : descriptor.primaryKey;
    out.push({ name, syncMode, ...(cursorField === undefined ? {} : { cursorField }), ...(primaryKey === undefined ? {} : { primaryKey }) });
  }
  return out;
}
