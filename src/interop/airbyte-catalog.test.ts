import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fixture, fixturesPresent } from '../../test/interop/support.ts';
import fileDestination from '../connectors/destinations/file/index.ts';
import httpDestination from '../connectors/destinations/http/index.ts';
import { parseConfiguredCatalog, supportedDestinationModes, writeSyncMode } from './airbyte-catalog.ts';

describe('configured catalogs', () => {
  it.skipIf(!fixturesPresent)('faker_configured_catalog parses, streams with their modes and cursors', async () => {
    const parsed = parseConfiguredCatalog(JSON.parse(await readFile(fixture('airbyte/faker_configured_catalog.json'), 'utf8')));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.catalog.streams.map((stream) => [stream.stream.name, stream.sync_mode, stream.destination_sync_mode])).toEqual([
      ['users', 'incremental', 'overwrite'],
      ['purchases', 'incremental', 'overwrite'],
      ['products', 'full_refresh', 'overwrite'],
    ]);
    expect(parsed.catalog.streams[0]!.stream).toMatchObject({ source_defined_cursor: true, default_cursor_field: ['created_at'] });
    expect(writeSyncMode(parsed.catalog, fileDestination, 'records')).toEqual({ mode: 'overwrite' });
  });

  it.skipIf(!fixturesPresent)('the DERIVED exchange-rate catalog keeps its unknown fields (_comment, sync_id)', async () => {
    const parsed = parseConfiguredCatalog(JSON.parse(await readFile(fixture('airbyte/exchange_rate_configured_catalog.DERIVED.json'), 'utf8')));
    expect(parsed.ok && parsed.catalog.streams[0]).toMatchObject({ sync_id: 42, generation_id: 12 });
  });

  it('names the path of what is missing', () => {
    const parsed = parseConfiguredCatalog({ streams: [{ stream: { json_schema: {} }, sync_mode: 'sometimes' }] });
    expect(parsed.ok ? [] : parsed.issues.map((issue) => issue.path)).toEqual(['streams[0].stream.name', 'streams[0].sync_mode']);
  });

  it('maps destination sync modes both ways', () => {
    expect(supportedDestinationModes(fileDestination)).toEqual(['append', 'overwrite']);
    expect(supportedDestinationModes(httpDestination)).toEqual(['append', 'append_dedup', 'update']);
    const parsed = parseConfiguredCatalog({ streams: [{ stream: { name: 's', json_schema: {} }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }] });
    expect(parsed.ok && writeSyncMode(parsed.catalog, httpDestination, 'records')).toEqual({ error: 'destination http cannot do destination_sync_mode overwrite (streams: s); it supports append, append_dedup, update' });
  });
});
