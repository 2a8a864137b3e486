/**
 * `sluice serve`, `sluice apply` and `sluice keys` as a user runs them: child processes on an embedded
 * store in a temp SLUICE_HOME, a real local HTTP receiver, real HTTP calls. A config is applied from a
 * file, an activation triggered and delivered; the embedded store refuses a second process; SIGTERM
 * stops the server cleanly; bad input gets a message, not a stack trace.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accept, type Receiver, startReceiver } from './support/receiver.ts';

const BIN = new URL('../bin/sluice.js', import.meta.url).pathname;
const API_KEY = 'slk_test_serve_key_000000000000000';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;
let receiver: Receiver;
let server: ChildProcess;
let serverOut = '';
let serverErr = '';
let url: string;
const authorizations: string[] = [];

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, SLUICE_HOME: join(dir, 'home'), DATABASE_URL: '', SLUICE_API_KEY: '', ...extra };
}

function sluice(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nserver stdout: ${serverOut}\nserver stderr: ${serverErr.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function api(method: 'GET' | 'POST', path: string, body?: unknown) {
  const response = await request(`${url}/api/v1${path}`, {
    method,
    headers: { 'x-api-key': API_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-serve-'));
  receiver = await startReceiver((request, index, res, req) => {
    authorizations.push(String(req.headers.authorization));
    accept(request, index, res, req);
  });
  await writeFile(join(dir, 'orders.csv'), 'id,email\n1,a@example.com\n2,b@example.com\nthree,c@example.com\n');
  server = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { cwd: dir, env: env({ SLUICE_API_KEY: API_KEY }), stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout?.on('data', (chunk: Buffer) => (serverOut += chunk.toString()));
  server.stderr?.on('data', (chunk: Buffer) => (serverErr += chunk.toString()));
  url = await waitFor('the serve banner', async () => /serving on (http:\/\/\S+)/.exec(serverOut)?.[1]);
});

afterAll(async () => {
  if (server.exitCode === null) server.kill('SIGKILL');
  await receiver?.close();
});

describe('sluice serve + apply + keys', () => {
  it('prints where it serves and which key it accepts, never the key itself', () => {
    expect(serverOut).toContain('embedded PGlite in');
    expect(serverOut).toContain('from SLUICE_API_KEY');
    expect(serverOut + serverErr).not.toContain(API_KEY);
  });

  it('applies a config file, listing every problem with its JSON path when it is wrong', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'sources:\n  orders: { type: file }\ndestinations: {}\nactivations:\n  - name: x\n    source: { $ref: "#/sources/orders" }\n    destination: { $ref: "#/destinations/nope" }\n    schedule: "61 * * * *"\n');
    const rejected = await sluice(['apply', bad, '--url', url, '--api-key', API_KEY]);
    expect(rejected.code).toBe(2);
    expect(rejected.stderr).toContain('activations[0].schedule');
    expect(rejected.stderr).not.toMatch(/\n\s+at /);

    const good = join(dir, 'sluice.yaml');
    await writeFile(
      good,
      [
        'sources:',
        `  orders: { type: file, path: ${join(dir, 'orders.csv')}, format: csv, types: { id: integer } }`,
        'destinations:',
        `  api: { type: http, url: '${receiver.url}', headers: { Authorization: 'Bearer serve-test-secret' } }`,
        'activations:',
        '  - name: orders_to_api',
        "    source: { $ref: '#/sources/orders' }",
        "    destination: { $ref: '#/destinations/api' }",
        '    mapping: { id: id, email: email }',
        '    schedule: null',
      ].join('\n'),
    );
    const applied = await sluice(['apply', good, '--label', 'first'], { SLUICE_URL: url, SLUICE_API_KEY: API_KEY });
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toMatch(/applied as config version \d+ \("first"\)/);
    const again = await sluice(['apply', good, '--label', 'first'], { SLUICE_URL: url, SLUICE_API_KEY: API_KEY });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('409');

    const latest = await api('GET', '/configs:getLatest');
    expect(latest.status).toBe(200);
    expect(JSON.stringify(latest.body)).not.toContain('serve-test-secret');
    expect(JSON.stringify(latest.body)).toContain('********');
  });

  it('runs a triggered activation in its in-process worker', async () => {
    const triggered = await api('POST', '/activations/orders_to_api:trigger', { dry_run: false });
    expect(triggered.status).toBe(202);
    const runId = String(triggered.body.run_id);
    const run = await waitFor('the run to finish', async () => {
      const { body } = await api('GET', `/runs/${runId}`);
      return body.status === 'queued' || body.status === 'running' ? undefined : body;
    });
    expect(run.status).toBe('succeeded');
    expect(run.counters).toMatchObject({ read: 3, delivered: 2, rejected: 1 });
    expect(receiver.acceptedIds('id')).toEqual([1, 2]);
    expect(authorizations).toEqual(['Bearer serve-test-secret']);
    const rejects = await api('GET', `/runs/${runId}/rejects`);
    expect(JSON.stringify(rejects.body)).toContain('line 4');
    expect(serverErr).not.toContain('serve-test-secret');
  });

  it('keeps a second process off the embedded store while the server runs', async () => {
    const keys = await sluice(['keys', 'list']);
    expect(keys.code).toBe(1);
    expect(keys.stderr).toMatch(/in use by process \d+ \(sluice serve\)/);
  });

  it('stops on SIGTERM with exit 0, after which keys can be managed', async () => {
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);

    const created = await sluice(['keys', 'create', '--name', 'ci']);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^slk_/);
    const listed = await sluice(['keys', 'list']);
    expect(listed.stdout).toContain('ci');
    expect(listed.stdout).toContain('SLUICE_API_KEY');
    expect(listed.stdout).not.toContain(key);
    const revoked = await sluice(['keys', 'revoke', key.slice(0, 8)]);
    expect(revoked.code).toBe(0);
    expect((await sluice(['keys', 'list'])).stdout).toMatch(/ci\t.*revoked/);
  });

  it('explains what is wrong with its options', async () => {
    const result = await sluice(['serve', '--no-worker']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--no-worker needs DATABASE_URL');
  });
});
