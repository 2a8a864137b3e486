/**
 * Benchmark "file (CSV) → http": a CSV of N orders sent to a mock HTTP destination (its own process, on
 * loopback, no latency or failures) in JSON-array batches of 500, 4 requests in flight — once by the raw
 * floor (bench/floor.ts) and once by the real `sluice run` CLI, alternating, several rounds per size. Every
 * run must deliver exactly N records to the mock, or the benchmark fails: a benchmark that loses records is
 * a bug, not a figure.
 *
 * Reported: median records/s (records ÷ time from the start of reading to the last response, measured inside
 * each process, so process start-up is excluded), the ratio of Sluice's median to the floor's, and median
 * peak RSS (kernel maxRSS of each process). Targets: ≥ 100k records/s, ≥ 0.7 × the floor and peak RSS
 * ≤ 250 MB (the highest run counts) at every size.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR, ensureOrdersCsv } from './data.ts';
import type { FloorResult } from './floor.ts';
import { type MachineInfo, describeMachine } from './lib/machine.ts';
import { describeExit, runMeasured, tail } from './lib/measure.ts';
import { waitForQuiet } from './lib/quiet.ts';
import type { MockProcess } from './lib/mock-process.ts';
import { runSluiceCli, sluiceCliAvailable } from './lib/sluice-cli.ts';
import { formatCount, formatInt, formatKbAsMb, formatRatio, markdownTable, median, textTable } from './lib/stats.ts';

export const SECTION_ID = 'file-to-http';
const FLOOR_SCRIPT = fileURLToPath(new URL('./floor.ts', import.meta.url));
const BATCH_SIZE = 500;
const CONCURRENCY = 4;

/** The machine counts as quiet below this busy fraction (of all cores). */
const QUIET_THRESHOLD = 0.15;

export const TARGETS = { recordsPerSecond: 100_000, ratioToFloor: 0.7, peakRssMb: 250 } as const;

export type Runner = 'floor' | 'sluice';

export interface RunMeasurement {
  readonly runner: Runner;
  readonly rows: number;
  readonly round: number;
  readonly recordsPerSecond: number;
  readonly durationMs: number;
  readonly wallMs: number;
  readonly maxRssKb: number;
  /** CPU time of the whole process (user + system, all threads, start-up included). */
  readonly cpuMs: number;
  /** How busy the machine was (0–1 of all cores) just before the run. */
  readonly busyBefore: number;
}

/** A run that broke: crashed, timed out, reported a failed run, or did not deliver exactly every record. */
export interface RunFailure {
  readonly runner: Runner;
  readonly rows: number;
  readonly round: number;
  readonly error: string;
}

export interface SizeResult {
  readonly rows: number;
  readonly csvBytes: number;
  readonly runs: readonly RunMeasurement[];
  readonly failures: readonly RunFailure[];
  /** Why Sluice was not measured, when it was not. */
  readonly sluiceSkipped?: string;
}

export interface SuiteOptions {
  readonly sizes: readonly number[];
  readonly repeatsFor: (rows: number) => number;
  readonly mock: MockProcess;
  readonly log: (message: string) => void;
  /** Write V8 CPU profiles of the Sluice runs into this directory. */
  readonly cpuProfileDir?: string;
  readonly skipSluice?: boolean;
  /** Before each run, wait up to this long for the machine to be quiet (0: do not wait). */
  readonly quietWaitMs?: number;
}

/** Peak RSS of an empty `node` process measured the same way: the part of every figure that is runtime, not work. */
export async function baselineRssKb(): Promise<number> {
  const result = await runMeasured({ args: ['-e', '0'] });
  return result.maxRssKb;
}

/** Generous: a stuck run must not hang the harness, but a slow one must finish. */
function timeoutFor(rows: number): number {
  return 120_000 + rows * 0.2;
}

async function expectDelivered(mock: MockProcess, rows: number, runner: Runner): Promise<void> {
  const stats = await mock.stats();
  if (stats.records !== rows) {
    throw new Error(`${runner}: the mock destination received ${stats.records} records, expected exactly ${rows} (stats: ${JSON.stringify(stats)})`);
  }
}

