/**
 * The server's edges, on each database target: API-key auth, error shapes (malformed JSON, oversized
 * bodies, unknown routes, internal errors without stacks), /healthz, /metrics, the OpenAPI document,
 * connectors and Tightlock's schemas and validate routes, and one real `listen` reached with undici.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApi, startTestApi } from '../../test/support/api.ts';
import { forEachDatabase } from '../../test/support/databases.ts';
import { createAjv } from '../testing/json-schema.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../store/keys.ts';

forEachDatabase((target) => {
  let api: TestApi;
  let dir: string;
  let probe: Server;
  let probeUrl: string;
  const probeHeaders: (string | undefined)[] = [];

  beforeAll(async () => {
    api = await startTestApi(target, { bodyLimit: 64 * 1024 });
    dir = await mkdtemp(join(tmpdir(), 'sluice-api-test-'));
    probe = createServer((req, res) => {
      probeHeaders.push(req.headers.authorization);
      req.resume();
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    probeUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/ingest`;
  });
  afterAll(async () => {
    await api?.close();
    await new Promise((resolve) => probe?.close(resolve));
  });

  describe('auth', () => {
    it('answers 401 without a key, with a wrong key, and with a revoked key', async () => {
      for (const headers of [{}, { 'x-api-key': 'slk_wrong' }, { 'x-api-key': '' }] as Record<string, string>[]) {
        const response = await api.call('GET', '/api/v1/configs', { anonymous: true, headers });
        expect(response.status).toBe(401);
        expect(response.body).toEqual({ error: 'Invalid API Key' });
      }
      const { key } = await createApiKey(api.db, 'revoked');
      await revokeApiKey(api.db, key.slice(0, 8));
      expect((await api.call('GET', '/api/v1/configs', { anonymous: true, headers: { 'x-api-key': key } })).status).toBe(401);
      expect((await api.call('POST', '/api/v1/connect', { anonymous: true })).status).toBe(401);
    });

    it('accepts a valid key and records its use', async () => {
      expect((await api.call('GET', '/api/v1/configs')).status).toBe(200);
      const used = (await listApiKeys(api.db)).find((info) => api.key.startsWith(info.prefix) && info.name === 'test');
      expect(used?.last_used_at).not.toBeNull();
    });

    it('leaves /healthz, /metrics and /docs open', async () => {
      const health = await api.call('GET', '/healthz', { anonymous: true });
      expect(health.status).toBe(200);
      expect(health.body).toEqual({ status: 'ok', store: api.db.kind });
      expect((await api.call('GET', '/metrics', { anonymous: true })).status).toBe(200);
      expect((await api.call('GET', '/docs/json', { anonymous: true })).status).toBe(200);
      expect([200, 302]).toContain((await api.call('GET', '/docs', { anonymous: true })).status);
    });
  });

  describe('errors', () => {
    it('answers malformed JSON with 400 and the parser message, no stack and no echo of the body', async () => {
      const response = await api.call('POST', '/api/v1/configs', { raw: '{"label": "x", "value": {"a": "sekrit-value-42", "b": 1, "c": x}}' });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        error: expect.stringMatching(/^malformed JSON body: .*(token|position)/),
        issues: [{ path: 'body', message: expect.stringMatching(/token|position/) }],
      });
      expect(response.text).not.toContain('sekrit');
      expect(response.text).not.toContain('    at ');
      const poisoned = await api.call('POST', '/api/v1/configs', { raw: '{"value": {"__proto__": {"x": 1}}}' });
      expect(poisoned.status).toBe(400);
    });

    it('answers an oversized body with 413', async () => {
      const response = await api.call('POST', '/api/v1/configs', { body: { label: 'big', value: { blob: 'x'.repeat(70 * 1024) } } });
      expect(response.status).toBe(413);
      expect(response.body).toEqual({ error: 'request body exceeds 65536 bytes' });
    });

    it('answers unknown routes and unsupported media types with a message', async () => {
      const missing = await api.call('GET', '/api/v1/nothing/here?x=1');
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ error: 'no route GET /api/v1/nothing/here' });
      const media = await api.call('POST', '/api/v1/configs', { raw: 'label=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(media.status).toBe(415);
      expect(media.body).toEqual({ error: expect.any(String) });
    });
  });

  describe('connectors', () => {
    it('lists connectors with their schemas and objects', async () => {
      const list = await api.call('GET', '/api/v1/connectors');
      expect(list.status).toBe(200);
      const http = list.body.find((connector: { kind: string; id: string }) => connector.kind === 'destination' && connector.id === 'http');
      expect(http).toMatchObject({ title: expect.any(String), schema: { type: 'object', properties: { url: expect.any(Object) } } });
      expect(http.objects).toEqual([expect.objectContaining({ name: 'records', sync_modes: expect.any(Array), mode: 'streaming' })]);
      expect(list.body.some((connector: { kind: string; id: string }) => connector.kind === 'source' && connector.id === 'file')).toBe(true);
      const one = await api.call('GET', '/api/v1/connectors/destination/http');
      expect(one.body).toEqual(http);
      expect((await api.call('GET', '/api/v1/connectors/destination/nope')).status).toBe(404);
      expect((await api.call('GET', '/api/v1/connectors/widget/http')).status).toBe(404);
    });

    it("serves Tightlock's Schemas document: an anyOf of $refs per kind, valid JSON Schema", async () => {
      const response = await api.call('GET', '/api/v1/schemas');
      const schemas = response.body;
      expect(schemas).toMatchObject({ title: 'Schemas', type: 'object', properties: { source: { anyOf: expect.any(Array) }, destination: { anyOf: expect.any(Array) } } });
      for (const kind of ['source', 'destination']) {
        for (const { $ref } of schemas.properties[kind].anyOf) {
          const def = schemas.$defs[$ref.replace('#/$defs/', '')];
          expect(def.properties.type.const).toEqual(expect.any(String));
          expect(def.properties.name).toMatchObject({ type: 'string' });
          expect(def.required).toEqual(expect.arrayContaining(['type', 'name']));
        }
      }
      const validate = createAjv(false).compile(schemas);
      const http = { type: 'http', name: 'api', url: 'https://example.com/in' };
      expect(validate({ source: { type: 'file', name: 'orders', path: 'data/orders.csv' }, destination: http })).toBe(true);
      expect(validate({ source: { type: 'file', name: 'orders' }, destination: http })).toBe(false);
    });

    it('validates a source: spec messages with paths, then its check', async () => {
      const missing = await api.call('POST', '/api/v1/sources/file:validate', { body: { value: { path: join(dir, 'none.csv') } } });
      expect(missing.body).toEqual({ is_valid: false, messages: [expect.stringContaining('does not exist')] });
      const path = join(dir, 'orders.csv');
      await writeFile(path, 'id\n1\n');
      const good = await api.call('POST', '/api/v1/sources/file:validate', { body: { value: { name: 'orders', type: 'file', path } } });
      expect(good.body).toEqual({ is_valid: true, messages: [] });
      const bad = await api.call('POST', '/api/v1/sources/file:validate', { body: { value: { path: '', delimiter: ';;', colour: 1 } } });
      expect(bad.body.is_valid).toBe(false);
      expect(bad.body.messages).toEqual(expect.arrayContaining([expect.stringMatching(/^path: /), expect.stringMatching(/^delimiter: /), 'colour: unknown key']));
      expect((await api.call('POST', '/api/v1/sources/nope:validate', { body: { value: {} } })).status).toBe(404);
      expect((await api.call('POST', '/api/v1/destinations/file:validate', { body: {} })).body.issues).toEqual([{ path: 'body.value', message: 'required' }]);
    });

    it('validates a destination with a masked secret taken from the current config entry of that name', async () => {
      const token = 'Bearer validate-secret-5d1';
      const value = {
        sources: { orders: { type: 'file', path: 'data/orders.csv' } },
        destinations: { api: { type: 'http', url: probeUrl, headers: { Authorization: token } } },
        activations: [],
      };
      expect((await api.call('POST', '/api/v1/configs', { body: { label: 'validate', value } })).status).toBe(200);
      const response = await api.call('POST', '/api/v1/destinations/http:validate', {
        body: { value: { name: 'api', type: 'http', url: probeUrl, headers: { Authorization: '********' } } },
      });
      expect(response.body).toEqual({ is_valid: true, messages: [] });
      expect(probeHeaders.at(-1)).toBe(token);
      const unnamed = await api.call('POST', '/api/v1/destinations/http:validate', { body: { value: { url: probeUrl, headers: { Authorization: '********' } } } });
      expect(unnamed.body).toEqual({ is_valid: false, messages: [expect.stringMatching(/^headers\.Authorization: secret is masked/)] });
      const invalid = await api.call('POST', '/api/v1/destinations/http:validate', { body: { value: { url: 'ftp://x', batch_size: 0 } } });
      expect(invalid.body.messages).toEqual(expect.arrayContaining([expect.stringMatching(/^url: /), expect.stringMatching(/^batch_size: /)]));
    });
  });

  describe('operations', () => {
    it('counts requests by route pattern and status in /metrics', async () => {
      await api.call('GET', '/api/v1/runs/00000000-0000-0000-0000-000000000000');
      const text = (await api.call('GET', '/metrics', { anonymous: true })).text;
      expect(text).toContain('sluice_http_requests_total{method="GET",route="/api/v1/runs/:id",status="404"} 1');
      expect(text).toMatch(/sluice_http_requests_total\{method="GET",route="unmatched",status="404"\} \d/);
      expect(text).toMatch(/sluice_http_requests_total\{method="POST",route="\/api\/v1\/sources\/:type:validate",status="200"\} \d/);
    });

    it('serves an OpenAPI document of every route, with the API key scheme', async () => {
      const doc = (await api.call('GET', '/docs/json', { anonymous: true })).body;
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.components.securitySchemes.apiKey).toEqual({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/api/v1/configs:getLatest', '/api/v1/activations/{name}:trigger', '/api/v1/runs/{id}:cancel', '/api/v1/activations/~/runs:batchGet']),
      );
      expect(doc.paths['/api/v1/runs'].get.security).toEqual([{ apiKey: [] }]);
    });

    it('answers through a real socket', async () => {
      const address = await api.app.listen({ port: 0, host: '127.0.0.1' });
      const health = await request(`${address}/healthz`);
      expect(health.statusCode).toBe(200);
      expect(await health.body.json()).toEqual({ status: 'ok', store: api.db.kind });
      const runs = await request(`${address}/api/v1/runs?limit=5`, { headers: { 'x-api-key': api.key } });
      expect(runs.statusCode).toBe(200);
      expect(await runs.body.json()).toEqual({ runs: [], next_cursor: null });
      const malformed = await request(`${address}/api/v1/configs`, { method: 'POST', headers: { 'x-api-key': api.key, 'content-type': 'application/json' }, body: '{"value":' });
      expect(malformed.statusCode).toBe(400);
      expect(await malformed.body.json()).toMatchObject({ error: expect.stringMatching(/^malformed JSON body/), issues: [{ path: 'body' }] });
      const big = await request(`${address}/api/v1/configs`, {
        method: 'POST',
        headers: { 'x-api-key': api.key, 'content-type': 'application/json' },
        body: JSON.stringify({ value: { blob: 'y'.repeat(100_000) } }),
      });
      expect(big.statusCode).toBe(413);
      expect(await big.body.json()).toEqual({ error: 'request body exceeds 65536 bytes' });
      const denied = await request(`${address}/api/v1/runs`);
      expect(denied.statusCode).toBe(401);
      await denied.body.dump();
    });

    it('never logs the API key or request headers', () => {
      const text = api.logs.join('\n');
      expect(text).toContain('"statusCode"');
      expect(text).not.toContain(api.key);
      expect(text.toLowerCase()).not.toContain('x-api-key');
    });

    // Last: it closes the store under the server.
    it('answers 500 with a request id and no detail when the store fails, and /healthz 503', async () => {
      await api.db.close();
      const response = await api.call('GET', '/api/v1/configs');
      expect(response.status).toBe(500);
      expect(response.body).toEqual({ error: 'internal error', request_id: expect.any(String) });
      const logged = api.logs.filter((line) => line.includes(response.body.request_id) && line.includes('"level":50'));
      expect(logged.length).toBeGreaterThan(0);
      const health = await api.call('GET', '/healthz', { anonymous: true });
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ status: 'unavailable' });
    });
  });
});
