/**
 * The singer-tap source with real child processes: Sluice's own `singer tap file` and a standalone
 * fixture tap (test/fixtures/external/singer-tap.mjs) run through `runActivation` into real destinations.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryLedger } from '../../../engine/ledger.ts';
import { runActivation } from '../../../engine/run.ts';
import { MemoryStateStore } from '../../../engine/state-store.ts';
import { defaultContext } from '../../../sdk/context.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import type { State } from '../../../sdk/source.ts';
import { type CapturedLogger, captureLogger, fixtureCommand, gone, readJsonl, scratch, sluiceCommand, startedPid, waitFor } from '../../../../test/fixtures/external/support.ts';
import { startReceiver } from '../../../../test/support/receiver.ts';
import fileDestination from '../../destinations/file/index.ts';
import httpDestination from '../../destinations/http/index.ts';
import tap from './index.ts';
import { selectCatalog } from './catalog.ts';

const TAP = fixtureCommand('singer-tap.mjs');

function tapConfig(input: Record<string, unknown>) {
  const parsed = parseConfig(tap.spec, input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

/** One run of the tap into a JSONL file (appending), with the given state store. */
async function runToFile(config: Record<string, unknown>, out: string, options: { state?: MemoryStateStore; logger?: CapturedLogger; stream?: string; signal?: AbortSignal } = {}) {
  const ledger = new MemoryLedger();
  const summary = await runActivation({
    activation: {
      name: 'tap_to_file',
      source: { definition: tap, config: tapConfig(config), ...(options.stream === undefined ? {} : { stream: options.stream }) },
      destination: { definition: fileDestination, config: { path: out, mode: 'append', delimiter: ',', header: true } },
    },
    stateStore: options.state ?? new MemoryStateStore(),
    ledger,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { summary, ledger };
}

describe('singer-tap source', { concurrent: true }, () => {
  it("runs Sluice's own `singer tap file` on a CSV into the http destination", async () => {
    const dir = await scratch();
    const csv = join(dir, 'orders.csv');
    await writeFile(csv, 'id,email\n1,a@example.com\n2,b@example.com\n3,c@example.com\n');
    const receiver = await startReceiver();
    const logger = captureLogger();
    const http = parseConfig(httpDestination.spec, { url: receiver.url });
    const summary = await runActivation({
      activation: {
        name: 'csv_over_singer',
        source: { definition: tap, config: tapConfig({ command: sluiceCommand('singer', 'tap', 'file'), config: { path: csv, types: { id: 'integer' } } }) },
        destination: { definition: httpDestination, config: http.ok ? http.value : undefined },
      },
      stateStore: new MemoryStateStore(),
      ledger: new MemoryLedger(),
      logger,
    }).finally(() => receiver.close());
    expect(summary.error).toBeUndefined();
    expect(summary.status).toBe('succeeded');
    expect(summary.counters).toMatchObject({ read: 3, delivered: 3, rejected: 0 });
    expect(receiver.acceptedIds().sort()).toEqual([1, 2, 3]);
    // The tap's stderr reached the run's logs (its METRIC lines at debug).
    expect(logger.text()).toMatch(/debug node: INFO METRIC: .*record_count/);
  });

  it('passes the last state back as --state, so the next run resumes after it; numbers stay exact', async () => {
    const dir = await scratch();
    const out = join(dir, 'out.jsonl');
    const state = new MemoryStateStore();
    const first = await runToFile({ command: TAP, config: { count: 3 } }, out, { state });
    expect(first.summary.status).toBe('succeeded');
    expect(state.state).toEqual({ bookmarks: { items: { last_id: 3 } } });
    const logger = captureLogger();
    const second = await runToFile({ command: TAP, config: { count: 5 } }, out, { state, logger });
    expect(second.summary.counters.delivered).toBe(2);
    expect(logger.text()).toContain('state received: {"bookmarks":{"items":{"last_id":3}}}');
    expect((await readJsonl(out)).map((row) => row.id)).toEqual([1, 2, 3, 4, 5]);
    expect(state.state).toEqual({ bookmarks: { items: { last_id: 5 } } });
    expect(await readFile(out, 'utf8')).toContain('"big":12345678901234567890');
  });

  it("selects only the activation's stream, and rejects (never drops) records of others from a tap that ignores it", async () => {
    const dir = await scratch();
    const honouring = await runToFile({ command: TAP, config: { streams: ['items', 'other'], count: 2 } }, join(dir, 'a.jsonl'), { stream: 'other' });
    expect(honouring.summary.counters).toMatchObject({ read: 2, delivered: 2, rejected: 0 });
    expect((await readJsonl(join(dir, 'a.jsonl'))).map((row) => row.name)).toEqual(['other 1', 'other 2']);
    const ignoring = await runToFile({ command: TAP, config: { streams: ['items', 'other'], count: 2, ignore_catalog: true } }, join(dir, 'b.jsonl'), { stream: 'other' });
    expect(ignoring.summary.counters).toMatchObject({ read: 4, delivered: 2, rejected: 2 });
    expect(ignoring.ledger.entries[0]?.reason).toBe('node stdout line 2: RECORD of stream "items", which this activation does not read (the tap ignored its catalog\'s selection)');
  });

  it('fails the run with the exit code and last stderr line of a tap that exits non-zero; state stays behind what was not delivered', async () => {
    const dir = await scratch();
    const out = join(dir, 'out.jsonl');
    const state = new MemoryStateStore();
    const { summary } = await runToFile({ command: TAP, config: { count: 10, fail_after: 3 } }, out, { state });
    expect(summary.status).toBe('failed');
    expect(summary.error).toBe('SOURCE_FAILED: node exited with code 3: ERROR boom: the API said no');
    const delivered = (await readJsonl(out)).map((row) => row.id as number);
    const lastId = (state.state as { bookmarks?: { items?: { last_id?: number } } } | undefined)?.bookmarks?.items?.last_id ?? 0;
    expect(lastId).toBeLessThanOrEqual(Math.max(0, ...delivered));
    expect(summary.counters.read).toBe(summary.counters.delivered + summary.unsettled);
  });

  it('stops the tap when the run is cancelled (SIGKILL for a tap that ignores SIGTERM) and returns promptly', async () => {
    const dir = await scratch();
    const logger = captureLogger();
    const controller = new AbortController();
    const running = runToFile({ command: TAP, config: { count: 10, hang_after: 2, ignore_sigterm: true } }, join(dir, 'out.jsonl'), { logger, signal: controller.signal });
    await waitFor(() => logger.lines.some((line) => line.includes('state received')), 10_000);
    const pid = startedPid(logger)!;
    expect(pid).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const abortedAt = Date.now();
    controller.abort();
    const { summary } = await running;
    expect(Date.now() - abortedAt).toBeLessThan(1800);
    expect(summary.status).toBe('interrupted');
    expect(summary.counters.delivered).toBe(2);
    expect(await gone(pid, 4000)).toBe(true);
  });

  it('never lets config or env values reach logs or errors, even from a tap that prints them', async () => {
    const canary = 'sluice-canary-3f9a1c';
    const envCanary = 'sluice-env-canary-77d2';
    const logger = captureLogger();
    const dir = await scratch();
    const { summary } = await runToFile({ command: TAP, config: { password: canary, leak: true, fail_after: 0 }, env: { TAP_TOKEN: envCanary } }, join(dir, 'out.jsonl'), { logger });
    expect(summary.status).toBe('failed');
    const everything = `${logger.text()}\n${summary.error ?? ''}`;
    expect(everything).toContain('"password":"***"');
    expect(everything).not.toContain(canary);
    expect(everything).not.toContain(envCanary);
  });

  it('check runs the discovery; a missing program is a readable reason', async () => {
    const ctx = defaultContext();
    expect(await tap.check(tapConfig({ command: TAP, config: {} }), ctx)).toEqual({ ok: true });
    const missing = await tap.check(tapConfig({ command: ['/nonexistent/tap-nothing'], config: {} }), ctx);
    expect(missing).toEqual({ ok: false, reason: 'tap-nothing could not be started (ENOENT)' });
  });
});

describe('selectCatalog', () => {
  const catalog = {
    streams: [
      { tap_stream_id: 'a', schema: { type: 'object' }, metadata: [{ breadcrumb: [], metadata: { selected: true } }, { breadcrumb: ['properties', 'x'], metadata: {} }] },
      { tap_stream_id: 'b', schema: { type: 'object' }, metadata: [{ breadcrumb: ['properties', 'y'], metadata: { selected: false } }] },
    ],
  };

  it("selects the activation's stream and its properties, deselects the rest, fills in the replication method", () => {
    const out = selectCatalog(catalog, [{ name: 'b', syncMode: 'incremental', cursorField: ['updated_at'] }], false) as unknown as typeof catalog;
    expect(out.streams[0]!.metadata[0]!.metadata).toEqual({ selected: false });
    expect(out.streams[1]!.metadata).toEqual([
      { breadcrumb: [], metadata: { selected: true, 'replication-method': 'INCREMENTAL', 'replication-key': 'updated_at' } },
      { breadcrumb: ['properties', 'y'], metadata: { selected: false } },
    ]);
  });

  it('marks legacy schema.selected for --properties taps', () => {
    const out = selectCatalog(catalog, [{ name: 'a', syncMode: 'full_refresh' }], true) as unknown as { streams: Array<{ schema: State }> };
    expect(out.streams.map((entry) => entry.schema.selected)).toEqual([true, false]);
  });
});