async function measureFloor(csv: string, rows: number, round: number, mock: MockProcess, busyBefore: number): Promise<RunMeasurement> {
  await mock.reset();
  const result = await runMeasured({
    args: [FLOOR_SCRIPT, '--csv', csv, '--url', mock.url, '--batch', String(BATCH_SIZE), '--concurrency', String(CONCURRENCY)],
    timeoutMs: timeoutFor(rows),
  });
  if (result.exitCode !== 0) throw new Error(`floor failed (${describeExit(result)}):\n${tail(result.stderr)}`);
  const floor = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as FloorResult;
  if (floor.records !== rows) throw new Error(`floor read ${floor.records} records from a CSV of ${rows} rows`);
  await expectDelivered(mock, rows, 'floor');
  return {
    runner: 'floor',
    rows,
    round,
    recordsPerSecond: (rows / floor.durationMs) * 1000,
    durationMs: floor.durationMs,
    wallMs: result.wallMs,
    maxRssKb: result.maxRssKb,
    cpuMs: result.cpuMs,
    busyBefore,
  };
}

async function measureSluice(csv: string, rows: number, round: number, options: SuiteOptions, busyBefore: number): Promise<RunMeasurement> {
  const { mock } = options;
  await mock.reset();
  const config = {
    sources: { orders: { type: 'file', path: csv, format: 'csv' } },
    destinations: { api: { type: 'http', url: mock.url, batch_size: BATCH_SIZE, concurrency: CONCURRENCY } },
    activations: [{ name: 'orders_to_api', source: { $ref: '#/sources/orders' }, destination: { $ref: '#/destinations/api' }, schedule: null }],
  };
  const { summaries, process: child } = await runSluiceCli({
    config,
    timeoutMs: timeoutFor(rows),
    ...(options.cpuProfileDir === undefined ? {} : { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] }),
  });
  const summary = summaries[0];
  if (summaries.length !== 1 || summary === undefined) throw new Error(`sluice printed ${summaries.length} run summaries, expected 1`);
  const { counters } = summary;
  if (summary.status !== 'succeeded' || counters.delivered !== rows || counters.rejected !== 0 || counters.read !== rows) {
    throw new Error(
      `sluice run ${summary.status} (${describeExit(child)}): read ${counters.read}, delivered ${counters.delivered}, rejected ${counters.rejected} of ${rows}` +
        `${summary.error === undefined ? '' : `: ${summary.error}`}\n${tail(child.stderr)}`,
    );
  }
  await expectDelivered(mock, rows, 'sluice');
  return {
    runner: 'sluice',
    rows,
    round,
    recordsPerSecond: (rows / summary.durationMs) * 1000,
    durationMs: summary.durationMs,
    wallMs: child.wallMs,
    maxRssKb: child.maxRssKb,
    cpuMs: child.cpuMs,
    busyBefore,
  };
}

/** CPU microseconds per record, whole process: less disturbed by neighbours than records/s. */
function cpuPerRecord(run: RunMeasurement): number {
  return (run.cpuMs * 1000) / run.rows;
}

function describeRun(run: RunMeasurement): string {
  return (
    `${run.runner.padEnd(6)} ${formatCount(run.rows)} #${run.round + 1}: ${formatInt(run.recordsPerSecond)} records/s, ${(run.durationMs / 1000).toFixed(2)} s ` +
    `(wall ${(run.wallMs / 1000).toFixed(2)} s), CPU ${(run.cpuMs / 1000).toFixed(2)} s = ${cpuPerRecord(run).toFixed(1)} µs/record, ` +
    `peak RSS ${formatKbAsMb(run.maxRssKb)}, machine ${Math.round(run.busyBefore * 100)}% busy before`
  );
}

export async function runFileToHttp(options: SuiteOptions): Promise<SizeResult[]> {
  const results: SizeResult[] = [];
  const skip = options.skipSluice ? 'skipped (BENCH_SKIP_SLUICE)' : sluiceCliAvailable() ? undefined : 'not measured: the CLI (src/cli/main.ts) or connector registry is not there yet';
  if (skip !== undefined) options.log(`sluice: ${skip}`);
  if (options.cpuProfileDir !== undefined) mkdirSync(options.cpuProfileDir, { recursive: true });
  for (const rows of options.sizes) {
    const csv = await ensureOrdersCsv(rows, options.log);
    const runs: RunMeasurement[] = [];
    const failures: RunFailure[] = [];
    const repeats = options.repeatsFor(rows);
    for (let round = 0; round < repeats; round++) {
      // Alternate who goes first, so neither always runs on a warmer (or busier) machine.
      const order: Runner[] = round % 2 === 0 ? ['floor', 'sluice'] : ['sluice', 'floor'];
      for (const runner of order) {
        if (runner === 'sluice' && skip !== undefined) continue;
        try {
          const busy = (options.quietWaitMs ?? 0) > 0 ? await waitForQuiet(QUIET_THRESHOLD, options.quietWaitMs) : 0;
          if (busy >= QUIET_THRESHOLD) options.log(`machine still ${Math.round(busy * 100)}% busy after waiting; measuring anyway`);
          const run = runner === 'floor' ? await measureFloor(csv.path, rows, round, options.mock, busy) : await measureSluice(csv.path, rows, round, options, busy);
          runs.push(run);
          options.log(describeRun(run));
        } catch (error) {
          // Recorded and reported (the harness then exits non-zero), but the other runs still go ahead.
          const message = error instanceof Error ? error.message : String(error);
          failures.push({ runner, rows, round, error: message });
          options.log(`${runner.padEnd(6)} ${formatCount(rows)} #${round + 1}: FAILED: ${message}`);
        }
      }
    }
    results.push({ rows, csvBytes: csv.bytes, runs, failures, ...(skip === undefined ? {} : { sluiceSkipped: skip }) });
  }
  return results;
}

