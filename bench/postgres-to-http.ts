/**
 * Benchmark `postgres-to-http` (issue #5): a table of N rows (BENCH_PG_ROWS, default 1M; 8 columns: bigint
 * primary key, text ×2, numeric, integer, boolean, timestamptz ×2) in a fresh database `sluice_bench_pg` on
 * the local server, sent to the mock HTTP destination (its own process, loopback, no latency) as JSON arrays
 * of 500 records, 4 requests in flight — by the raw floor (bench/postgres-floor.ts: a server-side cursor and
 * undici) and by the real CLI (`sluice run`, postgres source → http destination, sync_mode append),
 * alternating, BENCH_REPEATS rounds (default 3). Every run must deliver exactly N records to the mock.
 *
 * Reported: median rows/s (rows ÷ time measured inside each process, start-up excluded), Sluice ÷ floor,
 * peak RSS, CPU µs per row. Targets: Sluice ≥ 100k rows/s and peak RSS ≤ 250 MB (highest run).
 * The database is dropped afterwards.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR } from './data.ts';
import type { FloorResult } from './floor.ts';
import { type MachineInfo, describeMachine } from './lib/machine.ts';
import { describeExit, runMeasured, tail } from './lib/measure.ts';
import type { MockProcess } from './lib/mock-process.ts';
import {
  type Failure,
  type Measured,
  cpuPerRow,
  describeFailure,
  describeMeasured,
  errorText,
  failuresMarkdown,
  loadAverage,
  loadNote,
  sluiceBuild,
  quietBefore,
  rowsPerSecond,
  runSluiceChecked,
  verdict,
} from './lib/pg-runs.ts';
import { ORDERS_TABLE, createOrdersTable, dropDatabase, recreateDatabase } from './lib/postgres.ts';
import { formatCount, formatInt, formatKbAsMb, formatRatio, markdownTable, median, textTable } from './lib/stats.ts';

export const SECTION_ID = 'postgres-to-http';
export const RAW_RESULTS_FILE = join(DATA_DIR, 'postgres-to-http-results.json');
export const DATABASE = 'sluice_bench_pg';
const FLOOR_SCRIPT = fileURLToPath(new URL('./postgres-floor.ts', import.meta.url));
const BATCH_SIZE = 500;
const CONCURRENCY = 4;

export const TARGETS = { rowsPerSecond: 100_000, peakRssMb: 250 } as const;

export interface PostgresToHttpResult {
  readonly machine: MachineInfo;
  readonly rows: number;
  readonly tableBytes: number;
  readonly fillMs: number;
  readonly load: { readonly start: number[]; readonly end: number[] };
  /** Which Sluice build was measured (lib/pg-runs.ts `sluiceBuild`). */
  readonly sluiceBuild?: string;
  readonly runs: Measured[];
  readonly failures: Failure[];
}

export interface PostgresToHttpOptions {
  readonly machine: MachineInfo;
  readonly rows: number;
  readonly repeats: number;
  readonly mock: MockProcess;
  readonly log: (message: string) => void;
  readonly quietWaitMs: number;
}

/** Generous: a stuck run must not hang the harness, but a slow one must finish. */
const timeoutFor = (rows: number): number => 120_000 + rows * 0.2;

async function expectDelivered(mock: MockProcess, rows: number, runner: string): Promise<number> {
  const stats = await mock.stats();
  if (stats.records !== rows) throw new Error(`${runner}: the mock destination received ${stats.records} records, expected exactly ${rows} (stats: ${JSON.stringify(stats)})`);
  return stats.requests;
}

async function measureFloor(dbUrl: string, options: PostgresToHttpOptions, round: number, busyBefore: number): Promise<Measured> {
  const { mock, rows } = options;
  await mock.reset();
  const result = await runMeasured({
    args: [FLOOR_SCRIPT, '--db', dbUrl, '--table', ORDERS_TABLE, '--url', mock.url, '--batch', String(BATCH_SIZE), '--concurrency', String(CONCURRENCY)],
    timeoutMs: timeoutFor(rows),
  });
  if (result.exitCode !== 0) throw new Error(`floor failed (${describeExit(result)}):\n${tail(result.stderr)}`);
  const floor = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as FloorResult;
  if (floor.records !== rows) throw new Error(`floor read ${floor.records} rows from a table of ${rows}`);
  const requests = await expectDelivered(mock, rows, 'floor');
  return { runner: 'floor', phase: '', round, rows, durationMs: floor.durationMs, wallMs: result.wallMs, maxRssKb: result.maxRssKb, cpuMs: result.cpuMs, busyBefore, sent: rows, requests };
}

