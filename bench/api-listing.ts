/**
 * The `api-listing` benchmark (issue #4): with 10,000 runs stored, do `GET` run listings hold a p99 under
 * 50 ms at 200 requests/s? It seeds a store, starts the real `sluice serve` (compiled) on it, and drives
 * each listing at a steady 200 requests/s (open loop: bench/lib/open-loop.ts) from this process, on the embedded store
 * (PGlite) and on PostgreSQL when one is reachable. The floor is a bare node:http server answering the
 * same bytes at the same rate, measured in the same run: what loopback and the load generator cost
 * without Sluice.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { openLoop } from './lib/open-loop.ts';
import pg from 'pg';
import { request } from 'undici';
import { openStore } from '../src/store/index.ts';
import { DATA_DIR } from './data.ts';
import { type Served, startServe } from './lib/serve.ts';
import { type MachineInfo, describeMachine } from './lib/machine.ts';
import { formatInt, median } from './lib/stats.ts';

export const SECTION_ID = 'api-listing';
export const RAW_RESULTS_FILE = join(DATA_DIR, 'api-listing-results.json');

const API_KEY = 'slk_bench_key_not_secret_000000000000';
const SECRET_KEY = '0'.repeat(64);
const RUNS = 10_000;
const ACTIVATIONS = 20;

export interface RouteResult {
  readonly store: 'embedded (PGlite)' | 'PostgreSQL';
  readonly route: string;
  readonly path: string;
  readonly rate: number;
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly floorP50: number;
  readonly floorP99: number;
  readonly bodyBytes: number;
}

export interface ApiListingResult {
  readonly machine: MachineInfo;
  readonly runsStored: number;
  readonly durationSeconds: number;
  readonly routes: RouteResult[];
  /** Requests/s the main listing sustains with no rate limit (10 connections), per store. */
  readonly maxThroughput: { store: string; requestsPerSecond: number; p99: number }[];
  readonly skipped: string[];
}

/** Inserts one config and `RUNS` finished runs over `ACTIVATIONS` activations, spread over 30 days. */
async function seed(options: { databaseUrl?: string; home: string }): Promise<void> {
  const db = await openStore(options);
  try {
    const { rows } = await db.query<{ id: string }>(`insert into sluice.configs (label, value) values ($1, '{}'::jsonb) returning id`, [`bench ${randomUUID()}`]);
    const configId = rows[0]!.id;
    await db.query(
      `insert into sluice.runs (id, activation, config_id, status, trigger, counters, created_at, started_at, finished_at, worker, attempts)
       select gen_random_uuid(), 'activation_' || (i % ${ACTIVATIONS}), $1,
              (array['succeeded','succeeded','succeeded','failed','cancelled'])[1 + i % 5], 'schedule',
              jsonb_build_object('read', i, 'delivered', i - i % 7, 'rejected', i % 7, 'retried', 0, 'batches', 1 + i / 500),
              now() - make_interval(secs => (${RUNS} - i) * 259.2), now() - make_interval(secs => (${RUNS} - i) * 259.2),
              now() - make_interval(secs => (${RUNS} - i) * 259.2 - 30), 'bench', 1
       from generate_series(1, ${RUNS}) as i`,
      [configId],
    );
    await db.query('analyze sluice.runs');
  } finally {
    await db.close();
  }
}

function startListingServe(env: Record<string, string>): Promise<Served> {
  return startServe({ ...env, SLUICE_API_KEY: API_KEY, SLUICE_SECRET_KEY: SECRET_KEY });
}

async function fetchBody(url: string): Promise<string> {
  const response = await request(url, { headers: { 'x-api-key': API_KEY } });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`GET ${url} answered ${response.statusCode}: ${text.slice(0, 300)}`);
  return text;
}