interface SizeSummary {
  readonly rows: number;
  readonly floorRuns: number;
  readonly sluiceRuns: number;
  readonly floorRps: number;
  readonly sluiceRps: number;
  readonly ratio: number;
  readonly floorRssKb: number;
  readonly sluiceRssKb: number;
  readonly sluiceMaxRssKb: number;
  readonly floorCpuUs: number;
  readonly sluiceCpuUs: number;
  readonly sluiceFailed: boolean;
}

function summarize(result: SizeResult): SizeSummary {
  const of = (runner: Runner): RunMeasurement[] => result.runs.filter((run) => run.runner === runner);
  const floor = of('floor');
  const sluice = of('sluice');
  const floorRps = median(floor.map((run) => run.recordsPerSecond));
  const sluiceRps = median(sluice.map((run) => run.recordsPerSecond));
  return {
    rows: result.rows,
    floorRuns: floor.length,
    sluiceRuns: sluice.length,
    floorRps,
    sluiceRps,
    ratio: sluiceRps / floorRps,
    floorRssKb: median(floor.map((run) => run.maxRssKb)),
    sluiceRssKb: median(sluice.map((run) => run.maxRssKb)),
    sluiceMaxRssKb: sluice.length === 0 ? Number.NaN : Math.max(...sluice.map((run) => run.maxRssKb)),
    floorCpuUs: median(floor.map(cpuPerRecord)),
    sluiceCpuUs: median(sluice.map(cpuPerRecord)),
    sluiceFailed: result.failures.some((failure) => failure.runner === 'sluice'),
  };
}

function verdict(value: number, pass: boolean, failed: boolean): string {
  if (failed) return '**FAIL** (a run broke)';
  if (!Number.isFinite(value)) return 'not measured';
  return pass ? 'pass' : '**FAIL**';
}

interface Tables {
  readonly header: string[];
  readonly rows: string[][];
  readonly targetHeader: string[];
  readonly targetRows: string[][];
}

function tables(results: readonly SizeResult[]): Tables {
  const summaries = results.map(summarize);
  const header = ['rows', 'floor runs', 'sluice runs', 'floor records/s', 'sluice records/s', 'sluice / floor', 'floor peak RSS', 'sluice peak RSS', 'floor CPU µs/record', 'sluice CPU µs/record'];
  const rows = summaries.map((s) => [
    formatCount(s.rows),
    String(s.floorRuns),
    String(s.sluiceRuns),
    formatInt(s.floorRps),
    formatInt(s.sluiceRps),
    formatRatio(s.ratio),
    formatKbAsMb(s.floorRssKb),
    formatKbAsMb(s.sluiceRssKb),
    Number.isFinite(s.floorCpuUs) ? s.floorCpuUs.toFixed(1) : 'n/a',
    Number.isFinite(s.sluiceCpuUs) ? s.sluiceCpuUs.toFixed(1) : 'n/a',
  ]);
  const targetHeader = ['target', ...summaries.map((s) => formatCount(s.rows))];
  const targetRows = [
    [`Sluice ≥ ${formatInt(TARGETS.recordsPerSecond)} records/s`, ...summaries.map((s) => `${verdict(s.sluiceRps, s.sluiceRps >= TARGETS.recordsPerSecond, s.sluiceFailed)} (${formatInt(s.sluiceRps)})`)],
    [`Sluice ≥ ${TARGETS.ratioToFloor} × floor`, ...summaries.map((s) => `${verdict(s.ratio, s.ratio >= TARGETS.ratioToFloor, s.sluiceFailed)} (${formatRatio(s.ratio)})`)],
    [
      `Sluice peak RSS ≤ ${TARGETS.peakRssMb} MB (highest run)`,
      ...summaries.map((s) => `${verdict(s.sluiceMaxRssKb, s.sluiceMaxRssKb / 1024 <= TARGETS.peakRssMb, s.sluiceFailed)} (${formatKbAsMb(s.sluiceMaxRssKb)})`),
    ],
  ];
  return { header, rows, targetHeader, targetRows };
}

