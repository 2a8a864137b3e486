/**
 * The singer-target destination with real child processes: Sluice's own `singer target file` and a
 * standalone fixture target (test/fixtures/external/singer-target.mjs), fed by the engine.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryLedger } from '../../../engine/ledger.ts';
import { runActivation } from '../../../engine/run.ts';
import { MemoryStateStore } from '../../../engine/state-store.ts';
import { defaultContext } from '../../../sdk/context.ts';
import type { State } from '../../../sdk/source.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import { type CapturedLogger, captureLogger, fixtureCommand, readJsonl, scratch, sluiceCommand } from '../../../../test/fixtures/external/support.ts';
import { sequenceSource } from '../../../../test/support/sources.ts';
import target from './index.ts';

const TARGET = fixtureCommand('singer-target.mjs');

function targetConfig(input: Record<string, unknown>) {
  const parsed = parseConfig(target.spec, input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

interface RunOptions {
  readonly logger?: CapturedLogger;
  readonly extra?: boolean;
  /** Slow the source down: 5 ms after every record. */
  readonly slow?: boolean;
  readonly onCommit?: (committed: readonly State[]) => void;
  readonly signal?: AbortSignal;
}

async function run(config: Record<string, unknown>, count: number, options: RunOptions = {}) {
  const state = new MemoryStateStore();
  const committed: State[] = [];
  const source = sequenceSource({
    count,
    stateEvery: 5,
    ...(options.extra ? { extra: () => ({ big: 12345678901234567890n }) } : {}),
    ...(options.slow ? { delayEvery: 1, delayMs: 5 } : {}),
  });
  const summary = await runActivation({
    activation: { name: 'to_singer_target', source: { definition: source, config: {} }, destination: { definition: target, config: targetConfig(config) } },
    stateStore: state,
    ledger: new MemoryLedger(),
    onStateCommitted: (committedState) => {
      committed.push(committedState);
      options.onCommit?.(committed);
    },
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const lastId = (state.state as { bookmarks?: { items?: { last_id?: number } } } | undefined)?.bookmarks?.items?.last_id ?? 0;
  return { summary, lastId, committed };
}

describe('singer-target destination', { concurrent: true }, () => {
  it("delivers through Sluice's own `singer target file`, numbers exact, states committed in order", async () => {
    const dir = await scratch();
    const out = join(dir, 'out.jsonl');
    const logger = captureLogger();
    const { summary, lastId, committed } = await run({ command: sluiceCommand('singer', 'target', 'file'), config: { path: out }, batch_size: 10 }, 25, { logger, extra: true });
    expect(summary.error).toBeUndefined();
    expect(summary.counters).toMatchObject({ read: 25, delivered: 25, rejected: 0, batches: 3 });
    expect(lastId).toBe(25);
    expect(committed.map((state) => (state.bookmarks?.items as { last_id: number }).last_id)).toEqual([5, 10, 15, 20, 25, 25]);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(25);
    expect(lines[0]).toBe('{"id":1,"name":"item 1","big":12345678901234567890}');
    // The target's stderr is in the run's logs.
    expect(logger.text()).toMatch(/node: INFO METRIC: .*"value":25/);
  });

  it('delivers through a standalone target, a SCHEMA first and a confirmation per batch', async () => {
    const dir = await scratch();
    const out = join(dir, 'out.jsonl');
    const { summary, lastId } = await run({ command: TARGET, config: { path: out }, stream: 'people', batch_size: 7 }, 30);
    expect(summary.error).toBeUndefined();
    expect(summary.counters).toMatchObject({ delivered: 30, batches: 5 });
    expect(lastId).toBe(30);
    expect((await readJsonl(out)).map((row) => row.id)).toEqual(Array.from({ length: 30 }, (_, index) => index + 1));
  });

  it('fails the run when the target crashes mid-stream; state stays behind the records it did not confirm', async () => {
    const dir = await scratch();
    const out = join(dir, 'out.jsonl');
    const { summary, lastId } = await run({ command: TARGET, config: { path: out, crash_after: 15 }, batch_size: 10 }, 40);
    expect(summary.status).toBe('failed');
    expect(summary.error).toBe('DESTINATION_FAILED: node exited with code 2: CRITICAL could not write: disk full');
    expect(summary.counters.delivered).toBe(10);
    expect(lastId).toBe(10);
    const written = new Set((await readJsonl(out)).map((row) => row.id));
    for (let id = 1; id <= lastId; id++) expect(written.has(id)).toBe(true);
  });

  it('stops the target after an interrupted run instead of letting it finish; what it confirmed stays delivered', async () => {
    const dir = await scratch();
    const out = join(dir, 'out.jsonl');
    const logger = captureLogger();
    const controller = new AbortController();
    const { summary, lastId } = await run({ command: TARGET, config: { path: out }, batch_size: 5, max_wait_ms: 50 }, 1000, {
      logger,
      slow: true,
      onCommit: (committed) => committed.length === 2 && controller.abort(),
      signal: controller.signal,
    });
    expect(summary.status).toBe('interrupted');
    expect(lastId).toBeGreaterThanOrEqual(10);
    const written = new Set((await readJsonl(out)).map((row) => row.id));
    for (let id = 1; id <= lastId; id++) expect(written.has(id)).toBe(true);
    // A target whose input ends says how much it wrote; this one was stopped, so it never got there.
    expect(logger.text(), logger.text()).not.toContain('wrote');
  });

  it('fails the run when the target never confirms a batch', async () => {
    const dir = await scratch();
    const { summary, lastId } = await run({ command: TARGET, config: { path: join(dir, 'out.jsonl'), silent: true }, echo_timeout_ms: 400 }, 3);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/^DESTINATION_FAILED: node did not confirm a batch within 400 ms/);
    expect(lastId).toBe(0);
  });

  it('never lets config or env values reach logs or errors, even from a target that prints them', async () => {
    const canary = 'sluice-canary-5e6f7a';
    const envCanary = 'sluice-env-canary-0c1d';
    const dir = await scratch();
    const logger = captureLogger();
    const { summary } = await run({ command: TARGET, config: { path: join(dir, 'out.jsonl'), password: canary, leak: true, crash_after: 2 }, env: { DB_PASSWORD: envCanary } }, 5, { logger });
    expect(summary.status).toBe('failed');
    const everything = `${logger.text()}\n${summary.error ?? ''}`;
    expect(everything).toContain('"password":"***"');
    expect(everything).not.toContain(canary);
    expect(everything).not.toContain(envCanary);
  });

  it('check runs the target on empty input', async () => {
    const dir = await scratch();
    const ctx = defaultContext();
    expect(await target.check(targetConfig({ command: TARGET, config: { path: join(dir, 'out.jsonl') } }), ctx)).toEqual({ ok: true });
    const broken = await target.check(targetConfig({ command: TARGET, config: {} }), ctx);
    expect(broken.ok).toBe(false);
    expect(await target.check(targetConfig({ command: ['/nonexistent/target-nothing'] }), ctx)).toEqual({ ok: false, reason: 'target-nothing could not be started (ENOENT)' });
  });
});
