/**
 * The secrets canary, on each database target: unique secret values are planted in a config (an http
 * destination's header and an activation's webhook URL), the config is posted, every GET route of the
 * OpenAPI document is called, runs are triggered and executed by a real worker through the queue (one
 * succeeds, proving the worker got the secret; one fails against a destination that quotes the secret
 * back), and then: no response body, no server or worker log line, and no row of the store holds a canary
 * in plain text.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CallResult, type TestApi, startTestApi } from '../../test/support/api.ts';
import { forEachDatabase } from '../../test/support/databases.ts';
import { type Receiver, accept, startReceiver } from '../../test/support/receiver.ts';
import { type Worker, startWorker } from '../platform/worker.ts';
import { silentLogger } from '../sdk/context.ts';
import { openRunQueue } from '../store/queue.ts';

const TABLES = ['configs', 'audit_log', 'run_logs', 'runs', 'run_rejects', 'state_versions', 'schedules', 'api_keys'];

forEachDatabase((target) => {
  const canary = `canary-${randomBytes(8).toString('hex')}`;
  const hookCanary = `hook-${randomBytes(8).toString('hex')}`;
  let api: TestApi;
  let worker: Worker;
  let good: Receiver;
  let refusing: Receiver;
  const responses: CallResult[] = [];
  const delivered: (string | undefined)[] = [];

  async function call(method: string, url: string, body?: unknown): Promise<CallResult> {
    const response = await api.call(method, url, body === undefined ? {} : { body });
    responses.push(response);
    return response;
  }

  async function finished(id: string): Promise<{ status: string; error: string | null; counters: { delivered: number } }> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const run = (await call('GET', `/api/v1/runs/${id}`)).body;
      if (run.status !== 'queued' && run.status !== 'running') return run;
      if (Date.now() > deadline) throw new Error(`run ${id} did not finish`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    api = await startTestApi(target, { queue: (db) => openRunQueue(db, { pollingIntervalSeconds: 0.5, logger: silentLogger }) });
    worker = startWorker(api.platform, { concurrency: 2, leaseSeconds: 5, heartbeatSeconds: 0.2 });
    good = await startReceiver((request, index, res, req) => {
      delivered.push(req.headers.authorization);
      accept(request, index, res, req);
    });
    // A destination that refuses the credentials and, carelessly, quotes them back.
    refusing = await startReceiver((_request, _index, res, req) => {
      res.writeHead(401).end(`bad credentials: ${String(req.headers.authorization)}`);
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.close();
    await good?.close();
    await refusing?.close();
  });

  it('no canary in any response, log line or stored row', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-canary-'));
    const path = join(dir, 'orders.csv');
    await writeFile(path, 'id,email\n1,a@example.com\n2,b@example.com\n3,c@example.com\n');
    const authorization = `Bearer ${canary}`;
    const activation = (name: string, destination: string) => ({
      name,
      source: { $ref: '#/sources/orders' },
      destination: { $ref: `#/destinations/${destination}` },
      notify: { webhook_url: `http://127.0.0.1:9/hooks/${hookCanary}` },
      schedule: null,
    });
    const value = {
      sources: { orders: { type: 'file', path, types: { id: 'integer' } } },
      destinations: {
        api: { type: 'http', url: good.url, headers: { Authorization: authorization }, batch_size: 2, max_wait_ms: 10 },
        refusing: { type: 'http', url: refusing.url, headers: { Authorization: authorization } },
      },
      activations: [activation('orders_to_api', 'api'), activation('orders_refused', 'refusing')],
    };
    expect((await call('POST', '/api/v1/configs', { label: 'canary', value })).status).toBe(200);
    const latest = await call('GET', '/api/v1/configs:getLatest');
    expect((await call('POST', '/api/v1/configs', { label: 'canary again', value: latest.body.value })).status).toBe(200);
    expect((await call('POST', '/api/v1/configs:validate', { value: latest.body.value })).body.is_valid).toBe(true);
    await call('POST', '/api/v1/destinations/http:validate', { value: { name: 'refusing', type: 'http', url: refusing.url, headers: { Authorization: '********' } } });

    const ok = await call('POST', '/api/v1/activations/orders_to_api:trigger', { dry_run: false });
    const refused = await call('POST', '/api/v1/activations/orders_refused:trigger', { dry_run: false });
    expect(ok.status).toBe(202);
    expect(refused.status).toBe(202);
    const done = await finished(ok.body.run_id);
    expect(done).toMatchObject({ status: 'succeeded', counters: { delivered: 3 } });
    const failed = await finished(refused.body.run_id);
    expect(failed.status).toBe('failed');
    // The worker decrypted the header: the receiver got the real secret.
    expect(delivered.length).toBeGreaterThan(0);
    expect(new Set(delivered)).toEqual(new Set([authorization]));
    expect(refusing.requests.length).toBeGreaterThan(0);
    const dry = await call('POST', '/api/v1/activations/orders_to_api:trigger', { dry_run: true });
    await finished(dry.body.run_id);

    // Every GET route of the OpenAPI document, with real names and ids.
    const doc = (await call('GET', '/docs/json')).body as { paths: Record<string, { get?: unknown }> };
    const configId = latest.body.id as number;
    const gets = Object.entries(doc.paths)
      .filter(([, operations]) => operations.get !== undefined)
      .map(([route]) =>
        route
          .replace('/configs/{id}', `/configs/${configId}`)
          .replace('/runs/{id}', `/runs/${refused.body.run_id}`)
          .replace('/connectors/{kind}/{id}', '/connectors/destination/http')
          .replace('{name}', 'orders_to_api'),
      );
    expect(gets.length).toBeGreaterThanOrEqual(20);
    for (const url of [...gets, '/docs', '/api/v1/runs?limit=500', '/api/v1/activations/~/runs:batchGet?page_size=100', '/api/v1/activations/orders_refused']) {
      const response = await call('GET', url);
      expect(response.status, url).toBeLessThan(url.endsWith('/state') ? 500 : 400);
    }
    expect((await call('GET', `/api/v1/runs/${refused.body.run_id}/logs?limit=500`)).body.logs.length).toBeGreaterThan(0);

    for (const response of responses) {
      expect(response.text).not.toContain(canary);
      expect(response.text).not.toContain(hookCanary);
      // Not even encrypted: responses show "********".
      expect(response.text).not.toContain('"$secret"');
    }
    const logs = api.logs.join('\n');
    expect(logs).toContain(ok.body.run_id);
    expect(logs).not.toContain(canary);
    expect(logs).not.toContain(hookCanary);
    for (const table of TABLES) {
      const { rows } = await api.db.query<{ row: string }>(`select t::text as row from sluice.${table} t`);
      const text = rows.map((row) => row.row).join('\n');
      expect(text, table).not.toContain(canary);
      expect(text, table).not.toContain(hookCanary);
    }
  });
});
