/**
 * The `events` benchmark (issue #7): how many tracking events per second does `sluice serve` accept
 * through `POST /v1/batch` (100 events per request, ~43 KB), embedded store, with what latency? The real
 * `sluice serve` (compiled) runs with an `events` source; every message id is distinct (nothing is skipped
 * as a duplicate).
 *
 * - The target's measurement: 25,000 events/s offered as an open-loop constant rate (bench/lib/open-loop.ts:
 *   one request every 4 ms, latency from each request's due time), five runs (STEADY_RUNS), medians quoted.
 * - For comparison, the same rate through autocannon's `overallRate`, which sends in bursts (each of its 16
 *   connections sends back to back until its share of the second is used): the figure an earlier version
 *   of this benchmark reported.
 * - The ceiling: autocannon unthrottled, 16 connections.
 *
 * Each 200 means the batch was committed to the event log: afterwards the log is counted and must hold 100
 * events per 200. The floor is a bare node:http server that reads and JSON-parses the same bodies and
 * answers 200, under the same loads.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { request } from 'undici';
import { openEventLog } from '../src/store/event-log.ts';
import { DATA_DIR } from './data.ts';
import { openLoop } from './lib/open-loop.ts';
import { type Served, startServe } from './lib/serve.ts';
import { type MachineInfo, describeMachine } from './lib/machine.ts';
import { quietBefore } from './lib/pg-runs.ts';
import { formatInt, median } from './lib/stats.ts';

export const SECTION_ID = 'events';
export const RAW_RESULTS_FILE = join(DATA_DIR, 'events-results.json');

const WRITE_KEY = 'wk_bench_0123456789abcdef';
const API_KEY = 'slk_bench_key_not_secret_000000000000';
const SECRET_KEY = '0'.repeat(64);
const EVENTS_PER_BATCH = 100;
const FIXED_RATE = 250; // requests/s: 25,000 events/s
const CONNECTIONS = 16;
const STEADY_RUNS = 5;
const HEADERS = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` };

export interface LoadResult {
  readonly requests: number;
  readonly ok: number;
  readonly errors: number;
  readonly eventsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** How busy the machine was (0–1, all cores) just before the run, after waiting for quiet. */
  readonly busyBefore?: number;
}

export interface EventsBenchResult {
  readonly machine: MachineInfo;
  readonly seconds: number;
  readonly bodyBytes: number;
  /** Open-loop constant rate, STEADY_RUNS runs. */
  readonly steady: LoadResult[];
  /** autocannon `overallRate` (bursty). */
  readonly fixed: LoadResult;
  readonly unthrottled: LoadResult;
  readonly floorSteady: LoadResult;
  readonly floorFixed: LoadResult;
  readonly floorUnthrottled: LoadResult;
  /** Events in the log after both runs, and how many the 200s promised. */
  readonly logged: number;
  readonly promised: number;
}

/** A batch body whose message ids carry `@@`, replaced per request by a counter. */
function batchTemplate(): string {
  const now = new Date().toISOString();
  const batch = Array.from({ length: EVENTS_PER_BATCH }, (_, i) => ({
    type: i % 10 === 0 ? 'identify' : 'track',
    ...(i % 10 === 0 ? { traits: { plan: 'pro', email: `user${i}@example.com` } } : { event: 'Order Completed', properties: { order_id: `o-${i}`, revenue: 42.5, currency: 'EUR', plan: 'pro', items: [{ sku: 'sku-1', qty: 1 }] } }),
    userId: `user-${i % 37}`,
    anonymousId: randomUUID(),
    messageId: `@@-${i}`,
    timestamp: now,
    context: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36', locale: 'fr-FR' },
  }));
  return JSON.stringify({ batch, sentAt: now, context: { library: { name: 'bench', version: '1.0.0' } } });
}

