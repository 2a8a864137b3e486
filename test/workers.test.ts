/**
 * `sluice worker` as it is deployed: two worker processes on one fresh PostgreSQL database, sharing the
 * runs this test triggers. Every run executes exactly once (one attempt, each record received once per
 * run); a run whose worker is killed (-9) mid-run is requeued when its lease expires, resumed by the other
 * worker from its last committed state, and ends with every record delivered. SIGTERM stops a worker
 * gracefully (exit 0).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform } from '../src/platform/context.ts';
import { triggerRun } from '../src/platform/trigger.ts';
import { silentLogger } from '../src/sdk/context.ts';
import { encryptConfigSecrets } from '../src/store/config-secrets.ts';
import { insertConfig } from '../src/store/configs.ts';
import type { Database } from '../src/store/db.ts';
import { migrate } from '../src/store/migrations.ts';
import { type RunQueue, openRunQueue } from '../src/store/queue.ts';
import { type RunRecord, getRun } from '../src/store/runs.ts';
import { fixtureCommand } from './fixtures/external/support.ts';
import { type TestDatabase, databaseTargets } from './support/databases.ts';
import { type Receiver, accept, startReceiver } from './support/receiver.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ACTIVATIONS = Array.from({ length: 10 }, (_, index) => `a${index}`);
const ROWS = 50;
const LONG_ROWS = 300;

interface WorkerProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

describe('sluice worker processes on one PostgreSQL', () => {
  const postgres = databaseTargets.find((target) => target.name === 'postgres')!;
  const secretKey = randomBytes(32);
  let tdb: TestDatabase;
  let db: Database;
  let queue: RunQueue;
  let platform: Pick<Platform, 'db' | 'queue'>;
  let api: Receiver;
  let dir: string;
  const workers: WorkerProcess[] = [];

  function startWorkerProcess(): WorkerProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'worker', '--concurrency', '2'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: tdb.url,
        SLUICE_SECRET_KEY: secretKey.toString('hex'),
        SLUICE_RUN_LEASE_SECONDS: '3',
        SLUICE_HOME: join(dir, 'home'),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, output: () => output, exited };
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${workers.map((worker) => worker.output()).join('\n---\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  function finished(id: string): Promise<RunRecord> {
    return waitFor(`run ${id} to end`, async () => {
      const run = await getRun(db, id);
      return run !== undefined && run.status !== 'queued' && run.status !== 'running' ? run : undefined;
    });
  }

  async function trigger(activation: string): Promise<RunRecord> {
    const result = await triggerRun(platform, { activation, dryRun: false, trigger: 'api', actor: 'test' });
    if (result.kind !== 'created') throw new Error(`${activation}: expected a created run, got ${result.kind}`);
    return result.run;
  }

  /** Records received, as `<act>:<id>` → how many times. */
  function received(act?: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const request of api.requests) {
      for (const record of request.records) {
        if (act !== undefined && record.act !== act) continue;
        const key = `${String(record.act)}:${String(record.id)}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    return counts;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-workers-'));
    tdb = await postgres.create();
    db = await tdb.open();
    await migrate(db);
    queue = await openRunQueue(db, { logger: silentLogger });
    platform = { db, queue };
    // Slow enough that a round of runs outlasts the workers' 2 s polling: both take part.
    api = await startReceiver((request, index, res, req) => {
      setTimeout(() => accept(request, index, res, req), 100);
    });

    const lines = ['id,email'];
    for (let id = 1; id <= ROWS; id++) lines.push(`${id},user${id}@example.com`);
    const csv = join(dir, 'rows.csv');
    await writeFile(csv, `${lines.join('\n')}\n`);
    const value = {
      sources: {
        csv: { type: 'file', path: csv, format: 'csv', types: { id: 'integer' } },
        tap: { type: 'singer-tap', command: fixtureCommand('singer-tap.mjs'), config: { count: LONG_ROWS } },
      },
      destinations: { api: { type: 'http', url: api.url, batch_size: 5, concurrency: 1, max_wait_ms: 20 } },
      activations: [
        ...ACTIVATIONS.map((name) => ({
          name,
          source: { $ref: '#/sources/csv' },
          destination: { $ref: '#/destinations/api' },
          mapping: { id: 'id', act: { const: name } },
        })),
        { name: 'long', source: { $ref: '#/sources/tap' }, destination: { $ref: '#/destinations/api' }, mapping: { id: 'id', act: { const: 'long' } } },
      ],
    };
    const { stored, issues } = await encryptConfigSecrets(value, secretKey);
    expect(issues).toEqual([]);
    await insertConfig(db, { label: 'workers test', value: stored });

    workers.push(startWorkerProcess(), startWorkerProcess());
    await waitFor('both workers to start', async () => (workers.every((worker) => worker.output().includes('sluice worker ')) ? true : undefined));
  });

  afterAll(async () => {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
    await queue?.stop();
    await tdb?.drop();
    await api?.close();
  });

  it('refuses to start without DATABASE_URL, pointing to `sluice serve`', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'worker'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', SLUICE_HOME: join(dir, 'embedded') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('needs DATABASE_URL');
    expect(stderr).toContain('sluice serve');
  });

  it('executes every run exactly once, the work shared between the two workers', async () => {
    const runs: RunRecord[] = [];
    for (let round = 0; round < 2; round++) {
      const triggered = await Promise.all(ACTIVATIONS.map(trigger));
      runs.push(...(await Promise.all(triggered.map((run) => finished(run.id)))));
    }
    expect(runs).toHaveLength(20);
    for (const run of runs) {
      expect(run).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(run.counters).toMatchObject({ read: ROWS, delivered: ROWS });
    }
    // Each activation ran twice: every record arrived exactly twice, once per run.
    const counts = received();
    expect(counts.size).toBe(ACTIVATIONS.length * ROWS);
    expect(new Set(counts.values())).toEqual(new Set([2]));
    const pids = new Set(runs.map((run) => run.worker?.split(':')[1]));
    expect(pids).toEqual(new Set(workers.map((worker) => String(worker.child.pid))));
  });

  it('resumes a run whose worker was killed, on the other worker, with every record delivered', async () => {
    const run = await trigger('long');
    const claimed = await waitFor('the long run to be claimed', async () => {
      const current = await getRun(db, run.id);
      return current?.status === 'running' && received('long').size >= 25 ? current : undefined;
    });
    const pid = Number(claimed.worker?.split(':')[1]);
    const victim = workers.find((worker) => worker.child.pid === pid);
    const survivor = workers.find((worker) => worker.child.pid !== pid);
    expect(victim).toBeDefined();
    victim!.child.kill('SIGKILL');
    await victim!.exited;

    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(done.worker).toContain(`:${survivor!.child.pid}:`);
    // It resumed from the last committed state: the second attempt read only what was left.
    expect(done.counters.read).toBeLessThan(LONG_ROWS);
    const counts = received('long');
    expect(counts.size).toBe(LONG_ROWS);
    // Repeats are limited to what was in flight when the worker died (a few small batches).
    const repeats = [...counts.values()].reduce((sum, count) => sum + count - 1, 0);
    expect(repeats).toBeLessThanOrEqual(20);

    // SIGTERM: the survivor stops gracefully.
    survivor!.child.kill('SIGTERM');
    expect(await survivor!.exited).toBe(0);
  });
});
