/**
 * Config versions through the API, on each database target: whole-config validation with JSON paths,
 * masked responses, "********" round trips that keep the stored secret, label conflicts, getLatest on an
 * empty store, configs:validate, and the audit entry a post leaves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApi, startTestApi } from '../../test/support/api.ts';
import { forEachDatabase } from '../../test/support/databases.ts';
import { SECRET_MASK, decryptConfigSecrets } from '../store/config-secrets.ts';
import { getConfig } from '../store/configs.ts';

const TOKEN = 'tok-7f3a9c1e5b';

function sampleConfig(overrides: { headers?: Record<string, string>; batchSize?: number; schedule?: string | null } = {}) {
  return {
    sources: { orders: { type: 'file', path: 'data/orders.csv', types: { id: 'integer' } } },
    destinations: {
      api: { type: 'http', url: 'https://api.example.com/ingest', headers: overrides.headers ?? { Authorization: `Bearer ${TOKEN}` }, batch_size: overrides.batchSize ?? 100 },
    },
    activations: [
      { name: 'orders_to_api', source: { $ref: '#/sources/orders' }, destination: { $ref: '#/destinations/api' }, schedule: overrides.schedule ?? null },
    ],
  };
}

forEachDatabase((target) => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi(target, { env: { API_TOKEN: 'from-env' } });
  });
  afterAll(async () => {
    await api?.close();
  });

  describe('before any config', () => {
    it('getLatest is 404 and the list is empty', async () => {
      const latest = await api.call('GET', '/api/v1/configs:getLatest');
      expect(latest.status).toBe(404);
      expect(latest.body).toEqual({ error: 'no config has been posted yet' });
      expect((await api.call('GET', '/api/v1/configs')).body).toEqual([]);
      expect((await api.call('GET', '/api/v1/activations')).body).toEqual([]);
    });

    it('a masked secret with no earlier version is an issue at its path', async () => {
      const response = await api.call('POST', '/api/v1/configs', { body: { label: 'masked', value: sampleConfig({ headers: { Authorization: SECRET_MASK } }) } });
      expect(response.status).toBe(400);
      expect(response.body.issues).toEqual([{ path: 'destinations.api.headers.Authorization', message: expect.stringContaining('no earlier version') }]);
    });
  });

  it('rejects an invalid config with every problem and its JSON path, storing nothing', async () => {
    const value = {
      sources: { orders: { type: 'file', path: 'data/orders.csv', delimiter: ';;', colour: 'red' } },
      destinations: { api: { type: 'http', url: 'ftp://example.com', batch_size: 'big' }, other: { type: 'nope' } },
      activations: [
        { name: 'a', source: { $ref: '#/sources/order' }, destination: { $ref: '#/destinations/api' } },
        { name: 'b', source: { $ref: '#/sources/orders' }, destination: { $ref: '#/destinations/api' }, object: 'visitors' },
      ],
    };
    const response = await api.call('POST', '/api/v1/configs', { body: { label: 'broken', value } });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid config');
    const paths = (response.body.issues as { path: string }[]).map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'sources.orders.delimiter',
        'sources.orders.colour',
        'destinations.api.url',
        'destinations.api.batch_size',
        'destinations.other.type',
        'activations[0].source.$ref',
      ]),
    );
    for (const issue of response.body.issues) expect(issue).toEqual({ path: expect.any(String), message: expect.any(String) });

    // The file's own shape is checked first: these are all reported together too.
    const shape = await api.call('POST', '/api/v1/configs', {
      body: {
        label: 'broken shape',
        value: {
          sources: {},
          destinations: {},
          activations: [{ name: 'a', source: { $ref: '#/sources/x' }, destination: { $ref: '#/destinations/y' }, schedule: '61 * * * *', token: '${MISSING_VAR}' }],
        },
      },
    });
    expect(shape.status).toBe(400);
    expect(shape.body.issues.map((issue: { path: string }) => issue.path)).toEqual(expect.arrayContaining(['activations[0].schedule', 'activations[0].token']));
    expect((await api.call('GET', '/api/v1/configs')).body).toEqual([]);
  });

  it('rejects a body without value, or with unknown keys, in the same issue shape', async () => {
    const response = await api.call('POST', '/api/v1/configs', { body: { lable: 'x' } });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: 'invalid request',
      issues: expect.arrayContaining([
        { path: 'body.value', message: 'required' },
        { path: 'body.lable', message: 'unknown key' },
      ]),
    });
  });

  describe('posting and reading back', () => {
    let firstId: number;

    it('stores a valid config, answers it masked, and encrypts the secret at rest', async () => {
      const response = await api.call('POST', '/api/v1/configs', { body: { label: 'first', value: sampleConfig() } });
      expect(response.status).toBe(200);
      expect(response.text).not.toContain(TOKEN);
      expect(response.body).toMatchObject({ id: expect.any(Number), label: 'first', create_date: expect.any(String) });
      expect(response.body.value.destinations.api.headers).toEqual({ Authorization: SECRET_MASK });
      firstId = response.body.id;

      const stored = await getConfig(api.db, firstId);
      expect(JSON.stringify(stored?.value)).not.toContain(TOKEN);
      expect(decryptConfigSecrets(stored?.value, api.platform.secretKey)).toEqual(sampleConfig());
    });

    it('keeps the stored secret when a GET is edited and posted back with "********"', async () => {
      const latest = await api.call('GET', '/api/v1/configs:getLatest');
      expect(latest.status).toBe(200);
      expect(latest.body.id).toBe(firstId);
      const edited = latest.body.value;
      edited.destinations.api.batch_size = 250;
      const response = await api.call('POST', '/api/v1/configs', { body: { label: 'second', value: edited } });
      expect(response.status).toBe(200);
      expect(response.body.value.destinations.api.headers).toEqual({ Authorization: SECRET_MASK });
      const stored = await getConfig(api.db, response.body.id);
      // What the worker will decrypt: the original secret, with the edit.
      expect(decryptConfigSecrets(stored?.value, api.platform.secretKey)).toEqual(sampleConfig({ batchSize: 250 }));
    });

    it('answers 409 for a label already used (Tightlock)', async () => {
      const response = await api.call('POST', '/api/v1/configs', { body: { label: 'first', value: sampleConfig() } });
      expect(response.status).toBe(409);
      expect(response.body).toEqual({ error: 'Config label first already exists.' });
    });

    it('labels a version when no label is given', async () => {
      const response = await api.call('POST', '/api/v1/configs', { body: { value: sampleConfig({ schedule: '@daily' }) } });
      expect(response.status).toBe(200);
      expect(response.body.label).toMatch(/^version \d+ \(/);
    });

    it('lists versions oldest first, serves each by id, and getLatest is the newest', async () => {
      const list = await api.call('GET', '/api/v1/configs');
      expect(list.body.map((config: { label: string }) => config.label)).toEqual(['first', 'second', expect.stringMatching(/^version/)]);
      expect(list.text).not.toContain(TOKEN);
      const one = await api.call('GET', `/api/v1/configs/${firstId}`);
      expect(one.body).toEqual(list.body[0]);
      expect((await api.call('GET', '/api/v1/configs:getLatest')).body).toEqual(list.body[2]);
      expect((await api.call('GET', '/api/v1/configs/999999')).status).toBe(404);
      const bad = await api.call('GET', '/api/v1/configs/abc');
      expect(bad.status).toBe(400);
      expect(bad.body.issues).toEqual([{ path: 'params.id', message: expect.any(String) }]);
    });

    it('shows the current activations with their next scheduled time', async () => {
      const response = await api.call('GET', '/api/v1/activations');
      expect(response.body).toEqual([
        {
          name: 'orders_to_api',
          source: { $ref: '#/sources/orders' },
          destination: { $ref: '#/destinations/api' },
          schedule: '@daily',
          last_run: null,
          next_run_at: expect.stringMatching(/T00:00:00\.000Z$/),
        },
      ]);
    });

    it('audits each post without its values', async () => {
      const audit = await api.call('GET', '/api/v1/audit?limit=10');
      const creates = audit.body.entries.filter((entry: { action: string }) => entry.action === 'config.create');
      expect(creates).toHaveLength(3);
      expect(creates[0]).toMatchObject({ actor: expect.stringMatching(/^key:slk_/), target: expect.any(String), detail: { activations: ['orders_to_api'] } });
      expect(audit.text).not.toContain(TOKEN);
    });
  });

  it('configs:validate checks without storing', async () => {
    const before = (await api.call('GET', '/api/v1/configs')).body.length;
    const good = await api.call('POST', '/api/v1/configs:validate', { body: { value: sampleConfig({ headers: { Authorization: SECRET_MASK } }) } });
    expect(good.body).toEqual({ is_valid: true, issues: [] });
    const bad = await api.call('POST', '/api/v1/configs:validate', { body: { value: { sources: {}, destinations: {}, activations: [{ name: 'x' }] } } });
    expect(bad.status).toBe(200);
    expect(bad.body.is_valid).toBe(false);
    expect(bad.body.issues).toEqual(expect.arrayContaining([{ path: 'activations[0].source', message: expect.any(String) }]));
    expect((await api.call('GET', '/api/v1/configs')).body.length).toBe(before);
  });

  it('POST /connect tells the version', async () => {
    const response = await api.call('POST', '/api/v1/connect');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });
});