async function load(url: string, template: string, options: { rate?: number; seconds: number; prefix: string }): Promise<LoadResult> {
  let counter = 0;
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: options.seconds,
    ...(options.rate === undefined ? {} : { overallRate: options.rate }),
    headers: HEADERS,
    requests: [
      {
        setupRequest: (req) => ({ ...req, body: template.replaceAll('@@', `${options.prefix}-${counter++}`) }),
      },
    ],
  });
  const ok = result['2xx'];
  return {
    requests: result.requests.total,
    ok,
    errors: result.errors + result.timeouts + result.non2xx,
    eventsPerSecond: Math.round((ok * EVENTS_PER_BATCH) / options.seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
  };
}

async function steady(url: string, template: string, options: { seconds: number; prefix: string }): Promise<LoadResult> {
  const result = await openLoop({ url, rate: FIXED_RATE, seconds: options.seconds, headers: HEADERS, body: (k) => template.replaceAll('@@', `${options.prefix}-${k}`) });
  return {
    requests: result.sent,
    ok: result.ok,
    errors: result.errors,
    eventsPerSecond: Math.round((result.ok * EVENTS_PER_BATCH) / options.seconds),
    p50: result.p50,
    p99: result.p99,
    max: result.max,
  };
}

function startEventsServe(home: string, configFile: string): Promise<Served> {
  return startServe({ SLUICE_HOME: home, DATABASE_URL: '', SLUICE_API_KEY: API_KEY, SLUICE_SECRET_KEY: SECRET_KEY }, ['--config', configFile]);
}

