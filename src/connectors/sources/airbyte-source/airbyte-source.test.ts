/**
 * The airbyte-source source with real child processes: Sluice's own `airbyte source/file` and a
 * standalone fixture connector (test/fixtures/external/airbyte-source.mjs), run through `runActivation`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryLedger } from '../../../engine/ledger.ts';
import { runActivation } from '../../../engine/run.ts';
import { MemoryStateStore } from '../../../engine/state-store.ts';
import { defaultContext } from '../../../sdk/context.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import { type CapturedLogger, captureLogger, fixtureCommand, readJsonl, scratch, sluiceCommand } from '../../../../test/fixtures/external/support.ts';
import fileDestination from '../../destinations/file/index.ts';
import source from './index.ts';
import { airbyteStateFile } from './state.ts';

const CONNECTOR = fixtureCommand('airbyte-source.mjs');
const SLUICE_FILE_SOURCE = sluiceCommand('airbyte', 'source/file');

function sourceConfig(input: Record<string, unknown>) {
  const parsed = parseConfig(source.spec, input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

async function runToFile(config: Record<string, unknown>, out: string, options: { state?: MemoryStateStore; logger?: CapturedLogger } = {}) {
  return runActivation({
    activation: {
      name: 'airbyte_to_file',
      source: { definition: source, config: sourceConfig(config) },
      destination: { definition: fileDestination, config: { path: out, mode: 'append', delimiter: ',', header: true } },
    },
    stateStore: options.state ?? new MemoryStateStore(),
    ledger: new MemoryLedger(),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
}

describe('airbyte-source source', { concurrent: true }, () => {
  it("runs Sluice's own `airbyte source/file` (discover, then read) into the file destination", async () => {
    const dir = await scratch();
    const csv = join(dir, 'orders.csv');
    await writeFile(csv, 'id,amount\n1,12345678901234567890\n2,0.1000000000000000000001\n3,7\n');
    const out = join(dir, 'out.jsonl');
    const state = new MemoryStateStore();
    const summary = await runToFile({ command: SLUICE_FILE_SOURCE, config: { path: csv, types: { id: 'integer', amount: 'number' } } }, out, { state });
    expect(summary.error).toBeUndefined();
    expect(summary.counters).toMatchObject({ read: 3, delivered: 3, rejected: 0 });
    expect(await readFile(out, 'utf8')).toBe('{"id":1,"amount":12345678901234567890}\n{"id":2,"amount":0.1000000000000000000001}\n{"id":3,"amount":7}\n');
    // The connector's closing STREAM state, kept whole.
    expect(state.state).toEqual({ type: 'STREAM', stream: { stream_descriptor: { name: 'orders' }, stream_state: {} }, sourceStats: { recordCount: 3 } });
  });

  it('passes the last state back as a list of state messages, and the next read resumes after it', async () => {
    const dir = await scratch();
    const out = join(dir, 'out.jsonl');
    const state = new MemoryStateStore();
    expect((await runToFile({ command: CONNECTOR, config: { count: 3 } }, out, { state })).status).toBe('succeeded');
    const stored = { type: 'STREAM', stream: { stream_descriptor: { name: 'items' }, stream_state: { last_id: 3 } }, sourceStats: { recordCount: 1 } };
    expect(state.state).toEqual(stored);
    const logger = captureLogger();
    const second = await runToFile({ command: CONNECTOR, config: { count: 5 } }, out, { state, logger });
    expect(second.counters.delivered).toBe(2);
    expect(logger.text()).toContain(`info node: state received: ${JSON.stringify([stored])}; sync_mode incremental`);
    expect((await readJsonl(out)).map((row) => row.id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('fails the run with the message of a TRACE ERROR; state stays behind what was not delivered', async () => {
    const dir = await scratch();
    const out = join(dir, 'out.jsonl');
    const state = new MemoryStateStore();
    const summary = await runToFile({ command: CONNECTOR, config: { count: 10, error_after: 4 } }, out, { state });
    expect(summary.status).toBe('failed');
    expect(summary.error).toBe('SOURCE_FAILED: node: Rate limit exceeded, try later');
    const delivered = (await readJsonl(out)).map((row) => row.id as number);
    const lastId = (state.state as { stream?: { stream_state?: { last_id?: number } } } | undefined)?.stream?.stream_state?.last_id ?? 0;
    expect(lastId).toBeLessThanOrEqual(Math.max(0, ...delivered));
  });

  it("fails the run with Sluice's own connector's TRACE ERROR (a catalog given, so no discover)", async () => {
    const dir = await scratch();
    const catalog = { streams: [{ name: 'orders', json_schema: { type: 'object' }, supported_sync_modes: ['full_refresh'] }] };
    const summary = await runToFile({ command: SLUICE_FILE_SOURCE, config: { path: join(dir, 'missing.csv') }, catalog }, join(dir, 'out.jsonl'));
    expect(summary.status).toBe('failed');
    // The path is part of the (secret) config, so it is masked in the connector's words too.
    expect(summary.error).toBe('SOURCE_FAILED: node: SOURCE_FAILED: *** does not exist');
  });

  it('masks config values in what the connector logs', async () => {
    const canary = 'sluice-canary-a1b2c3d4';
    const logger = captureLogger();
    const dir = await scratch();
    const summary = await runToFile({ command: CONNECTOR, config: { count: 1, api_key: canary, leak: true } }, join(dir, 'out.jsonl'), { logger });
    expect(summary.status).toBe('succeeded');
    expect(logger.text()).toContain('"api_key":"***"');
    expect(logger.text()).not.toContain(canary);
  });

  it('check answers with the connection status', async () => {
    const ctx = defaultContext();
    expect(await source.check(sourceConfig({ command: CONNECTOR }), ctx)).toEqual({ ok: true });
    expect(await source.check(sourceConfig({ command: CONNECTOR, config: { fail_check: true } }), ctx)).toEqual({ ok: false, reason: 'the API key was refused' });
    expect(await source.check(sourceConfig({ command: ['/nonexistent/source-nothing'] }), ctx)).toEqual({ ok: false, reason: 'source-nothing could not be started (ENOENT)' });
  });
});

describe('airbyteStateFile', () => {
  it('is a list for STREAM and GLOBAL states, the data blob for LEGACY ones', () => {
    const stream = { type: 'STREAM', stream: { stream_descriptor: { name: 'a' }, stream_state: { n: 1 } } };
    expect(airbyteStateFile(stream)).toEqual([stream]);
    expect(airbyteStateFile({ type: 'LEGACY', data: { cursor: 5 } })).toEqual({ cursor: 5 });
    expect(airbyteStateFile({ cursor: 5 })).toEqual({ cursor: 5 });
  });
});
