/**
 * The airbyte-destination destination with real child processes: Sluice's own `airbyte destination/<id>
 * write` and a standalone fixture connector (test/fixtures/external/airbyte-destination.mjs), fed by the engine.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryLedger } from '../../../engine/ledger.ts';
import { runActivation } from '../../../engine/run.ts';
import { MemoryStateStore } from '../../../engine/state-store.ts';
import { defaultContext } from '../../../sdk/context.ts';
import type { WriteContext } from '../../../sdk/destination.ts';
import type { State } from '../../../sdk/source.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import { type CapturedLogger, captureLogger, fixtureCommand, readJsonl, scratch, sluiceCommand } from '../../../../test/fixtures/external/support.ts';
import { sequenceSource } from '../../../../test/support/sources.ts';
import destination from './index.ts';
import { configuredCatalog } from './protocol.ts';
import type { AirbyteDestinationConfig } from './spec.ts';
import { AirbyteDestinationSession, writeBatch } from './write.ts';

const CONNECTOR = fixtureCommand('airbyte-destination.mjs');

function destinationConfig(input: Record<string, unknown>): AirbyteDestinationConfig {
  const parsed = parseConfig(destination.spec, input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

async function run(config: Record<string, unknown>, count: number, logger?: CapturedLogger) {
  const state = new MemoryStateStore();
  const committed: State[] = [];
  const summary = await runActivation({
    activation: {
      name: 'to_airbyte_destination',
      source: { definition: sequenceSource({ count, stateEvery: 5, extra: () => ({ big: 12345678901234567890n }) }), config: {} },
      destination: { definition: destination, config: destinationConfig(config) },
    },
    stateStore: state,
    ledger: new MemoryLedger(),
    onStateCommitted: (committedState) => committed.push(committedState),
    ...(logger === undefined ? {} : { logger }),
  });
  return { summary, state: state.state, committed };
}

describe('airbyte-destination destination', { concurrent: true }, () => {
  it("delivers through Sluice's own `airbyte destination/file write`, numbers exact, states in order", async () => {
    const dir = await scratch();
    const out = join(dir, 'out.jsonl');
    const logger = captureLogger();
    const { summary, state, committed } = await run({ command: sluiceCommand('airbyte', 'destination/file'), config: { path: out }, batch_size: 10 }, 25, logger);
    expect(summary.error).toBeUndefined();
    expect(summary.counters).toMatchObject({ read: 25, delivered: 25, rejected: 0, batches: 3 });
    expect(state).toEqual({ bookmarks: { items: { last_id: 25 } } });
    expect(committed.map((item) => (item.bookmarks?.items as { last_id: number }).last_id)).toEqual([5, 10, 15, 20, 25, 25]);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(25);
    expect(lines[24]).toBe('{"id":25,"name":"item 25","big":12345678901234567890}');
    expect(logger.text()).toContain('started node (Airbyte destination)');
  });

  it('delivers through a standalone connector; its TRACE ERROR mid-stream fails the run, state behind what it did not confirm', async () => {
    const dir = await scratch();
    const out = join(dir, 'out.jsonl');
    const logger = captureLogger();
    const fine = await run({ command: CONNECTOR, config: { path: out }, stream: 'people', batch_size: 7 }, 12, logger);
    expect(fine.summary.counters).toMatchObject({ delivered: 12, batches: 2 });
    // A complete run declares the stream COMPLETE before ending the connector's input.
    expect(logger.text()).toContain('info node: stream people is COMPLETE');
    expect((await readJsonl(out)).map((row) => row.id)).toEqual(Array.from({ length: 12 }, (_, index) => index + 1));
    const crashed = await run({ command: CONNECTOR, config: { path: join(dir, 'crash.jsonl'), crash_after: 15 }, batch_size: 10 }, 40);
    expect(crashed.summary.status).toBe('failed');
    expect(crashed.summary.error).toBe('DESTINATION_FAILED: node: Disk quota exceeded');
    expect(crashed.summary.counters.delivered).toBe(10);
    expect(crashed.state).toEqual({ bookmarks: { items: { last_id: 10 } } });
  });

  it("fails the run with the TRACE ERROR of Sluice's own connector", async () => {
    // Sluice's http destination cannot overwrite: its `write` refuses the catalog with a TRACE ERROR.
    const { summary, state } = await run({ command: sluiceCommand('airbyte', 'destination/http'), config: { url: 'http://127.0.0.1:9/ingest' }, destination_sync_mode: 'overwrite' }, 3);
    expect(summary.status).toBe('failed');
    expect(summary.error).toBe('DESTINATION_FAILED: node: destination http cannot do destination_sync_mode overwrite (streams: items); it supports append, append_dedup, update');
    expect(state).toBeUndefined();
  });

  it('check answers with the connection status', async () => {
    const dir = await scratch();
    const ctx = defaultContext();
    expect(await destination.check(destinationConfig({ command: CONNECTOR, config: { path: join(dir, 'out.jsonl') } }), ctx)).toEqual({ ok: true });
    expect(await destination.check(destinationConfig({ command: CONNECTOR, config: { path: join(dir, 'no', 'out.jsonl') } }), ctx)).toEqual({ ok: false, reason: 'the output directory does not exist' });
  });

  it('rejects records of a second stream, naming both, without starting anything for them', async () => {
    const config = destinationConfig({ command: ['/nonexistent/destination-nothing'], config: {} });
    const session = new AirbyteDestinationSession(config, defaultContext().logger);
    session.targetFor('first');
    const ctx = { ...defaultContext(), config, session, object: 'records', syncMode: 'append', idempotencyKey: 'k', attempt: 1, stream: { name: 'second', jsonSchema: {} } } satisfies WriteContext<AirbyteDestinationConfig, AirbyteDestinationSession>;
    const outcomes = await writeBatch([{ stream: 'second', data: { id: 1 }, json: '{"id":1}' }], ctx);
    expect(outcomes).toEqual([{ status: 'rejected', reason: 'record of stream "second": this run writes stream "first" (one stream per run)' }]);
  });

  it('configures the one stream with its sync mode, keys and generations', () => {
    const config = destinationConfig({ command: ['x'], destination_sync_mode: 'append_dedup', namespace: 'crm', primary_key: ['id'], cursor_field: 'updated_at' });
    expect(configuredCatalog(config, 'people', 7)).toEqual({
      streams: [
        {
          stream: { name: 'people', namespace: 'crm', json_schema: { type: 'object' }, supported_sync_modes: ['full_refresh', 'incremental'] },
          sync_mode: 'incremental',
          destination_sync_mode: 'append_dedup',
          primary_key: [['id']],
          cursor_field: ['updated_at'],
          generation_id: 7,
          minimum_generation_id: 0,
          sync_id: 7,
        },
      ],
    });
  });
});