async function startFloor(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/batch`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export async function runEventsBench(options: { machine: MachineInfo; seconds: number; quietWaitMs: number; log: (message: string) => void }): Promise<EventsBenchResult> {
  const { log, seconds } = options;
  /** Waits for other jobs to leave the CPU (these machines are shared), then runs the load. */
  const measured = async (url: string, how: 'steady' | 'bursty' | 'unthrottled', prefix: string): Promise<LoadResult> => {
    const busyBefore = await quietBefore(options.quietWaitMs, log);
    const result =
      how === 'steady' ? await steady(url, template, { seconds, prefix }) : await load(url, template, { ...(how === 'bursty' ? { rate: FIXED_RATE } : {}), seconds, prefix });
    return { ...result, busyBefore };
  };
  mkdirSync(DATA_DIR, { recursive: true });
  const dir = mkdtempSync(join(DATA_DIR, 'events-'));
  const home = join(dir, 'home');
  const configFile = join(dir, 'sluice.json');
  writeFileSync(configFile, JSON.stringify({ sources: { web: { type: 'events', write_keys: [WRITE_KEY] } }, destinations: {}, activations: [] }));
  const template = batchTemplate();
  try {
    const served = await startEventsServe(home, configFile);
    const steadyRuns: LoadResult[] = [];
    let fixed: LoadResult;
    let unthrottled: LoadResult;
    try {
      const url = `${served.url}/v1/batch`;
      await steady(url, template, { seconds: 3, prefix: 'warm' }); // warm-up (PGlite's WASM, V8)
      for (let run = 0; run < STEADY_RUNS; run++) {
        const result = await measured(url, 'steady', `steady${run}`);
        steadyRuns.push(result);
        log(`events: sluice, steady ${FIXED_RATE} requests/s (run ${run + 1}): ${formatInt(result.eventsPerSecond)} events/s accepted, p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.errors} errors`);
      }
      fixed = await measured(url, 'bursty', 'fixed');
      log(`events: sluice, autocannon overallRate ${FIXED_RATE}: ${formatInt(fixed.eventsPerSecond)} events/s accepted, p50 ${fixed.p50} ms, p99 ${fixed.p99} ms, ${fixed.errors} errors`);
      unthrottled = await measured(url, 'unthrottled', 'max');
      log(`events: sluice unthrottled: ${formatInt(unthrottled.eventsPerSecond)} events/s accepted, p50 ${unthrottled.p50} ms, p99 ${unthrottled.p99} ms, ${unthrottled.errors} errors`);
    } finally {
      await served.stop();
    }
    const db = await openEventLog(home); // the embedded store's event log (its own PGlite)
    let logged: number;
    let warmOk: number;
    try {
      const { rows } = await db.query<{ n: string; warm: string }>(
        `select (select coalesce(sum(count), 0) from sluice.events) as n, (select count(*) from sluice.event_ids where message_id like 'warm-%') as warm`,
      );
      logged = Number(rows[0]!.n);
      warmOk = Number(rows[0]!.warm);
    } finally {
      await db.close();
    }
    const promised = (steadyRuns.reduce((sum, run) => sum + run.ok, 0) + fixed.ok + unthrottled.ok) * EVENTS_PER_BATCH;
    const floor = await startFloor();
    let floorSteady: LoadResult;
    let floorFixed: LoadResult;
    let floorUnthrottled: LoadResult;
    try {
      floorSteady = await measured(floor.url, 'steady', 'floor-steady');
      floorFixed = await measured(floor.url, 'bursty', 'floor');
      floorUnthrottled = await measured(floor.url, 'unthrottled', 'floor-max');
      log(`events: floor: p99 ${floorSteady.p99} ms steady, ${floorFixed.p99} ms bursty at ${FIXED_RATE} requests/s; unthrottled ${formatInt(floorUnthrottled.eventsPerSecond)} events/s`);
    } finally {
      await floor.close();
    }
    return {
      machine: options.machine,
      seconds,
      bodyBytes: Buffer.byteLength(template),
      steady: steadyRuns,
      fixed,
      unthrottled,
      floorSteady,
      floorFixed,
      floorUnthrottled,
      logged: logged - warmOk,
      promised,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function failuresOf(result: EventsBenchResult): string[] {
  const failures: string[] = [];
  if (result.logged < result.promised) failures.push(`the log holds ${result.logged} events but the 200s promised ${result.promised}`);
  return failures;
}

/** The steady runs' medians: events/s, p50, p99 and max. */
function steadyMedian(runs: readonly LoadResult[]): LoadResult {
  const of = (pick: (run: LoadResult) => number) => median(runs.map(pick));
  return {
    requests: of((run) => run.requests),
    ok: of((run) => run.ok),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    eventsPerSecond: of((run) => run.eventsPerSecond),
    p50: of((run) => run.p50),
    p99: of((run) => run.p99),
    max: of((run) => run.max),
  };
}

export function textReport(result: EventsBenchResult): string {
  const row = (name: string, run: LoadResult) =>
    `${name.padEnd(40)} ${formatInt(run.eventsPerSecond).padStart(8)} events/s  p50 ${String(run.p50).padStart(5)} ms  p99 ${String(run.p99).padStart(5)} ms  errors ${run.errors}`;
  return [
    ...result.steady.map((run, index) => row(`sluice, steady ${FIXED_RATE} req/s, run ${index + 1}`, run)),
    row(`sluice, steady, median of ${result.steady.length}`, steadyMedian(result.steady)),
    row(`sluice, autocannon overallRate ${FIXED_RATE}`, result.fixed),
    row('sluice, unthrottled', result.unthrottled),
    row(`floor, steady ${FIXED_RATE} req/s`, result.floorSteady),
    row(`floor, autocannon overallRate ${FIXED_RATE}`, result.floorFixed),
    row('floor, unthrottled', result.floorUnthrottled),
    `log: ${formatInt(result.logged)} events for ${formatInt(result.promised)} promised`,
  ].join('\n');
}

export function markdownReport(result: EventsBenchResult): string {
  const steadyRun = steadyMedian(result.steady);
  const throughput = result.unthrottled.eventsPerSecond >= 25_000 && steadyRun.eventsPerSecond >= 25_000 * 0.99 && steadyRun.errors === 0 ? 'PASS' : 'FAIL';
  const latency = steadyRun.p99 < 50 ? 'PASS' : 'FAIL';
  const verdict =
    `throughput ${throughput} (${formatInt(result.unthrottled.eventsPerSecond)} events/s unthrottled; ${formatInt(steadyRun.eventsPerSecond)} of the 25,000 offered ` +
    `at the steady rate, median), p99 ${latency} (${steadyRun.p99} ms at a steady 25,000 events/s, median of ${result.steady.length} runs: ` +
    `${result.steady.map((run) => `${run.p99} ms`).join(', ')}; target < 50 ms)`;
  const row = (what: string, run: LoadResult) =>
    `| ${what} | ${formatInt(run.requests)} | ${formatInt(run.eventsPerSecond)} | ${run.p50} ms | ${run.p99} ms | ${run.max} ms | ${run.errors} | ${run.busyBefore === undefined ? '' : `${Math.round(run.busyBefore * 100)}%`} |`;
  return [
    '## Tracking API: events accepted through `/v1/batch` (issue #7)',
    '',
    `${describeMachine(result.machine)}. The real \`sluice serve\` (compiled, embedded PGlite store) with one \`events\` source and ` +
      `no activation receives \`/v1/batch\` bodies of ${EVENTS_PER_BATCH} events (${formatInt(result.bodyBytes / 1024)} KB, every message id distinct) ` +
      `with a write key from a load generator on the same machine, ${result.seconds} s per run after a 3 s warm-up:`,
    '',
    `- **steady**: ${FIXED_RATE} requests/s (25,000 events/s) as an open-loop constant rate (\`bench/lib/open-loop.ts\`): a request is due every ` +
      `${1000 / FIXED_RATE} ms and sent then whatever the earlier ones are doing, and its latency runs from its due time, so a stall counts against ` +
      `every request that should have gone out meanwhile. ${result.steady.length} runs; the verdict takes their medians.`,
    `- **autocannon overallRate**: the same ${FIXED_RATE} requests/s through autocannon, ${CONNECTIONS} connections, which sends in bursts: each ` +
      'connection sends back to back until its share of the second is used, then waits for the next second. Latency then measures queueing ' +
      'inside each burst (the floor shows what the bursts alone cost). This is what an earlier version of this benchmark reported.',
    `- **unthrottled**: autocannon, ${CONNECTIONS} connections, as fast as answers come: the ceiling.`,
    '',
    `A 200 means the batch is committed to the event log; the log was counted afterwards: ${formatInt(result.logged)} events for ` +
      `${formatInt(result.promised)} promised. Floor: a bare \`node:http\` server that reads and JSON-parses the same bodies and answers 200, ` +
      'under the same loads. Target: ≥ 25,000 events/s with p99 < 50 ms.',
    '',
    '| run | requests | events/s accepted | p50 | p99 | max | errors | machine busy before |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...result.steady.map((run, index) => row(`sluice serve, steady ${FIXED_RATE} requests/s, run ${index + 1}`, run)),
    row(`**sluice serve, steady, median of ${result.steady.length}**`, steadyRun),
    row(`sluice serve, autocannon overallRate ${FIXED_RATE}`, result.fixed),
    row('sluice serve, unthrottled', result.unthrottled),
    row(`floor, steady ${FIXED_RATE} requests/s`, result.floorSteady),
    row(`floor, autocannon overallRate ${FIXED_RATE}`, result.floorFixed),
    row('floor, unthrottled', result.floorUnthrottled),
    '',
    `Verdict: ${verdict}.`,
    '',
    'Where the time goes: the embedded event log is a second PGlite in its own thread (store/event-log.ts), so appending runs ' +
      'beside the HTTP parsing and checking on the main thread; requests that arrive while an append is written are written together ' +
      'by the next (one statement per group), and the log keeps one row per group with the events as a JSON array, deduplicated through ' +
      'a table of message ids. Appending costs the log thread ~2.5 ms per 100 events, most of it the message-id index and the body\'s ' +
      'TOAST chunks. Two fixes brought the steady p99 under target: new WAL segments are no longer zero-filled (each 16 MB segment, ' +
      'one every ~0.7 s at this rate, stalled the log for ~55 ms), and events are completed in place instead of copied (normalising ' +
      '100 events fell from ~0.95 ms to ~0.45 ms). Load generator, server and log thread share the same 2 cores.',
  ].join('\n');
}
