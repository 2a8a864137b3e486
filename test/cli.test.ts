/**
 * The `sluice` command as a user runs it: a child process, real files, a real local HTTP receiver.
 * Messages name paths and lines; nothing prints a stack trace.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, accept, startReceiver } from './support/receiver.ts';

const BIN = new URL('../bin/sluice.js', import.meta.url).pathname;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sluice(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; onSpawn?: (child: ChildProcess) => void } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? dir,
      env: { ...process.env, SLUICE_HOME: join(options.cwd ?? dir, '.sluice'), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    options.onSpawn?.(child);
  });
}

let dir: string;
const receivers: Receiver[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
});
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

function config(url: string, csv: string, extra: Record<string, unknown> = {}) {
  return {
    sources: { orders: { type: 'file', path: csv, format: 'csv', types: { id: 'integer' } } },
    destinations: { api: { type: 'http', url, batch_size: 100, ...extra } },
    activations: [{ name: 'orders_to_api', source: { $ref: '#/sources/orders' }, destination: { $ref: '#/destinations/api' }, schedule: null }],
  };
}

async function writeCsv(name: string, rows: number, broken: number[] = []): Promise<string> {
  const lines = ['id,email,amount'];
  for (let id = 1; id <= rows; id++) lines.push(broken.includes(id) ? `${id},oops` : `${id},user${id}@example.com,${id}.50`);
  const path = join(dir, name);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

describe('sluice CLI', () => {
  it('validate lists every problem with its JSON path and exits 2, without a stack trace', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(
      path,
      'sources:\n  orders: { type: file, path: x.csv, colour: red }\ndestinations:\n  api: { type: http, url: "not a url", batch_size: lots }\nactivations:\n  - { name: a, source: { $ref: "#/sources/nope" }, destination: { $ref: "#/destinations/api" } }\n',
    );
    const result = await sluice(['validate', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('sources.orders.colour: unknown key');
    expect(result.stderr).toContain('destinations.api.url: must be an http:// or https:// URL');
    expect(result.stderr).toMatch(/destinations\.api\.batch_size: /);
    expect(result.stderr).toContain('activations[0].source.$ref: no source named "nope"');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('validate confirms a good config', async () => {
    const path = join(dir, 'good.json');
    await writeFile(path, JSON.stringify(config('http://127.0.0.1:9/x', 'x.csv')));
    const result = await sluice(['validate', path]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('is valid: 1 source, 1 destination, 1 activation');
  });

  it('run sends a CSV to an HTTP endpoint, rejects the malformed rows with file and line, and prints a JSON summary', async () => {
    const target = await startReceiver();
    receivers.push(target);
    const csv = await writeCsv('orders.csv', 250, [7, 100]);
    const path = join(dir, 'run.json');
    await writeFile(path, JSON.stringify(config(target.url, csv)));
    const result = await sluice(['run', path, '--json']);
    expect(result.code).toBe(0);
    const [summary] = JSON.parse(result.stdout) as Array<{ status: string; counters: Record<string, number> }>;
    expect(summary).toMatchObject({ status: 'succeeded', counters: { read: 250, delivered: 248, rejected: 2 } });
    expect(new Set(target.acceptedIds()).size).toBe(248);
    const ledger = (await readFile(join(dir, '.sluice/state/orders_to_api.rejects.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(ledger).toHaveLength(2);
    expect(ledger[0]).toMatchObject({ code: 'RECORD_MALFORMED', origin: { line: 8 } });
    expect(ledger[0].reason).toMatch(/orders\.csv line 8/);
  });

  it('run --dry-run sends nothing and prints the plan with sample payloads', async () => {
    const target = await startReceiver();
    receivers.push(target);
    const csv = await writeCsv('dry.csv', 30);
    const path = join(dir, 'dry.json');
    await writeFile(path, JSON.stringify(config(target.url, csv)));
    const result = await sluice(['run', path, '--dry-run', '--log-level', 'silent']);
    expect(result.code).toBe(0);
    expect(target.requests).toHaveLength(0);
    expect(result.stderr).toContain('plan: 30 records to records (append) in 1 batches');
    expect(result.stderr).toContain('sample 1: {"id":1,"email":"user1@example.com","amount":"1.50"}');
  });

  it('run with sync_mode upsert keeps fingerprints next to the state: a rerun sends only changed rows; the guard stops a large change until --force', async () => {
    const target = await startReceiver();
    receivers.push(target);
    const csv = await writeCsv('upsert.csv', 50);
    const path = join(dir, 'upsert.json');
    const write = (extra: Record<string, unknown>) => {
      const value = config(target.url, csv, { op_field: '_op' });
      Object.assign(value.activations[0]!, { name: 'orders_upsert', sync_mode: 'upsert', primary_key: 'id', ...extra });
      return writeFile(path, JSON.stringify(value));
    };
    await write({ max_change_ratio: 0.1 });
    const first = await sluice(['run', path, '--log-level', 'silent']);
    expect(first.code).toBe(0);
    expect(target.acceptedIds()).toHaveLength(50);
    expect((await readFile(join(dir, '.sluice/state/orders_upsert.fingerprints'))).length).toBeGreaterThan(50 * 16);

    // 2 of 50 changed (4%): under the limit.
    const lines = (await readFile(csv, 'utf8')).split('\n');
    lines[3] = '3,changed3@example.com,3.50';
    lines[4] = '4,changed4@example.com,4.50';
    await writeFile(csv, lines.join('\n'));
    const dry = await sluice(['run', path, '--dry-run', '--log-level', 'silent']);
    expect(dry.stderr).toContain('changes: 0 creates · 2 updates · 0 deletes · 48 unchanged');
    expect(dry.stderr).toContain('update 1: {"id":3,"email":"changed3@example.com","amount":"3.50"}');
    const second = await sluice(['run', path, '--log-level', 'silent']);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/read 50 · delivered 2 · unchanged 48 · deleted 0 · rejected 0/);
    expect(target.requests.at(-1)?.records).toEqual([
      { _op: 'update', id: 3, email: 'changed3@example.com', amount: '3.50' },
      { _op: 'update', id: 4, email: 'changed4@example.com', amount: '4.50' },
    ]);

    // 10 of 50 changed (20%): over the limit; --force sends them.
    for (let row = 10; row < 20; row++) lines[row] = `${row},more${row}@example.com,1.00`;
    await writeFile(csv, lines.join('\n'));
    const stopped = await sluice(['run', path, '--log-level', 'silent']);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('error: CHANGE_LIMIT: plan changes 20.0% of 50 rows (creates 0, updates 10, deletes 0), over max_change_ratio 0.1; run with a higher limit or --force');
    const requests = target.requests.length;
    const forced = await sluice(['run', path, '--force', '--json', '--log-level', 'silent']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)[0].counters).toMatchObject({ read: 50, delivered: 10, unchanged: 40 });
    expect(target.requests.length).toBeGreaterThan(requests);
  });

  it('SIGINT stops reading, drains in-flight batches and exits 130', async () => {
    const target = await startReceiver(async (request, index, res, req) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      accept(request, index, res, req);
    });
    receivers.push(target);
    const csv = await writeCsv('big.csv', 20_000);
    const path = join(dir, 'big.json');
    await writeFile(path, JSON.stringify(config(target.url, csv, { concurrency: 1 })));
    const result = await sluice(['run', path, '--json'], {
      onSpawn: (child) => {
        const timer = setInterval(() => {
          if (target.requests.length >= 3) {
            clearInterval(timer);
            child.kill('SIGINT');
          }
        }, 20);
      },
    });
    expect(result.code).toBe(130);
    const [summary] = JSON.parse(result.stdout) as Array<{ status: string; unsettled: number; counters: Record<string, number> }>;
    expect(summary!.status).toBe('interrupted');
    expect(summary!.counters.read).toBeLessThan(20_000);
    // Drained: everything read was delivered; nothing is left half-sent.
    expect(summary!.unsettled).toBe(0);
    expect(summary!.counters.delivered).toBe(summary!.counters.read);
    expect(new Set(target.acceptedIds()).size).toBe(summary!.counters.delivered);
  });

  it('spec prints valid JSON Schema with secrets marked; connectors lists them; unknown names exit 2', async () => {
    const spec = await sluice(['spec', 'destination/http']);
    expect(spec.code).toBe(0);
    const schema = JSON.parse(spec.stdout) as { properties: Record<string, Record<string, unknown>> };
    expect(new Ajv2020({ strict: false }).validateSchema(schema)).toBe(true);
    expect(schema.properties.headers).toMatchObject({ 'x-secret': true, airbyte_secret: true });
    const list = await sluice(['connectors']);
    expect(list.stdout).toMatch(/source\s+file/);
    expect(list.stdout).toMatch(/destination\s+http/);
    const ambiguous = await sluice(['spec', 'file']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('both a source and a destination');
    const unknown = await sluice(['frobnicate']);
    expect(unknown.code).toBe(2);
  });

  it('check makes a real call: passes against a live endpoint, fails with a reason against a closed port', async () => {
    const target = await startReceiver();
    receivers.push(target);
    const good = join(dir, 'check-good.json');
    await writeFile(good, JSON.stringify({ type: 'http', url: target.url }));
    const ok = await sluice(['check', 'destination/http', '--config', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('check passed');
    const closed = join(dir, 'check-closed.json');
    await writeFile(closed, JSON.stringify({ url: 'http://127.0.0.1:9/ingest' }));
    const failed = await sluice(['check', 'destination/http', '--config', closed]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/check failed: .*127\.0\.0\.1/);
  });
});