export function failuresOf(results: readonly SizeResult[]): RunFailure[] {
  return results.flatMap((result) => result.failures);
}

function describeFailure(failure: RunFailure): string {
  return `${failure.runner} ${formatCount(failure.rows)} #${failure.round + 1}: ${failure.error.split('\n')[0]}`;
}

/** The figures for the terminal. */
export function textReport(results: readonly SizeResult[]): string {
  const t = tables(results);
  const failures = failuresOf(results);
  const broken = failures.length === 0 ? '' : `\n\nBROKEN RUNS (not in the figures):\n${failures.map((failure) => `- ${describeFailure(failure)}`).join('\n')}`;
  return `${textTable(t.header, t.rows)}\n\n${textTable(t.targetHeader, t.targetRows.map((row) => row.map((cell) => cell.replaceAll('**', ''))))}${broken}`;
}

/** The BENCHMARKS.md section. */
export function markdownReport(results: readonly SizeResult[], machine: MachineInfo, baselineKb: number): string {
  const t = tables(results);
  const skipped = results.find((result) => result.sluiceSkipped !== undefined)?.sluiceSkipped;
  const perRun = results
    .flatMap((result) => result.runs)
    .map((run) => `- ${describeRun(run)}`)
    .join('\n');
  const sizes = results.map((result) => `${formatCount(result.rows)} rows = ${Math.round(result.csvBytes / 1e6)} MB`).join(', ');
  return `## file (CSV) → http

Machine: ${describeMachine(machine)}. Reproduce with \`npm run bench\` (\`BENCH_ROWS=100000 npm run bench\` for a quick try).

A CSV of orders (\`id,email,name,amount,country,created_at\`; ${sizes}) is sent to a mock HTTP destination
running in its own process on loopback (\`bench/mock-destination.ts\`: no latency, no failures, records
counted exactly) as JSON arrays of ${BATCH_SIZE} records, ${CONCURRENCY} requests in flight. The **floor**
(\`bench/floor.ts\`) is the least a program can do for that: csv-parse → \`JSON.stringify\` per batch → undici
\`Pool.request\`. **Sluice** is the real CLI: \`sluice run <config> --json\` with a file source and the http
destination. Floor and Sluice alternate; every run must deliver exactly every record.
records/s = records ÷ time from the start of reading to the last response, measured inside each process (start-up
excluded); peak RSS = the kernel's maxRSS for the process; CPU µs/record = the process's user + system CPU time
(all threads, start-up included) per record — less disturbed by other jobs on the machine than records/s. Before
each run the harness waits (up to a minute) for the machine to be quiet. Figures are medians; the ratio is of the medians.

${t.rows.length === 0 ? '_no sizes measured_' : markdownTable(t.header, t.rows)}

An empty \`node\` process peaks at ${formatKbAsMb(baselineKb)} RSS on this machine. Sluice runs compiled (\`dist/\`, built by
\`npm run bench\`), as an installed package does; the floor is a TypeScript script run through tsx, whose loader adds ~35 MB. The floor spends most of its CPU in csv-parse, while Sluice's
file source has its own CSV tokenizer, so a ratio above 1 is possible.
${skipped === undefined ? '' : `\nSluice: ${skipped}.\n`}${failuresMarkdown(results)}
${markdownTable(t.targetHeader, t.targetRows)}

<details><summary>Every run</summary>

${perRun}

</details>`;
}

function failuresMarkdown(results: readonly SizeResult[]): string {
  const failures = failuresOf(results);
  if (failures.length === 0) return '';
  const lines = failures.map((failure) => `- ${describeFailure(failure).replaceAll('|', '\\|')}`).join('\n');
  return `\n**Broken runs** (left out of the figures; the harness exited non-zero):\n\n${lines}\n`;
}

/** Where raw per-run figures are kept (gitignored), for anyone who wants more than medians. */
export const RAW_RESULTS_FILE = join(DATA_DIR, 'file-to-http-results.json');