async function load(url: string, options: { rate?: number; seconds: number; connections?: number }) {
  if (options.rate !== undefined) {
    // A steady rate, open loop (bench/lib/open-loop.ts): autocannon's overallRate sends in bursts.
    const steady = await openLoop({ url, rate: options.rate, seconds: options.seconds, headers: { 'x-api-key': API_KEY } });
    return { requests: steady.sent, errors: steady.errors, non2xx: 0, p50: steady.p50, p99: steady.p99, max: steady.max, rps: steady.ok / steady.seconds };
  }
  const result = await autocannon({
    url,
    connections: options.connections ?? 10,
    duration: options.seconds,
    ...(options.rate === undefined ? {} : { overallRate: options.rate }),
    headers: { 'x-api-key': API_KEY },
  });
  return {
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    rps: result.requests.average,
  };
}

/** A bare node:http server answering `body` to every request: the floor. */
async function startFloor(body: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function postgresUrl(log: (message: string) => void): Promise<string | undefined> {
  const admin = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('drop database if exists sluice_bench with (force)');
    await client.query('create database sluice_bench');
    const url = new URL(admin);
    url.pathname = '/sluice_bench';
    return url.toString();
  } catch (error) {
    log(`api-listing: PostgreSQL not reachable (${(error as Error).message}); measuring the embedded store only`);
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function runApiListingBench(options: { machine: MachineInfo; seconds: number; log: (message: string) => void }): Promise<ApiListingResult> {
  const { log, seconds } = options;
  const routes: RouteResult[] = [];
  const maxThroughput: ApiListingResult['maxThroughput'] = [];
  const skipped: string[] = [];
  mkdirSync(DATA_DIR, { recursive: true });
  const stores: { name: RouteResult['store']; env: Record<string, string>; seed: { databaseUrl?: string; home: string } }[] = [];
  const home = mkdtempSync(join(DATA_DIR, 'serve-'));
  stores.push({ name: 'embedded (PGlite)', env: { SLUICE_HOME: home }, seed: { home } });
  const pgUrl = await postgresUrl(log);
  if (pgUrl === undefined) skipped.push('PostgreSQL (not reachable)');
  else stores.push({ name: 'PostgreSQL', env: { DATABASE_URL: pgUrl, SLUICE_HOME: join(home, 'pg-home') }, seed: { databaseUrl: pgUrl, home } });

  try {
    for (const store of stores) {
      log(`api-listing: seeding ${formatInt(RUNS)} runs (${store.name})`);
      await seed(store.seed);
      const served = await startListingServe(store.env);
      try {
        const base = `${served.url}/api/v1`;
        const first = JSON.parse(await fetchBody(`${base}/runs?limit=50`)) as { next_cursor: string | null };
        // A deep page: walk 100 pages of 50 to reach the 5,000th run's cursor.
        let cursor = first.next_cursor;
        for (let page = 1; page < 100 && cursor !== null; page++) {
          cursor = (JSON.parse(await fetchBody(`${base}/runs?limit=50&cursor=${cursor}`)) as { next_cursor: string | null }).next_cursor;
        }
        const paths: [string, string][] = [
          ['newest 50 runs', '/runs?limit=50'],
          ['one activation, 50 runs', '/runs?activation=activation_7&limit=50'],
          ['failed runs, 50', '/runs?status=failed&limit=50'],
          ['page 101 (keyset cursor)', `/runs?limit=50&cursor=${cursor ?? ''}`],
          ['Tightlock runs:batchGet page 10', '/activations/~/runs:batchGet?page=10&page_size=20'],
        ];
        for (const [route, path] of paths) {
          const url = `${base}${path}`;
          const body = await fetchBody(url);
          await load(url, { rate: 200, seconds: 2 }); // warm-up
          const sluice = await load(url, { rate: 200, seconds });
          const floor = await startFloor(body);
          let floorRun;
          try {
            floorRun = await load(floor.url, { rate: 200, seconds });
          } finally {
            await floor.close();
          }
          const row: RouteResult = {
            store: store.name,
            route,
            path,
            rate: 200,
            requests: sluice.requests,
            errors: sluice.errors,
            non2xx: sluice.non2xx,
            p50: sluice.p50,
            p99: sluice.p99,
            max: sluice.max,
            floorP50: floorRun.p50,
            floorP99: floorRun.p99,
            bodyBytes: Buffer.byteLength(body),
          };
          routes.push(row);
          log(`api-listing: ${store.name} ${route}: p50 ${row.p50} ms, p99 ${row.p99} ms (floor p99 ${row.floorP99} ms), ${row.requests} requests, ${row.errors + row.non2xx} errors`);
        }
        const max = await load(`${base}/runs?limit=50`, { seconds, connections: 10 });
        maxThroughput.push({ store: store.name, requestsPerSecond: max.rps, p99: max.p99 });
        log(`api-listing: ${store.name} unthrottled: ${formatInt(max.rps)} requests/s, p99 ${max.p99} ms`);
      } finally {
        await served.stop();
      }
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  return { machine: options.machine, runsStored: RUNS, durationSeconds: seconds, routes, maxThroughput, skipped };
}

export function failuresOf(result: ApiListingResult): string[] {
  return result.routes.filter((row) => row.errors > 0 || row.non2xx > 0).map((row) => `${row.store} ${row.route}: ${row.errors} errors, ${row.non2xx} non-2xx`);
}

export function textReport(result: ApiListingResult): string {
  return result.routes
    .map((row) => `${row.store.padEnd(18)} ${row.route.padEnd(32)} p50 ${String(row.p50).padStart(4)} ms  p99 ${String(row.p99).padStart(4)} ms  floor p99 ${row.floorP99} ms`)
    .join('\n');
}

export function markdownReport(result: ApiListingResult): string {
  const verdict = (p99: number) => (p99 < 50 ? 'PASS' : 'FAIL');
  const lines = [
    '## API: run listings with 10,000 runs stored (issue #4)',
    '',
    `${describeMachine(result.machine)}. The real \`sluice serve\` (compiled) on a store seeded with ${formatInt(result.runsStored)} finished runs ` +
      `over 20 activations; each listing driven at a steady 200 requests/s for ${result.durationSeconds} s after a 2 s warm-up, open loop ` +
      '(`bench/lib/open-loop.ts`: a request every 5 ms whatever the earlier ones are doing, latency from its due time), with the API key ' +
      'checked on every request. Floor: a bare `node:http` server answering the same bytes at the same rate, measured right after. Target: ' +
      'p99 < 50 ms. (An earlier version drove the rate with autocannon\'s `overallRate`, which sends each second\'s requests in bursts over ' +
      'its 10 connections and measures the queueing inside them.)',
    '',
    '| store | listing | response | requests | p50 | p99 | floor p99 | target |',
    '|---|---|---:|---:|---:|---:|---:|---|',
    ...result.routes.map(
      (row) =>
        `| ${row.store} | ${row.route} (\`${row.path.replace(/cursor=[^&]+/, 'cursor=…')}\`) | ${formatInt(row.bodyBytes / 1024)} KB | ${formatInt(row.requests)} | ` +
        `${row.p50} ms | ${row.p99} ms | ${row.floorP99} ms | ${verdict(row.p99)} |`,
    ),
    '',
    'Unthrottled (10 connections, newest 50 runs): ' +
      result.maxThroughput.map((entry) => `${entry.store} ${formatInt(entry.requestsPerSecond)} requests/s (p99 ${entry.p99} ms)`).join('; ') +
      '.',
  ];
  if (result.skipped.length > 0) lines.push('', `Not measured: ${result.skipped.join(', ')}.`);
  lines.push('', `p50/p99 are over all requests of one ${result.durationSeconds} s run per listing; the unthrottled figures are autocannon's.`);
  void median;
  return lines.join('\n');
}
