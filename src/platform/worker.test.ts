/**
 * The worker, trigger and scheduler together on each database target: real configs (a CSV file source or
 * the fixture Singer tap → the http destination at a local receiver), runs triggered and executed through
 * the pg-boss queue, and what they leave in the store (status, counters, logs, rejects, state versions).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CapturedLogger, captureLogger, fixtureCommand } from '../../test/fixtures/external/support.ts';
import { type TestDatabase, forEachDatabase } from '../../test/support/databases.ts';
import { type Receiver, type Respond, accept, startReceiver } from '../../test/support/receiver.ts';
import { startSftpServer } from '../../test/support/sftp-server.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { silentLogger } from '../sdk/context.ts';
import { encryptConfigSecrets } from '../store/config-secrets.ts';
import { insertConfig } from '../store/configs.ts';
import type { Database } from '../store/db.ts';
import { migrate } from '../store/migrations.ts';
import { type RunQueue, openRunQueue } from '../store/queue.ts';
import { listRejects, listRunLogs } from '../store/run-records.ts';
import { type RunRecord, createRun, getRun, requestCancel } from '../store/runs.ts';
import { currentState, listStateVersions } from '../store/state.ts';
import { loadFingerprints } from '../store/fingerprints.ts';
import { Snapshot } from '../engine/fingerprints.ts';
import type { Platform } from './context.ts';
import { startScheduler, syncSchedules } from './scheduler.ts';
import { type TriggerResult, triggerRun } from './trigger.ts';
import { type Worker, startWorker } from './worker.ts';

const TAP_SECRET = 'tap-secret-9f8e7d6c';
const HEADER_SECRET = 'hdr-secret-1a2b3c4d';
const TAP = fixtureCommand('singer-tap.mjs');

interface Hook {
  readonly path: string | undefined;
  readonly body: { text?: string; blocks?: Array<{ text?: { text?: string } }> };
}

forEachDatabase((target) => {
  let tdb: TestDatabase;
  let db: Database;
  let queue: RunQueue;
  let platform: Platform;
  let worker: Worker;
  let logger: CapturedLogger;
  let dir: string;
  let hookServer: Server;
  let hookBase: string;
  const hooks: Hook[] = [];
  const receivers: Receiver[] = [];
  const key = randomBytes(32);
  let labels = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-worker-test-'));
    hookServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        hooks.push({ path: req.url, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Hook['body'] });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    hookBase = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}`;

    tdb = await target.create();
    db = await tdb.open();
    await migrate(db);
    queue = await openRunQueue(db, { pollingIntervalSeconds: 0.5, logger: silentLogger });
    logger = captureLogger();
    platform = {
      db,
      queue,
      secretKey: key,
      logger,
      env: { ...process.env, WORKER_TEST_TOKEN: HEADER_SECRET },
      webhookUrl: `${hookBase}/global`,
      publicUrl: 'https://sluice.example/',
    };
    worker = startWorker(platform, { concurrency: 2, leaseSeconds: 5, heartbeatSeconds: 0.2 });
  });

  afterAll(async () => {
    await worker?.stop();
    await queue?.stop();
    await tdb?.drop();
    await Promise.all(receivers.map((receiver) => receiver.close()));
    await new Promise((resolve) => hookServer?.close(resolve));
  });

  async function receiver(respond = accept): Promise<Receiver> {
    const started = await startReceiver(respond);
    receivers.push(started);
    return started;
  }

  async function csv(rows: number): Promise<string> {
    const lines = ['id,email,amount'];
    for (let id = 1; id <= rows; id++) lines.push(`${id},user${id}@example.com,${id}.5`);
    const path = join(dir, `rows-${rows}-${randomBytes(3).toString('hex')}.csv`);
    await writeFile(path, `${lines.join('\n')}\n`);
    return path;
  }

  /** Stores a config version (secrets encrypted, as the API would) and makes it current. */
  async function post(value: Record<string, unknown>): Promise<number> {
    const { stored, issues } = await encryptConfigSecrets(value, key);
    expect(issues).toEqual([]);
    return (await insertConfig(db, { label: `test ${++labels}`, value: stored })).id;
  }

  function config(path: string, url: string, activations: Array<Record<string, unknown>>, http: Record<string, unknown> = {}) {
    return {
      sources: {
        csv: { type: 'file', path, format: 'csv', types: { id: 'integer' } },
        tap: { type: 'singer-tap', command: TAP, config: { count: 20, leak: true, api_token: TAP_SECRET } },
      },
      destinations: {
        api: { type: 'http', url, batch_size: 10, max_wait_ms: 20, headers: { Authorization: 'Bearer ${WORKER_TEST_TOKEN}' }, ...http },
      },
      activations: activations.map((activation) => ({
        source: { $ref: '#/sources/csv' },
        destination: { $ref: '#/destinations/api' },
        schedule: null,
        ...activation,
      })),
    };
  }

  function trigger(activation: string, options: { dryRun?: boolean; idempotencyKey?: string } = {}): Promise<TriggerResult> {
    return triggerRun(platform, { activation, dryRun: options.dryRun ?? false, trigger: 'api', actor: 'test', ...options });
  }

  async function created(activation: string, options: { dryRun?: boolean; idempotencyKey?: string } = {}): Promise<RunRecord> {
    const result = await trigger(activation, options);
    if (result.kind !== 'created') throw new Error(`expected a created run, got ${result.kind}`);
    return result.run;
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  function finished(id: string): Promise<RunRecord> {
    return waitFor(`run ${id} to end`, async () => {
      const run = await getRun(db, id);
      return run !== undefined && run.status !== 'queued' && run.status !== 'running' ? run : undefined;
    });
  }

  const slow =
    (ms: number): Respond =>
    (request, index, res, req) =>
      new Promise<void>((resolve) => setTimeout(resolve, ms)).then(() => accept(request, index, res, req));

  it('trigger needs a config version and an activation it names', async () => {
    expect(await trigger('nothing')).toEqual({ kind: 'no-config' });
    await post(config(await csv(1), 'http://127.0.0.1:9/none', [{ name: 'exists' }]));
    expect(await trigger('nothing')).toEqual({ kind: 'unknown-activation' });
  });

  it('runs a triggered run to success: counters, timings, logs, a state version, and no secret anywhere', async () => {
    const api = await receiver();
    const configId = await post(config(await csv(1), api.url, [{ name: 'tap_to_api', source: { $ref: '#/sources/tap' } }]));
    const run = await created('tap_to_api');
    expect(run).toMatchObject({ status: 'queued', config_id: configId, trigger: 'api', dry_run: false });

    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, worker: worker.id, error: null, unsettled: 0 });
    expect(done.counters).toMatchObject({ read: 20, delivered: 20, rejected: 0 });
    expect(done.duration_ms).toBeGreaterThanOrEqual(0);
    expect(api.acceptedIds()).toHaveLength(20);

    // State is saved as it advances (coalesced): one or more versions, the newest the final bookmark.
    expect(await currentState(db, 'tap_to_api')).toMatchObject({ run_id: run.id, state: { bookmarks: { items: { last_id: 20 } } } });
    const versions = await listStateVersions(db, 'tap_to_api', { limit: 100 });
    expect(versions.length).toBeGreaterThanOrEqual(1);
    expect(new Set(versions.map((version) => version.run_id))).toEqual(new Set([run.id]));

    const { logs } = await listRunLogs(db, run.id, { limit: 1000 });
    expect(logs.map((line) => line.message)).toContain('run finished');
    const everything = JSON.stringify(logs) + logger.text();
    expect(everything).not.toContain(TAP_SECRET);
    expect(everything).not.toContain(HEADER_SECRET);
  });

  it('runs a bulk destination (sftp): files land, the jobs table is left empty, and SLUICE_SFTP_<KEY> overrides win and stay secret', async () => {
    const server = await startSftpServer({ root: join(dir, `sftp-${randomBytes(3).toString('hex')}`) });
    try {
      const env = platform.env as Record<string, string | undefined>;
      env.SLUICE_HOME = join(dir, 'home');
      env.SLUICE_SFTP_PASSWORD = server.password;
      const value = {
        sources: { csv: { type: 'file', path: await csv(120), format: 'csv', types: { id: 'integer' } } },
        destinations: { drop: { type: 'sftp', host: server.host, port: server.port, username: server.username, password: 'not-the-password', directory: '/', max_rows: 50, file_name: 'rows-{index}.{ext}' } },
        activations: [{ name: 'csv_to_sftp', source: { $ref: '#/sources/csv' }, destination: { $ref: '#/destinations/drop' }, schedule: null }],
      };
      await post(value);
      const run = await created('csv_to_sftp');
      const done = await finished(run.id);
      expect(done).toMatchObject({ status: 'succeeded', unsettled: 0 });
      expect(done.counters).toMatchObject({ read: 120, delivered: 120, batches: 3 });
      expect(readdirSync(server.root).sort()).toEqual(['rows-00000.csv', 'rows-00001.csv', 'rows-00002.csv']);
      expect(readFileSync(join(server.root, 'rows-00002.csv'), 'utf8').trim().split('\n')).toHaveLength(21);
      const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from sluice.bulk_jobs where activation = 'csv_to_sftp'`);
      expect(rows).toEqual([{ n: 0 }]);
      const { logs } = await listRunLogs(db, run.id, { limit: 1000 });
      expect(JSON.stringify(logs)).not.toContain(server.password);
    } finally {
      const env = platform.env as Record<string, string | undefined>;
      delete env.SLUICE_SFTP_PASSWORD;
      delete env.SLUICE_HOME;
      await server.close();
    }
  });

  it('puts records the destination refuses in the ledger, paginated', async () => {
    const api = await receiver((request, index, res, req) => {
      if (request.records.some((record) => Number(record.id) % 10 === 0)) res.writeHead(400).end('no multiples of ten');
      else accept(request, index, res, req);
    });
    await post(config(await csv(30), api.url, [{ name: 'csv_rejects' }], { batch_size: 1 }));
    const done = await finished((await created('csv_rejects')).id);
    expect(done.status).toBe('succeeded');
    expect(done.counters).toMatchObject({ read: 30, delivered: 27, rejected: 3 });

    const first = await listRejects(db, done.id, { limit: 2 });
    expect(first.rejects).toHaveLength(2);
    expect(first.next_after).not.toBeNull();
    const second = await listRejects(db, done.id, { limit: 2, after: first.next_after ?? 0 });
    expect(second.rejects).toHaveLength(1);
    const rejects = [...first.rejects, ...second.rejects];
    expect(rejects.map((reject) => (reject.record as { id: number }).id).sort((a, b) => a - b)).toEqual([10, 20, 30]);
    expect(rejects[0]?.reason).toContain('HTTP 400');
  });

  it('upsert: fingerprints kept in the store, so a second run sends only the changed row; drift is stored on the run', async () => {
    const api = await receiver();
    const path = join(dir, `upsert-${randomBytes(3).toString('hex')}.csv`);
    const rows = (amount5: string, extra = false) =>
      `${[extra ? 'id,email,amount,plan' : 'id,email,amount', ...Array.from({ length: 20 }, (_, index) => {
        const id = index + 1;
        return `${id},user${id}@example.com,${id === 5 ? amount5 : `${id}.5`}${extra ? ',free' : ''}`;
      })].join('\n')}\n`;
    await writeFile(path, rows('5.5'));
    await post(config(path, api.url, [{ name: 'csv_upsert', sync_mode: 'upsert', primary_key: 'id' }]));
    const first = await finished((await created('csv_upsert')).id);
    expect(first.counters).toMatchObject({ read: 20, delivered: 20, unchanged: 0 });
    expect(Snapshot.decode((await loadFingerprints(db, 'csv_upsert'))!).count).toBe(20);

    await writeFile(path, rows('99.5'));
    const second = await finished((await created('csv_upsert')).id);
    expect(second).toMatchObject({ status: 'succeeded', drift: null });
    expect(second.counters).toMatchObject({ read: 20, delivered: 1, unchanged: 19 });
    expect(api.acceptedIds().slice(20)).toEqual([5]);

    await writeFile(path, rows('99.5', true));
    const third = await finished((await created('csv_upsert')).id);
    expect(third.status).toBe('succeeded');
    expect(third.drift).toEqual({ added: ['plan'], removed: [], changed: [] });
    expect(third.counters).toMatchObject({ read: 20, delivered: 20 });
  });

  it('a dry run stores its plan and saves no state', async () => {
    const api = await receiver();
    await post(config(await csv(1), api.url, [{ name: 'tap_dry', source: { $ref: '#/sources/tap' } }]));
    const done = await finished((await created('tap_dry', { dryRun: true })).id);
    expect(done).toMatchObject({ status: 'succeeded', dry_run: true });
    expect(done.plan).toMatchObject({ records: 20 });
    expect(api.requests).toHaveLength(0);
    expect(await listStateVersions(db, 'tap_dry', { limit: 10 })).toEqual([]);
  });

  it('cancels a running run: it drains and ends cancelled', async () => {
    const api = await receiver(slow(100));
    await post(config(await csv(200), api.url, [{ name: 'csv_cancel' }], { batch_size: 5, concurrency: 1 }));
    const run = await created('csv_cancel');
    await waitFor('a few delivered batches', async () => (api.requests.length >= 3 ? true : undefined));
    expect((await requestCancel(db, run.id))?.cancel_requested).toBe(true);
    const done = await finished(run.id);
    expect(done.status).toBe('cancelled');
    expect(done.counters.delivered).toBeGreaterThan(0);
    expect(done.counters.delivered).toBeLessThan(200);
  });

  it('honours an Idempotency-Key and allows one active run per activation', async () => {
    const api = await receiver(slow(100));
    await post(config(await csv(100), api.url, [{ name: 'csv_once' }, { name: 'csv_other' }], { batch_size: 5, concurrency: 1 }));
    const idempotencyKey = `key-${randomBytes(4).toString('hex')}`;
    const first = await created('csv_once', { idempotencyKey });
    const again = await trigger('csv_once', { idempotencyKey });
    expect(again).toMatchObject({ kind: 'replayed', run: { id: first.id } });
    const busy = await trigger('csv_once');
    expect(busy).toMatchObject({ kind: 'busy', run: { id: first.id } });
    expect(await trigger('csv_other', { idempotencyKey })).toMatchObject({ kind: 'key-reused', run: { id: first.id } });

    await requestCancel(db, first.id);
    expect((await finished(first.id)).status).toBe('cancelled');
    // The key still names the first run after it ended.
    expect(await trigger('csv_once', { idempotencyKey })).toMatchObject({ kind: 'replayed', run: { id: first.id } });
  });

  it('a failed run notifies its webhook (or the global one) with a Slack payload, secrets redacted', async () => {
    // A destination that refuses the credentials and, carelessly, quotes them back.
    const api = await receiver((_request, _index, res, req) => {
      res.writeHead(401).end(`bad credentials: ${String(req.headers.authorization)}`);
    });
    const value = config(await csv(5), api.url, [
      { name: 'csv_fails', notify: { webhook_url: `${hookBase}/hooks/T000/B000/XXXX` } },
      { name: 'csv_fails_global' },
    ]);
    await post(value);
    const run = await finished((await created('csv_fails')).id);
    expect(run.status).toBe('failed');
    expect(run.error).toContain('AUTH_REFUSED');
    expect(run.error).not.toContain(HEADER_SECRET);
    const global = await finished((await created('csv_fails_global')).id);
    expect(global.status).toBe('failed');

    const hook = await waitFor('the webhook', async () => hooks.find((received) => received.body.text?.includes('csv_fails —')));
    expect(hook.path).toBe('/hooks/T000/B000/XXXX');
    expect(hook.body.text).toContain('AUTH_REFUSED');
    const section = hook.body.blocks?.[0]?.text?.text ?? '';
    expect(section).toContain(run.id);
    expect(section).toContain(`https://sluice.example/api/v1/runs/${run.id}`);
    await waitFor('the global webhook', async () => hooks.find((received) => received.path === '/global' && received.body.text?.includes('csv_fails_global')));
    expect(JSON.stringify(hooks)).not.toContain(HEADER_SECRET);
    expect(logger.text()).not.toContain(HEADER_SECRET);
  });

  it('a run whose config no longer resolves fails with each issue and its path', async () => {
    const value = config(await csv(1), 'http://127.0.0.1:9/none', [{ name: 'csv_unresolved' }]);
    (value.destinations.api as Record<string, unknown>).url = '${WORKER_TEST_UNSET_URL}';
    await post(value);
    const run = await finished((await created('csv_unresolved')).id);
    expect(run.status).toBe('failed');
    expect(run.error).toContain('destinations.api.url: environment variable WORKER_TEST_UNSET_URL is not set');
  });

  it('two schedulers fire a due schedule once per slot, and missed slots are not replayed', async () => {
    const api = await receiver();
    const configId = await post(config(await csv(3), api.url, [{ name: 'csv_ticker', schedule: '* * * * * *' }]));
    const otherDb = target.name === 'pglite' ? db : await tdb.open();
    const schedulers = [startScheduler(platform, { tickMs: 3_600_000 }), startScheduler({ ...platform, db: otherDb }, { tickMs: 3_600_000 })];
    try {
      const t0 = new Date(Date.now() + 60_000);
      t0.setUTCMilliseconds(500);
      const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
      // The first tick syncs the table from the config: next slot t0 + 0.5 s, nothing due yet.
      expect(await Promise.all(schedulers.map((scheduler) => scheduler.tick(t0)))).toEqual([0, 0]);
      const runs = async () => (await db.query<{ id: string }>(`select id from sluice.runs where activation = 'csv_ticker' order by created_at`)).rows;

      for (const [slot, expected] of [[1, 1], [2, 2], [7, 3]] as const) {
        const counts = await Promise.all(schedulers.map((scheduler) => scheduler.tick(at(slot))));
        expect(counts.reduce((sum, count) => sum + count, 0)).toBe(1);
        const ids = await runs();
        expect(ids).toHaveLength(expected);
        expect((await finished(ids[ids.length - 1]!.id)).status).toBe('succeeded');
      }
      const row = await db.query<{ next_at: Date; last_at: Date }>(`select next_at, last_at from sluice.schedules where activation = 'csv_ticker'`);
      expect(new Date(row.rows[0]!.last_at).toISOString()).toBe(at(7).toISOString());
      expect(new Date(row.rows[0]!.next_at).toISOString()).toBe(new Date(at(7).getTime() + 500).toISOString());

      // Busy: a run still active at the next slot is skipped for that slot. (Created without a queue job,
      // so it stays queued until cancelled.)
      const manual = await createRun(db, { id: randomUUID(), activation: 'csv_ticker', configId, trigger: 'api', dryRun: false });
      expect(await schedulers[0]!.tick(at(8))).toBe(0);
      await requestCancel(db, manual.run.id);
      expect(logger.text()).toContain('scheduled run skipped: previous run still active');
      expect((await runs()).length).toBe(4);
    } finally {
      await Promise.all(schedulers.map((scheduler) => scheduler.stop()));
    }
  });

  it('syncSchedules keeps an unchanged slot, moves a changed one and drops the unscheduled', async () => {
    const t0 = new Date('2031-01-01T10:00:30Z');
    const rows = async () =>
      new Map(
        (await db.query<{ activation: string; schedule: string; next_at: Date }>('select activation, schedule, next_at from sluice.schedules')).rows.map(
          (row) => [row.activation, `${row.schedule} @ ${new Date(row.next_at).toISOString()}`],
        ),
      );
    await syncSchedules(db, [{ name: 's_keep', schedule: '@hourly' }, { name: 's_change', schedule: '@daily' }, { name: 's_drop', schedule: '0 * * * *' }], t0);
    await syncSchedules(
      db,
      [{ name: 's_keep', schedule: '@hourly' }, { name: 's_change', schedule: '*/5 * * * *' }, { name: 's_drop', schedule: null }, { name: 's_manual' }],
      new Date('2031-01-01T10:20:00Z'),
    );
    expect(await rows()).toEqual(
      new Map([
        ['s_keep', '@hourly @ 2031-01-01T11:00:00.000Z'],
        ['s_change', '*/5 * * * * @ 2031-01-01T10:25:00.000Z'],
      ]),
    );
  });

  // Last: it stops the worker (and with it the queue) that the tests above share.
  it('stop() interrupts the runs in flight: they drain, save their state and end interrupted', async () => {
    const api = await receiver(slow(100));
    await post(config(await csv(1), api.url, [{ name: 'tap_stopped', source: { $ref: '#/sources/tap' } }], { batch_size: 2, concurrency: 1 }));
    const run = await created('tap_stopped');
    await waitFor('a few delivered batches', async () => (api.requests.length >= 3 ? true : undefined));
    await worker.stop();
    const done = await getRun(db, run.id);
    expect(done?.status).toBe('interrupted');
    const delivered = done?.counters.delivered ?? 0;
    expect(delivered).toBeGreaterThanOrEqual(6);
    expect(delivered).toBeLessThan(20);
    // The tap bookmarks each record and they are delivered in order: the saved state never runs ahead of
    // what was delivered, and lags at most by the bookmark not yet read when reading stopped.
    const state = await currentState(db, 'tap_stopped');
    expect(state?.run_id).toBe(run.id);
    const lastId = (state?.state.bookmarks?.items as { last_id?: number } | undefined)?.last_id ?? 0;
    expect(lastId).toBeLessThanOrEqual(delivered);
    expect(lastId).toBeGreaterThanOrEqual(delivered - 1);
  });
});
