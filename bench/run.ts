/**
 * `npm run bench`: runs the benchmarks, prints their figures and writes them to BENCHMARKS.md (each benchmark
 * owns one marked section of that file and leaves the rest alone). Benchmarks are not timed tests: they fail
 * only when a run breaks or loses records, never because a figure missed its target — that shows as FAIL in
 * the report.
 *
 * Benchmarks: `file-to-http` (bench/file-to-http.ts), `singer-target` (bench/singer-target.ts),
 * `api-listing` (bench/api-listing.ts: `sluice serve` run listings with 10k runs stored), `events`
 * (bench/events.ts: tracking events accepted through `/v1/batch`), and the PostgreSQL
 * ones of issue #5 on the local server (BENCH_DATABASE_URL): `postgres-to-http` (bench/postgres-to-http.ts),
 * `change-detection` (bench/change-detection.ts) and `postgres-upsert` (bench/postgres-upsert.ts); and
 * `bulk-sftp` (bench/bulk-sftp.ts: 1M CSV rows dropped on an SFTP server, issue #6).
 *
 * Environment:
 * - `BENCH_ONLY`        run one benchmark: `file-to-http`, `singer-target`, `api-listing`, `postgres-to-http`,
 *                       `change-detection`, `postgres-upsert`, `bulk-sftp` or `events` (default: all).
 * - `BENCH_API_SECONDS` api-listing: seconds of load per listing (default 15).
 * - `BENCH_EVENTS_SECONDS` events: seconds of load per run (default 15).
 * - `BENCH_BULK_ROWS`   bulk-sftp: rows in the CSV (default 1000000).
 * - `BENCH_ROWS`        file-to-http: comma-separated row counts (default `1000000,5000000`), e.g. `BENCH_ROWS=100000`.
 * - `BENCH_SINGER_ROWS` singer-target: records in the stream (default 1000000).
 * - `BENCH_SINGER_RUNNERS` singer-target: which runners, comma-separated (default `floor,sluice-singer,sluice-airbyte,faros`).
 * - `BENCH_REPEATS`     rounds per size (default 3 up to 1M rows, 1 above; the PostgreSQL benchmarks: 3).
 * - `BENCH_PG_ROWS`     rows of the PostgreSQL benchmarks' tables (default 1000000), e.g. `BENCH_PG_ROWS=100000`.
 * - `BENCH_PG_RATE`     change-detection: requests/s the rate-limited mock serves (default 10).
 * - `BENCH_DATABASE_URL` the PostgreSQL server the database benchmarks create (and drop) their databases on
 *                       (default postgres://postgres@127.0.0.1:5432/postgres).
 * - `BENCH_SKIP_SLUICE` measure the floor only.
 * - `BENCH_CPU_PROF`    write V8 CPU profiles of the Sluice runs to bench/.data/profiles/.
 * - `BENCH_NO_WRITE`    print only; leave BENCHMARKS.md as it is.
 * - `BENCH_QUIET_WAIT`  seconds to wait, before each run, for other jobs to leave the CPU (default 60; 0: don't).
 * - `BENCH_REPORT_ONLY` measure nothing: re-render the reports from the last run's raw figures
 *                       (bench/.data/<benchmark>-results.json).
 * - `BENCH_SLUICE_BIN`  another checkout's bin/sluice.js, to measure a change against the same floor.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR } from './data.ts';
import { RAW_RESULTS_FILE, SECTION_ID, type SizeResult, baselineRssKb, failuresOf, markdownReport, runFileToHttp, textReport } from './file-to-http.ts';
import { type EventsBenchResult, RAW_RESULTS_FILE as EVENTS_RESULTS_FILE, SECTION_ID as EVENTS_SECTION_ID, failuresOf as eventsFailures, markdownReport as eventsMarkdown, runEventsBench, textReport as eventsText } from './events.ts';
import { type ApiListingResult, RAW_RESULTS_FILE as API_RESULTS_FILE, SECTION_ID as API_SECTION_ID, failuresOf as apiFailures, markdownReport as apiMarkdown, runApiListingBench, textReport as apiText } from './api-listing.ts';
import { type ChangeDetectionResult, RAW_RESULTS_FILE as CHANGE_RESULTS_FILE, SECTION_ID as CHANGE_SECTION_ID, failuresOf as changeFailures, markdownReport as changeMarkdown, runChangeDetection, textReport as changeText } from './change-detection.ts';
import { type BulkSftpResult, RAW_RESULTS_FILE as BULK_RESULTS_FILE, SECTION_ID as BULK_SECTION_ID, failuresOf as bulkFailures, markdownReport as bulkMarkdown, runBulkSftpBench, textReport as bulkText } from './bulk-sftp.ts';
import { type MachineInfo, describeMachine, machineInfo } from './lib/machine.ts';
import { benchPgRows } from './lib/postgres.ts';
import { describeFailure } from './lib/pg-runs.ts';
import { type PostgresToHttpResult, RAW_RESULTS_FILE as PG_HTTP_RESULTS_FILE, SECTION_ID as PG_HTTP_SECTION_ID, failuresOf as pgHttpFailures, markdownReport as pgHttpMarkdown, runPostgresToHttp, textReport as pgHttpText } from './postgres-to-http.ts';
import { type PostgresUpsertResult, RAW_RESULTS_FILE as UPSERT_RESULTS_FILE, SECTION_ID as UPSERT_SECTION_ID, failuresOf as upsertFailures, markdownReport as upsertMarkdown, runPostgresUpsertBench, textReport as upsertText } from './postgres-upsert.ts';
import { BENCHMARKS_FILE, writeMarkdownSection } from './lib/markdown-section.ts';
import { REPO_ROOT } from './lib/measure.ts';
import { spawnMockDestination } from './lib/mock-process.ts';
import { markdownReport as singerMarkdown, textReport as singerText, type SingerTargetResult } from './singer-report.ts';
import { RAW_RESULTS_FILE as SINGER_RESULTS_FILE, SECTION_ID as SINGER_SECTION_ID, parseRunners, runSingerTargetBench } from './singer-target.ts';

function parseSizes(text: string | undefined): number[] {
  if (text === undefined || text.trim() === '') return [1_000_000, 5_000_000];
  const sizes = text.split(',').map((part) => Number(part.trim().replace(/_/g, '')));
  for (const size of sizes) if (!Number.isInteger(size) || size < 1) throw new Error(`BENCH_ROWS: not a row count: ${text}`);
  return sizes;
}

function flag(name: string): boolean {
  const value = process.env[name];
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

interface RawResults {
  readonly machine: MachineInfo;
  readonly baselineKb?: number;
  readonly results: SizeResult[];
}

const log = (message: string): void => {
  process.stderr.write(`${message}\n`);
};

/** Run the measurements (or, with BENCH_REPORT_ONLY, load the last ones) and save the raw figures. */
async function measure(): Promise<RawResults & { baselineKb: number }> {
  if (flag('BENCH_REPORT_ONLY')) {
    const saved = JSON.parse(readFileSync(RAW_RESULTS_FILE, 'utf8')) as RawResults;
    return { ...saved, baselineKb: saved.baselineKb ?? (await baselineRssKb()) };
  }
  const sizes = parseSizes(process.env.BENCH_ROWS);
  const fixedRepeats = process.env.BENCH_REPEATS === undefined ? undefined : Number(process.env.BENCH_REPEATS);
  if (fixedRepeats !== undefined && (!Number.isInteger(fixedRepeats) || fixedRepeats < 1)) throw new Error('BENCH_REPEATS must be a positive integer');
  const machine = machineInfo();
  log(`machine: ${describeMachine(machine)}`);
  const baselineKb = await baselineRssKb();
  log(`baseline: an empty node process peaks at ${Math.round(baselineKb / 1024)} MB RSS`);
  const mock = await spawnMockDestination();
  try {
    log(`mock destination: ${mock.url} (pid ${mock.pid})`);
    const results = await runFileToHttp({
      sizes,
      repeatsFor: (rows) => fixedRepeats ?? (rows <= 1_000_000 ? 3 : 1),
      mock,
      log,
      skipSluice: flag('BENCH_SKIP_SLUICE'),
      quietWaitMs: quietWaitMs(),
      ...(flag('BENCH_CPU_PROF') ? { cpuProfileDir: join(DATA_DIR, 'profiles') } : {}),
    });
    const raw = { machine, baselineKb, results };
    writeFileSync(RAW_RESULTS_FILE, `${JSON.stringify(raw, null, 2)}\n`);
    return raw;
  } finally {
    await mock.close();
  }
}