async function measureSluice(dbUrl: string, options: PostgresToHttpOptions, round: number, busyBefore: number): Promise<Measured> {
  const { mock, rows } = options;
  await mock.reset();
  const config = {
    sources: { orders: { type: 'postgres', url: dbUrl, table: ORDERS_TABLE } },
    destinations: { api: { type: 'http', url: mock.url, batch_size: BATCH_SIZE, concurrency: CONCURRENCY } },
    activations: [{ name: 'orders_to_api', source: { $ref: '#/sources/orders' }, destination: { $ref: '#/destinations/api' }, sync_mode: 'append', schedule: null }],
  };
  const { summary, process: child } = await runSluiceChecked({ config, timeoutMs: timeoutFor(rows) }, { read: rows, delivered: rows });
  const requests = await expectDelivered(mock, rows, 'sluice');
  return { runner: 'sluice', phase: '', round, rows, durationMs: summary.durationMs, wallMs: child.wallMs, maxRssKb: child.maxRssKb, cpuMs: child.cpuMs, busyBefore, sent: rows, requests };
}

export async function runPostgresToHttp(options: PostgresToHttpOptions): Promise<PostgresToHttpResult> {
  const { rows, log } = options;
  const start = loadAverage();
  const runs: Measured[] = [];
  const failures: Failure[] = [];
  let tableBytes = Number.NaN;
  let fillMs = Number.NaN;
  try {
    const dbUrl = await recreateDatabase(DATABASE);
    try {
      const started = performance.now();
      tableBytes = await createOrdersTable(dbUrl, rows);
      fillMs = performance.now() - started;
      log(`postgres-to-http: ${formatInt(rows)} rows in ${DATABASE}.${ORDERS_TABLE} (${Math.round(tableBytes / 1e6)} MB), filled in ${(fillMs / 1000).toFixed(1)} s`);
      for (let round = 0; round < options.repeats; round++) {
        // Alternate who goes first, so neither always runs on a warmer (or busier) machine.
        const order = round % 2 === 0 ? (['floor', 'sluice'] as const) : (['sluice', 'floor'] as const);
        for (const runner of order) {
          try {
            const busy = await quietBefore(options.quietWaitMs, log);
            const run = runner === 'floor' ? await measureFloor(dbUrl, options, round, busy) : await measureSluice(dbUrl, options, round, busy);
            runs.push(run);
            log(`postgres-to-http: ${describeMeasured(run)}`);
          } catch (error) {
            failures.push({ runner, phase: '', round, error: errorText(error) });
            log(`postgres-to-http: ${runner} #${round + 1}: FAILED: ${errorText(error)}`);
          }
        }
      }
    } finally {
      // Not masking the error that got us here, if any.
      await dropDatabase(DATABASE).catch((error: unknown) => log(`postgres-to-http: could not drop database ${DATABASE}: ${errorText(error)}`));
    }
  } catch (error) {
    failures.push({ runner: 'setup', phase: '', round: 0, error: errorText(error) });
    log(`postgres-to-http: FAILED: ${errorText(error)}`);
  }
  return { machine: options.machine, rows, tableBytes, fillMs, load: { start, end: loadAverage() }, sluiceBuild: sluiceBuild(), runs, failures };
}

interface Summary {
  readonly floorRps: number;
  readonly sluiceRps: number;
  readonly ratio: number;
  readonly floorRssKb: number;
  readonly sluiceRssKb: number;
  readonly sluiceMaxRssKb: number;
  readonly floorCpuUs: number;
  readonly sluiceCpuUs: number;
  readonly floorRuns: number;
  readonly sluiceRuns: number;
  readonly sluiceBroken: boolean;
}

function summarize(result: PostgresToHttpResult): Summary {
  const floor = result.runs.filter((run) => run.runner === 'floor');
  const sluice = result.runs.filter((run) => run.runner === 'sluice');
  const floorRps = median(floor.map(rowsPerSecond));
  const sluiceRps = median(sluice.map(rowsPerSecond));
  return {
    floorRps,
    sluiceRps,
    ratio: sluiceRps / floorRps,
    floorRssKb: median(floor.map((run) => run.maxRssKb)),
    sluiceRssKb: median(sluice.map((run) => run.maxRssKb)),
    sluiceMaxRssKb: sluice.length === 0 ? Number.NaN : Math.max(...sluice.map((run) => run.maxRssKb)),
    floorCpuUs: median(floor.map(cpuPerRow)),
    sluiceCpuUs: median(sluice.map(cpuPerRow)),
    floorRuns: floor.length,
    sluiceRuns: sluice.length,
    sluiceBroken: result.failures.some((failure) => failure.runner !== 'floor'),
  };
}

const cpu = (us: number): string => (Number.isFinite(us) ? us.toFixed(1) : 'n/a');

