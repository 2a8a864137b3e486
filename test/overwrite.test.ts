/**
 * Overwrite replaces a destination's content only when a run completes: an interrupted overwrite run keeps
 * the previous file whole and saves no checkpoint, so the next run starts over and nothing is lost.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fileDestination from '../src/connectors/destinations/file/index.ts';
import { MemoryLedger } from '../src/engine/ledger.ts';
import { runActivation } from '../src/engine/run.ts';
import { MemoryStateStore } from '../src/engine/state-store.ts';
import type { ActivationPlan } from '../src/engine/types.ts';
import { sequenceSource } from './support/sources.ts';

describe('overwrite', () => {
  it('keeps the old file and saves no state when interrupted; replaces it when complete', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-overwrite-'));
    const path = join(dir, 'out.jsonl');
    await writeFile(path, '{"old":true}\n');
    const activation: ActivationPlan = {
      name: 'overwrite',
      source: { definition: sequenceSource({ count: 3000, stateEvery: 100, delayEvery: 200, delayMs: 20 }), config: {} },
      destination: { definition: fileDestination, config: fileDestination.spec.parse({ path }) },
      syncMode: 'overwrite',
    };
    const store = new MemoryStateStore();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 120);
    const interrupted = await runActivation({ activation, stateStore: store, ledger: new MemoryLedger(), signal: controller.signal });
    expect(interrupted.status).toBe('interrupted');
    expect(interrupted.counters.delivered).toBeGreaterThan(0);
    expect(store.state).toBeUndefined();
    expect(await readFile(path, 'utf8')).toBe('{"old":true}\n');

    const complete = await runActivation({ activation, stateStore: store, ledger: new MemoryLedger() });
    expect(complete.status).toBe('succeeded');
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(3000);
    expect(JSON.parse(lines[0]!)).toEqual({ id: 1, name: 'item 1' });
    expect(store.state).toEqual({ bookmarks: { items: { last_id: 3000 } } });
  });
});