const quietWaitMs = (): number => (process.env.BENCH_QUIET_WAIT === undefined ? 60_000 : Number(process.env.BENCH_QUIET_WAIT) * 1000);

interface SingerRaw {
  readonly machine: MachineInfo;
  readonly baselineKb: number;
  readonly result: SingerTargetResult;
}

/** The singer-target benchmark; returns how many runs broke. */
async function singerTarget(): Promise<number> {
  let raw: SingerRaw;
  if (flag('BENCH_REPORT_ONLY')) raw = JSON.parse(readFileSync(SINGER_RESULTS_FILE, 'utf8')) as SingerRaw;
  else {
    const rows = Number((process.env.BENCH_SINGER_ROWS ?? '1000000').replace(/_/g, ''));
    if (!Number.isInteger(rows) || rows < 1) throw new Error('BENCH_SINGER_ROWS must be a positive integer');
    const repeats = Number(process.env.BENCH_REPEATS ?? '3');
    if (!Number.isInteger(repeats) || repeats < 1) throw new Error('BENCH_REPEATS must be a positive integer');
    const machine = machineInfo();
    log(`singer-target: ${describeMachine(machine)}`);
    const result = await runSingerTargetBench({
      rows,
      repeats,
      runners: parseRunners(process.env.BENCH_SINGER_RUNNERS),
      log,
      quietWaitMs: quietWaitMs(),
      ...(flag('BENCH_CPU_PROF') ? { cpuProfileDir: join(DATA_DIR, 'profiles') } : {}),
    });
    raw = { machine, baselineKb: await baselineRssKb(), result };
    writeFileSync(SINGER_RESULTS_FILE, `${JSON.stringify(raw, null, 2)}\n`);
  }
  process.stdout.write(`\nSinger target → file\n\n${singerText(raw.result)}\n`);
  if (!flag('BENCH_NO_WRITE')) {
    const faros = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'faros-airbyte-cdk', 'package.json'), 'utf8')) as { version: string }).version;
    writeMarkdownSection(SINGER_SECTION_ID, singerMarkdown(raw.result, raw.machine, raw.baselineKb, faros));
    process.stdout.write(`\nwritten to ${BENCHMARKS_FILE}\n`);
  }
  return raw.result.failures.length;
}