function tables(result: PostgresToHttpResult): { header: string[]; rows: string[][]; targetHeader: string[]; targetRows: string[][] } {
  const s = summarize(result);
  const header = ['rows', 'floor runs', 'sluice runs', 'floor rows/s', 'sluice rows/s', 'sluice / floor', 'floor peak RSS', 'sluice peak RSS', 'floor CPU µs/row', 'sluice CPU µs/row'];
  const rows = [
    [
      formatCount(result.rows),
      String(s.floorRuns),
      String(s.sluiceRuns),
      formatInt(s.floorRps),
      formatInt(s.sluiceRps),
      formatRatio(s.ratio),
      formatKbAsMb(s.floorRssKb),
      formatKbAsMb(s.sluiceRssKb),
      cpu(s.floorCpuUs),
      cpu(s.sluiceCpuUs),
    ],
  ];
  const targetHeader = ['target', 'result'];
  const targetRows = [
    [`Sluice ≥ ${formatInt(TARGETS.rowsPerSecond)} rows/s (median)`, `${verdict(s.sluiceRps, s.sluiceRps >= TARGETS.rowsPerSecond, s.sluiceBroken)} (${formatInt(s.sluiceRps)})`],
    [`Sluice peak RSS ≤ ${TARGETS.peakRssMb} MB (highest run)`, `${verdict(s.sluiceMaxRssKb, s.sluiceMaxRssKb / 1024 <= TARGETS.peakRssMb, s.sluiceBroken)} (${formatKbAsMb(s.sluiceMaxRssKb)})`],
  ];
  return { header, rows, targetHeader, targetRows };
}

export function failuresOf(result: PostgresToHttpResult): Failure[] {
  return result.failures;
}

export function textReport(result: PostgresToHttpResult): string {
  const t = tables(result);
  const broken = result.failures.length === 0 ? '' : `\n\nBROKEN RUNS (not in the figures):\n${result.failures.map((failure) => `- ${describeFailure(failure)}`).join('\n')}`;
  return `${textTable(t.header, t.rows)}\n\n${textTable(t.targetHeader, t.targetRows.map((row) => row.map((cell) => cell.replaceAll('**', ''))))}${broken}`;
}

export function markdownReport(result: PostgresToHttpResult, baselineKb: number): string {
  const t = tables(result);
  const perRun = result.runs.map((run) => `- ${describeMeasured(run)}`).join('\n');
  return `## PostgreSQL → http (issue #5)

Machine: ${describeMachine(result.machine)}. ${loadNote(result.load, result.runs)} Sluice: ${result.sluiceBuild ?? 'the working tree'}. Reproduce with \`BENCH_ONLY=postgres-to-http npm run bench\`
(\`BENCH_PG_ROWS=100000\` for a quick try).

A table of ${formatInt(result.rows)} rows (\`orders\`: \`bigint\` primary key, \`text\` ×2, \`numeric(12,2)\`, \`integer\`,
\`boolean\`, \`timestamptz\` ×2; ${Number.isFinite(result.tableBytes) ? `${Math.round(result.tableBytes / 1e6)} MB with its index` : 'size unknown'}) in a fresh database on the
local PostgreSQL (same machine, default settings), filled with one \`insert … select generate_series\`, is sent to
the mock HTTP destination (\`bench/mock-destination.ts\`, its own process, loopback, no latency) as JSON arrays of
${BATCH_SIZE} records, ${CONCURRENCY} requests in flight. **Floor** (\`bench/postgres-floor.ts\`): node-postgres with a server-side
cursor (\`FETCH 10000\`, the next one asked for while the rows are sent), every value left as PostgreSQL's text,
\`JSON.stringify\` per batch, undici \`Pool.request\`. **Sluice**: the compiled CLI, \`sluice run <config> --json\` with the
postgres source (\`table: orders\`, default \`fetch_size\` 10,000) and the http destination, \`sync_mode: append\` —
exact JSON types (numbers, booleans, ISO timestamps with offset), validation, retries and state included.
Floor and Sluice alternate; every run must deliver exactly every row to the mock. rows/s = rows ÷ time measured
inside the process (Sluice: the run summary's duration; start-up excluded); peak RSS = the kernel's maxRSS;
CPU µs/row = the process's user + system CPU (all threads, start-up included) per row. PostgreSQL's own CPU is
in neither figure, but it shares the 2 cores. Medians; the ratio is of the medians.

${markdownTable(t.header, t.rows)}

An empty \`node\` process peaks at ${formatKbAsMb(baselineKb)} RSS here; the floor runs through tsx (≈ +35 MB), Sluice compiled.
${failuresMarkdown(result.failures)}
${markdownTable(t.targetHeader, t.targetRows)}

<details><summary>Every run</summary>

${perRun}

</details>`;
}
