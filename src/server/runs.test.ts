/**
 * Activations and runs through the API, on each database target: triggering (202 + Location,
 * Idempotency-Key replay, 422 for a key reused elsewhere, 409 busy, 404 unknown), the run listing walked
 * page by page with its cursor, Tightlock's runs:batchGet, logs and rejects, cancel, and activation state
 * with its versions and revert.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApi, startTestApi } from '../../test/support/api.ts';
import { forEachDatabase } from '../../test/support/databases.ts';
import { appendRejects, appendRunLogs } from '../store/run-records.ts';
import { saveStateVersion } from '../store/state.ts';

function config() {
  const activation = (name: string) => ({ name, source: { $ref: '#/sources/orders' }, destination: { $ref: '#/destinations/api' }, schedule: null });
  return {
    sources: { orders: { type: 'file', path: 'data/orders.csv' } },
    destinations: { api: { type: 'http', url: 'https://api.example.com/ingest' } },
    activations: [activation('orders_to_api'), activation('second')],
  };
}

forEachDatabase((target) => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi(target);
  });
  afterAll(async () => {
    await api?.close();
  });

  describe('triggering', () => {
    let runId: string;

    it('is 404 before any config', async () => {
      const response = await api.call('POST', '/api/v1/activations/orders_to_api:trigger', { body: { dry_run: false } });
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ error: 'no config has been posted yet' });
    });

    it('answers 202 with the run and its Location, and enqueues it', async () => {
      expect((await api.call('POST', '/api/v1/configs', { body: { label: 'runs', value: config() } })).status).toBe(200);
      const response = await api.call('POST', '/api/v1/activations/orders_to_api:trigger', { body: { dry_run: true }, headers: { 'idempotency-key': 'key-1' } });
      expect(response.status).toBe(202);
      expect(response.body).toMatchObject({ run_id: expect.any(String), status: 'queued', activation: 'orders_to_api', dry_run: true, force: false, trigger: 'api' });
      runId = response.body.run_id;
      expect(response.body.id).toBe(runId);
      expect(response.headers.location).toBe(`/api/v1/runs/${runId}`);
      expect(api.enqueued).toEqual([runId]);
    });

    it('replays the same run for the same Idempotency-Key', async () => {
      const response = await api.call('POST', '/api/v1/activations/orders_to_api:trigger', { body: { dry_run: true }, headers: { 'idempotency-key': 'key-1' } });
      expect(response.status).toBe(202);
      expect(response.body.run_id).toBe(runId);
      expect(response.headers.location).toBe(`/api/v1/runs/${runId}`);
      expect(api.enqueued).toEqual([runId]);
    });

    it('refuses a key used for another activation with 422', async () => {
      const response = await api.call('POST', '/api/v1/activations/second:trigger', { body: { dry_run: true }, headers: { 'idempotency-key': 'key-1' } });
      expect(response.status).toBe(422);
      expect(response.body.error).toContain('orders_to_api');
    });

    it('answers 409 with the active run while one is queued or running', async () => {
      const response = await api.call('POST', '/api/v1/activations/orders_to_api:trigger', { body: { dry_run: false } });
      expect(response.status).toBe(409);
      expect(response.body).toEqual({ error: expect.stringContaining('active run'), run_id: runId });
    });

    it('answers 404 for an unknown activation, 400 for a bad body, and takes no body as dry_run false', async () => {
      const unknown = await api.call('POST', '/api/v1/activations/nope:trigger', { body: { dry_run: true } });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toContain('"nope"');
      const bad = await api.call('POST', '/api/v1/activations/second:trigger', { body: { dry_run: 'maybe', extra: 1 } });
      expect(bad.status).toBe(400);
      expect(bad.body.issues).toEqual(expect.arrayContaining([{ path: 'body.dry_run', message: expect.any(String) }, { path: 'body.extra', message: 'unknown key' }]));
      const bare = await api.call('POST', '/api/v1/connections/second:trigger');
      expect(bare.status).toBe(202);
      expect(bare.body.dry_run).toBe(false);
    });

    it('shows the run, the activation with its last run, and Tightlock run logs', async () => {
      const run = await api.call('GET', `/api/v1/runs/${runId}`);
      expect(run.status).toBe(200);
      expect(run.body).toMatchObject({ id: runId, status: 'queued', config_id: expect.any(Number), counters: { read: 0, delivered: 0 } });
      expect((await api.call('GET', '/api/v1/runs/00000000-0000-0000-0000-000000000000')).status).toBe(404);
      expect((await api.call('GET', '/api/v1/runs/not-a-uuid')).status).toBe(404);

      const activation = await api.call('GET', '/api/v1/activations/orders_to_api');
      expect(activation.body).toMatchObject({ name: 'orders_to_api', last_run: { id: runId }, next_run_at: null });
      expect((await api.call('GET', '/api/v1/activations/nope')).status).toBe(404);

      for (const base of ['/api/v1/activations/~/runs:batchGet?activation_names=orders_to_api', '/api/v1/connections/~/runs:batchGet?connection_names=orders_to_api']) {
        const logs = await api.call('GET', base);
        expect(logs.status).toBe(200);
        expect(logs.body).toEqual({
          run_logs: [
            {
              activation_name: 'orders_to_api',
              connection_name: 'orders_to_api',
              source_name: 'orders',
              destination_name: 'api',
              schedule: null,
              state: 'queued',
              status: 'queued',
              run_at: run.body.created_at,
              run_type: 'manual',
              run_result: { successful_hits: 0, failed_hits: 0, error_messages: [], dry_run: true },
              run_id: runId,
            },
          ],
          total_entries: 1,
        });
      }
      const both = await api.call('GET', '/api/v1/activations/~/runs:batchGet?activation_names=orders_to_api&activation_names=second');
      expect(both.body.total_entries).toBe(2);
    });

    it('pages through log lines and rejects', async () => {
      const at = new Date().toISOString();
      await appendRunLogs(api.db, runId, [1, 2, 3, 4, 5].map((n) => ({ at, level: 'info', message: `line ${n}` })));
      const reject = (id: number) => ({ runId, activation: 'orders_to_api', stream: 'orders', code: 'RECORD_INVALID' as const, reason: 'email: required', attempts: 1, record: { id } });
      await appendRejects(api.db, runId, [reject(1), reject(2)]);
      const first = await api.call('GET', `/api/v1/runs/${runId}/logs?limit=2`);
      expect(first.body.logs.map((line: { message: string }) => line.message)).toEqual(['line 1', 'line 2']);
      const rest = await api.call('GET', `/api/v1/runs/${runId}/logs?limit=10&after=${first.body.next_after}`);
      expect(rest.body.logs.map((line: { message: string }) => line.message)).toEqual(['line 3', 'line 4', 'line 5']);
      expect(rest.body.next_after).toBeNull();
      const rejects = await api.call('GET', `/api/v1/runs/${runId}/rejects`);
      expect(rejects.body.rejects).toEqual([
        expect.objectContaining({ reason: 'email: required', record: { id: 1 } }),
        expect.objectContaining({ reason: 'email: required', record: { id: 2 } }),
      ]);
      expect((await api.call('GET', '/api/v1/runs/00000000-0000-0000-0000-000000000000/logs')).status).toBe(404);
    });

    it('cancels a queued run once, audited', async () => {
      const response = await api.call('POST', `/api/v1/runs/${runId}:cancel`);
      expect(response.status).toBe(202);
      expect(response.body).toMatchObject({ id: runId, status: 'cancelled' });
      const again = await api.call('POST', `/api/v1/runs/${runId}:cancel`);
      expect(again.status).toBe(409);
      const audit = await api.call('GET', '/api/v1/audit');
      expect(audit.body.entries[0]).toMatchObject({ action: 'run.cancel', target: 'orders_to_api', actor: expect.stringMatching(/^key:/), detail: { run_id: runId } });
    });
  });

  describe('listing runs', () => {
    let all: string[];

    beforeAll(async () => {
      const configId = (await api.call('GET', '/api/v1/configs:getLatest')).body.id;
      // 120 runs in groups of 3 sharing one created_at: the cursor must break ties by id.
      await api.db.query(
        `insert into sluice.runs (id, activation, config_id, status, trigger, created_at, finished_at)
         select gen_random_uuid(), 'act_' || (i % 4), $1, (array['succeeded', 'failed', 'cancelled'])[1 + i % 3], 'schedule',
                timestamptz '2024-01-01' + make_interval(secs => i / 3), timestamptz '2024-01-01' + make_interval(secs => i / 3 + 1)
         from generate_series(0, 119) as i`,
        [configId],
      );
      const { rows } = await api.db.query<{ id: string }>('select id from sluice.runs order by created_at desc, id desc');
      all = rows.map((row) => String(row.id));
    });

    it('walks every run exactly once, newest first, with the cursor', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const url: string = `/api/v1/runs?limit=25${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
        const page = await api.call('GET', url);
        expect(page.status).toBe(200);
        expect(page.body.runs.length).toBeLessThanOrEqual(25);
        seen.push(...page.body.runs.map((run: { id: string }) => run.id));
        cursor = page.body.next_cursor;
        pages++;
      } while (cursor !== null && pages < 20);
      expect(all.length).toBe(122);
      expect(seen).toEqual(all);
      expect(new Set(seen).size).toBe(all.length);
      expect(pages).toBe(Math.ceil(all.length / 25));
    });

    it('filters by activation and status, and refuses a bad cursor or limit', async () => {
      const one = await api.call('GET', '/api/v1/runs?activation=act_1&limit=500');
      expect(one.body.runs).toHaveLength(30);
      expect(one.body.runs.every((run: { activation: string }) => run.activation === 'act_1')).toBe(true);
      const failed = await api.call('GET', '/api/v1/runs?status=failed&limit=500');
      expect(failed.body.runs).toHaveLength(40);
      const bad = await api.call('GET', '/api/v1/runs?cursor=nonsense!&limit=0&status=done');
      expect(bad.status).toBe(400);
      expect(bad.body.issues.map((issue: { path: string }) => issue.path).sort()).toEqual(['querystring.limit', 'querystring.status']);
      const cursor = await api.call('GET', '/api/v1/runs?cursor=nonsense!');
      expect(cursor.status).toBe(400);
      expect(cursor.body).toEqual({ error: 'invalid request', issues: [{ path: 'querystring.cursor', message: expect.stringContaining('next_cursor') }] });
    });

    it("pages Tightlock's batchGet by offset with a total", async () => {
      const page = await api.call('GET', '/api/v1/activations/~/runs:batchGet?page=1&page_size=50');
      expect(page.body.total_entries).toBe(122);
      expect(page.body.run_logs.map((log: { run_id: string }) => log.run_id)).toEqual(all.slice(50, 100));
      expect(page.body.run_logs[0]).toMatchObject({ run_type: 'scheduled', source_name: null, state: expect.stringMatching(/^(success|failed)$/) });
    });
  });

  describe('state', () => {
    it('shows the current state and its versions, and reverts with an audit entry', async () => {
      expect((await api.call('GET', '/api/v1/activations/second/state')).status).toBe(404);
      await saveStateVersion(api.db, { activation: 'orders_to_api', state: { bookmarks: { orders: { line: 10 } } } });
      await saveStateVersion(api.db, { activation: 'orders_to_api', state: { bookmarks: { orders: { line: 20 } } } });
      const current = await api.call('GET', '/api/v1/activations/orders_to_api/state');
      expect(current.body).toMatchObject({ activation: 'orders_to_api', version: 2, state: { bookmarks: { orders: { line: 20 } } } });
      const versions = await api.call('GET', '/api/v1/activations/orders_to_api/state/versions?limit=1');
      expect(versions.body.versions.map((v: { version: number }) => v.version)).toEqual([2]);
      const older = await api.call('GET', `/api/v1/activations/orders_to_api/state/versions?before=${versions.body.next_before}`);
      expect(older.body.versions.map((v: { version: number }) => v.version)).toEqual([1]);

      const reverted = await api.call('POST', '/api/v1/activations/orders_to_api/state:revert', { body: { version: 1 } });
      expect(reverted.status).toBe(200);
      expect(reverted.body).toMatchObject({ version: 3, reverted_from: 1, state: { bookmarks: { orders: { line: 10 } } } });
      const audit = await api.call('GET', '/api/v1/audit?limit=1');
      expect(audit.body.entries[0]).toMatchObject({ action: 'state.revert', target: 'orders_to_api', detail: { version: 1, new_version: 3 } });
      expect((await api.call('POST', '/api/v1/activations/orders_to_api/state:revert', { body: { version: 99 } })).status).toBe(404);
      expect((await api.call('POST', '/api/v1/activations/orders_to_api/state:revert', { body: {} })).body.issues).toEqual([
        { path: 'body.version', message: 'required' },
      ]);
    });

    it('refuses a revert while the activation has an active run', async () => {
      const run = await api.call('POST', '/api/v1/activations/orders_to_api:trigger', { body: { dry_run: false } });
      expect(run.status).toBe(202);
      const response = await api.call('POST', '/api/v1/activations/orders_to_api/state:revert', { body: { version: 1 } });
      expect(response.status).toBe(409);
      expect(response.body.run_id).toBe(run.body.run_id);
    });
  });
});