/** The file-to-http benchmark; returns how many runs broke. */
async function fileToHttp(): Promise<number> {
  const { machine, baselineKb, results } = await measure();
  process.stdout.write(`\nfile (CSV) → http\n\n${textReport(results)}\n`);
  if (!flag('BENCH_NO_WRITE')) {
    writeMarkdownSection(SECTION_ID, markdownReport(results, machine, baselineKb));
    process.stdout.write(`\nwritten to ${BENCHMARKS_FILE}\n`);
  }
  return failuresOf(results).length;
}

/** The api-listing benchmark; returns how many listings answered with errors. */
async function apiListing(): Promise<number> {
  let result: ApiListingResult;
  if (flag('BENCH_REPORT_ONLY')) result = JSON.parse(readFileSync(API_RESULTS_FILE, 'utf8')) as ApiListingResult;
  else {
    const machine = machineInfo();
    log(`api-listing: ${describeMachine(machine)}`);
    result = await runApiListingBench({ machine, seconds: Number(process.env.BENCH_API_SECONDS ?? '15'), log });
    writeFileSync(API_RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  }
  process.stdout.write(`\nsluice serve: run listings\n\n${apiText(result)}\n`);
  if (!flag('BENCH_NO_WRITE')) {
    writeMarkdownSection(API_SECTION_ID, apiMarkdown(result));
    process.stdout.write(`\nwritten to ${BENCHMARKS_FILE}\n`);
  }
  const failures = apiFailures(result);
  for (const failure of failures) log(`api-listing: ${failure}`);
  return failures.length;
}

/** The events benchmark (tracking API ingestion); returns 1 when the log lost an acknowledged event. */
async function events(): Promise<number> {
  let result: EventsBenchResult;
  if (flag('BENCH_REPORT_ONLY')) result = JSON.parse(readFileSync(EVENTS_RESULTS_FILE, 'utf8')) as EventsBenchResult;
  else {
    const machine = machineInfo();
    log(`events: ${describeMachine(machine)}`);
    result = await runEventsBench({ machine, seconds: Number(process.env.BENCH_EVENTS_SECONDS ?? '15'), quietWaitMs: quietWaitMs(), log });
    writeFileSync(EVENTS_RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  }
  process.stdout.write(`\nsluice serve: tracking API (/v1/batch, 100 events per request)\n\n${eventsText(result)}\n`);
  if (!flag('BENCH_NO_WRITE')) {
    writeMarkdownSection(EVENTS_SECTION_ID, eventsMarkdown(result));
    process.stdout.write(`\nwritten to ${BENCHMARKS_FILE}\n`);
  }
  const failures = eventsFailures(result);
  for (const failure of failures) log(`events: ${failure}`);
  return failures.length;
}

/** BENCH_REPEATS for the PostgreSQL benchmarks (default 3). */
function pgRepeats(): number {
  const repeats = Number(process.env.BENCH_REPEATS ?? '3');
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error('BENCH_REPEATS must be a positive integer');
  return repeats;
}

/**
 * One PostgreSQL benchmark: measure (or, with BENCH_REPORT_ONLY, load the last raw figures), save them, print
 * the text report, write the section, and return how many runs broke.
 */
async function pgBenchmark<R>(spec: {
  readonly id: string;
  readonly title: string;
  readonly rawFile: string;
  readonly measure: () => Promise<R>;
  readonly text: (result: R) => string;
  readonly markdown: (result: R) => Promise<string> | string;
  readonly failures: (result: R) => readonly { runner: string; phase: string; round: number; error: string }[];
  /** How many runs were measured: with none (the server unreachable, say), the last section is kept. */
  readonly measured: (result: R) => number;
}): Promise<number> {
  let result: R;
  if (flag('BENCH_REPORT_ONLY')) result = JSON.parse(readFileSync(spec.rawFile, 'utf8')) as R;
  else {
    result = await spec.measure();
    writeFileSync(spec.rawFile, `${JSON.stringify(result, null, 2)}\n`);
  }
  process.stdout.write(`\n${spec.title}\n\n${spec.text(result)}\n`);
  const failures = spec.failures(result);
  for (const failure of failures) log(`${spec.id}: broken: ${describeFailure(failure)}`);
  if (spec.measured(result) === 0) log(`${spec.id}: nothing measured; ${BENCHMARKS_FILE} left as it was`);
  else if (!flag('BENCH_NO_WRITE')) {
    writeMarkdownSection(spec.id, await spec.markdown(result));
    process.stdout.write(`\nwritten to ${BENCHMARKS_FILE}\n`);
  }
  return failures.length;
}

/** The postgres-to-http benchmark (issue #5). */
async function postgresToHttp(): Promise<number> {
  return pgBenchmark<PostgresToHttpResult>({
    id: PG_HTTP_SECTION_ID,
    title: 'PostgreSQL → http',
    rawFile: PG_HTTP_RESULTS_FILE,
    measure: async () => {
      const machine = machineInfo();
      log(`postgres-to-http: ${describeMachine(machine)}`);
      const mock = await spawnMockDestination();
      try {
        return await runPostgresToHttp({ machine, rows: benchPgRows(), repeats: pgRepeats(), mock, log, quietWaitMs: quietWaitMs() });
      } finally {
        await mock.close();
      }
    },
    text: pgHttpText,
    markdown: async (result) => pgHttpMarkdown(result, await baselineRssKb()),
    failures: pgHttpFailures,
    measured: (result) => result.runs.length,
  });
}

/** The change-detection benchmark (issue #5). */
async function changeDetection(): Promise<number> {
  return pgBenchmark<ChangeDetectionResult>({
    id: CHANGE_SECTION_ID,
    title: 'Change detection (PostgreSQL → http, 1% changed)',
    rawFile: CHANGE_RESULTS_FILE,
    measure: async () => {
      const machine = machineInfo();
      log(`change-detection: ${describeMachine(machine)}`);
      const ratePerSecond = Number(process.env.BENCH_PG_RATE ?? '10');
      if (!(ratePerSecond > 0)) throw new Error('BENCH_PG_RATE must be a positive number of requests per second');
      const mock = await spawnMockDestination();
      try {
        return await runChangeDetection({ machine, rows: benchPgRows(), repeats: pgRepeats(), mock, ratePerSecond, log, quietWaitMs: quietWaitMs() });
      } finally {
        await mock.close();
      }
    },
    text: changeText,
    markdown: changeMarkdown,
    failures: changeFailures,
    measured: (result) => result.runs.length,
  });
}

/** The postgres-upsert benchmark (issue #5). */
async function postgresUpsert(): Promise<number> {
  return pgBenchmark<PostgresUpsertResult>({
    id: UPSERT_SECTION_ID,
    title: 'File → PostgreSQL upsert',
    rawFile: UPSERT_RESULTS_FILE,
    measure: async () => {
      const machine = machineInfo();
      log(`postgres-upsert: ${describeMachine(machine)}`);
      return runPostgresUpsertBench({ machine, rows: benchPgRows(), repeats: pgRepeats(), log, quietWaitMs: quietWaitMs() });
    },
    text: upsertText,
    markdown: upsertMarkdown,
    failures: upsertFailures,
    measured: (result) => result.runs.length,
  });
}

/** The bulk-sftp benchmark (issue #6); returns how many runs broke. */
async function bulkSftp(): Promise<number> {
  let result: BulkSftpResult;
  if (flag('BENCH_REPORT_ONLY')) result = JSON.parse(readFileSync(BULK_RESULTS_FILE, 'utf8')) as BulkSftpResult;
  else {
    const rows = Number((process.env.BENCH_BULK_ROWS ?? '1000000').replace(/_/g, ''));
    if (!Number.isInteger(rows) || rows < 1) throw new Error('BENCH_BULK_ROWS must be a positive integer');
    const repeats = Number(process.env.BENCH_REPEATS ?? '3');
    const machine = machineInfo();
    log(`bulk-sftp: ${describeMachine(machine)}`);
    result = await runBulkSftpBench({ rows, repeats, machine, quietWaitMs: quietWaitMs(), log });
    writeFileSync(BULK_RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  }
  process.stdout.write(`\nfile (CSV) → sftp\n\n${bulkText(result)}\n`);
  if (!flag('BENCH_NO_WRITE')) {
    writeMarkdownSection(BULK_SECTION_ID, bulkMarkdown(result, await baselineRssKb()));
    process.stdout.write(`\nwritten to ${BENCHMARKS_FILE}\n`);
  }
  return bulkFailures(result);
}

const BENCHMARKS: Record<string, () => Promise<number>> = {
  'file-to-http': fileToHttp,
  'singer-target': singerTarget,
  'api-listing': apiListing,
  events,
  'postgres-to-http': postgresToHttp,
  'change-detection': changeDetection,
  'postgres-upsert': postgresUpsert,
  'bulk-sftp': bulkSftp,
};

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  if (only !== undefined && only !== '' && BENCHMARKS[only] === undefined) throw new Error(`BENCH_ONLY: no benchmark ${only} (${Object.keys(BENCHMARKS).join(', ')})`);
  let broken = 0;
  for (const [id, run] of Object.entries(BENCHMARKS)) if (only === undefined || only === '' || only === id) broken += await run();
  if (broken > 0) {
    process.stderr.write(`\nbenchmark FAILED: ${broken} run(s) broke or lost records (see above)\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbenchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
