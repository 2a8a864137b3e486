/**
 * Benchmark `change-detection` (issue #5): what the diff sync modes cost and save, on the same N-row table as
 * postgres-to-http (a fresh `sluice_bench_pg`, dropped afterwards), through the compiled CLI.
 *
 * 1. First run: `sync_mode: upsert` (`primary_key: id`) with no fingerprints yet — every row is sent (as a
 *    create) and the fingerprint snapshot is built. Its rate is reported.
 * 2. BENCH_REPEATS rounds (default 3): 1% of the rows change (`id % 100 = k`: spread through the table), then,
 *    in alternating order, the **diff run** (the same activation, its fingerprints kept: it must send exactly
 *    the changed rows — the summary says delivered = changed, unchanged = N − changed, and the mock received
 *    exactly that many records) and two **plain reads** of the same table:
 *    - `sluice singer tap postgres --config … > /dev/null`: the Sluice source alone, every row read, typed and
 *      written out as a Singer RECORD line — what reading the table costs in Sluice without the engine. The
 *      target (diff ≤ 1.3 × plain read) is checked against this one: its per-row work (read, convert,
 *      serialize each record once) is what the diff run cannot avoid, and it neither maps, nor batches, nor
 *      keeps state — so the ratio shows what change detection adds, not engine costs both would share.
 *    - `sluice run --dry-run` of the same config in `sync_mode: append`: the engine too (mapping, validation,
 *      batching into request bodies), nothing sent or saved. Reported beside it.
 *    Times are wall times of the whole process (the same CLI start-up in each), medians of the rounds.
 * 3. Against a mock that serves at most BENCH_PG_RATE requests/s (default 10; `--rate-limit`, delay mode:
 *    every answer held until its slot), after another 1% change: the diff run vs a full resend of the same
 *    table (`sync_mode: append`, the same batches of 500, 4 in flight). Target: full ÷ diff ≥ 20. The full
 *    resend takes rows / 500 / rate seconds at least (200 s for 1M rows at 10/s); it runs once.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR } from './data.ts';
import { type MachineInfo, describeMachine } from './lib/machine.ts';
import { describeExit, runMeasured, tail } from './lib/measure.ts';
import { type MockProcess, spawnMockDestination } from './lib/mock-process.ts';
import {
  type Failure,
  type Measured,
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
  seconds,
  verdict,
} from './lib/pg-runs.ts';
import { ORDERS_TABLE, changeOnePercent, createOrdersTable, dropDatabase, recreateDatabase } from './lib/postgres.ts';
import { SLUICE_BIN, SLUICE_ENV } from './lib/sluice-cli.ts';
import { formatInt, formatKbAsMb, formatRatio, markdownTable, median, textTable } from './lib/stats.ts';

export const SECTION_ID = 'change-detection';
export const RAW_RESULTS_FILE = join(DATA_DIR, 'change-detection-results.json');
const DATABASE = 'sluice_bench_pg';
const BATCH_SIZE = 500;
const CONCURRENCY = 4;

export const TARGETS = { diffToPlainRead: 1.3, fullToDiffRateLimited: 20 } as const;

/** Runner names, as they appear in `Measured.runner`. */
const FIRST = 'first run (upsert, no fingerprints)';
const DIFF = 'diff run (upsert, 1% changed)';
const TAP = 'plain read: singer tap > /dev/null';
const DRY = 'plain read: run --dry-run (append)';
const LIMITED_DIFF = 'rate-limited diff run (upsert, 1% changed)';
const LIMITED_FULL = 'rate-limited full resend (append)';

export interface ChangeDetectionResult {
  readonly machine: MachineInfo;
  readonly rows: number;
  /** Rows changed before each diff run. */
  readonly changedPerRound: number;
  readonly ratePerSecond: number;
  readonly load: { readonly start: number[]; readonly end: number[] };
  /** Which Sluice build was measured (lib/pg-runs.ts `sluiceBuild`). */
  readonly sluiceBuild?: string;
  readonly runs: Measured[];
  readonly failures: Failure[];
}

export interface ChangeDetectionOptions {
  readonly machine: MachineInfo;
  readonly rows: number;
  readonly repeats: number;
  /** The unthrottled mock (shared with the other benchmarks). */
  readonly mock: MockProcess;
  /** Requests per second the rate-limited mock serves. */
  readonly ratePerSecond: number;
  readonly log: (message: string) => void;
  readonly quietWaitMs: number;
}

const timeoutFor = (rows: number): number => 120_000 + rows * 0.2;

function configFor(dbUrl: string, url: string, syncMode: 'upsert' | 'append'): unknown {
  return {
    sources: { orders: { type: 'postgres', url: dbUrl, table: ORDERS_TABLE } },
    destinations: { api: { type: 'http', url, batch_size: BATCH_SIZE, concurrency: CONCURRENCY } },
    activations: [
      {
        name: 'orders_to_api',
        source: { $ref: '#/sources/orders' },
        destination: { $ref: '#/destinations/api' },
        sync_mode: syncMode,
        ...(syncMode === 'append' ? {} : { primary_key: 'id' }),
        schedule: null,
      },
    ],
  };
}

async function expectReceived(mock: MockProcess, records: number, runner: string): Promise<number> {
  const stats = await mock.stats();
  if (stats.records !== records || stats.badRequests !== 0) {
    throw new Error(`${runner}: the mock destination received ${stats.records} records, expected exactly ${records} (stats: ${JSON.stringify(stats)})`);
  }
  return stats.requests;
}

export async function runChangeDetection(options: ChangeDetectionOptions): Promise<ChangeDetectionResult> {
  const { rows, log, mock } = options;
  const start = loadAverage();
  const runs: Measured[] = [];
  const failures: Failure[] = [];
  let changedPerRound = Number.NaN;
  mkdirSync(DATA_DIR, { recursive: true });
  const workDir = mkdtempSync(join(DATA_DIR, 'change-detection-'));
  const note = (run: Measured): void => {
    runs.push(run);
    log(`change-detection: ${describeMeasured(run)}`);
  };
  /** Run one measurement; a failure is recorded (the run is left out) and `false` returned. */
  const attempt = async (runner: string, round: number, measure: (busy: number) => Promise<Measured>): Promise<boolean> => {
    try {
      note(await measure(await quietBefore(options.quietWaitMs, log)));
      return true;
    } catch (error) {
      failures.push({ runner, phase: '', round, error: errorText(error) });
      log(`change-detection: ${runner} #${round + 1}: FAILED: ${errorText(error)}`);
      return false;
    }
  };

  try {
    const dbUrl = await recreateDatabase(DATABASE);
    try {
      const tableBytes = await createOrdersTable(dbUrl, rows);
      log(`change-detection: ${formatInt(rows)} rows in ${DATABASE}.${ORDERS_TABLE} (${Math.round(tableBytes / 1e6)} MB)`);
      const diffDir = join(workDir, 'diff');
      const upsert = configFor(dbUrl, mock.url, 'upsert');
      const tapConfig = join(workDir, 'source.json');
      writeFileSync(tapConfig, JSON.stringify({ url: dbUrl, table: ORDERS_TABLE }));

      // 1. The first run: everything is new.
      const firstOk = await attempt(FIRST, 0, async (busy) => {
        await mock.reset();
        const { summary, process: child } = await runSluiceChecked({ config: upsert, workDir: diffDir, timeoutMs: timeoutFor(rows) }, { read: rows, delivered: rows, unchanged: 0 });
        const requests = await expectReceived(mock, rows, FIRST);
        return { runner: FIRST, phase: '', round: 0, rows, durationMs: summary.durationMs, wallMs: child.wallMs, maxRssKb: child.maxRssKb, cpuMs: child.cpuMs, busyBefore: busy, sent: rows, requests };
      });
      if (!firstOk) throw new Error('the first run broke: no fingerprints to diff against');

      const diffRun = async (runner: string, target: MockProcess, round: number, changed: number, busy: number): Promise<Measured> => {
        await target.reset();
        const config = configFor(dbUrl, target.url, 'upsert');
        const expected = { read: rows, delivered: changed, unchanged: rows - changed };
        const { summary, process: child } = await runSluiceChecked({ config, workDir: diffDir, timeoutMs: timeoutFor(rows) }, expected);
        const requests = await expectReceived(target, changed, runner);
        return { runner, phase: '', round, rows, durationMs: summary.durationMs, wallMs: child.wallMs, maxRssKb: child.maxRssKb, cpuMs: child.cpuMs, busyBefore: busy, sent: changed, requests };
      };

      const tapRead = async (round: number, busy: number): Promise<Measured> => {
        const child = await runMeasured({
          args: [SLUICE_BIN, 'singer', 'tap', 'postgres', '--config', tapConfig],
          env: { ...SLUICE_ENV, SLUICE_HOME: join(workDir, 'tap-home'), NO_COLOR: '1' },
          discardStdout: true,
          timeoutMs: timeoutFor(rows),
        });
        if (child.exitCode !== 0) throw new Error(`sluice singer tap failed (${describeExit(child)}):\n${tail(child.stderr)}`);
        // The tap's closing metric line: {"type":"counter","metric":"record_count","value":N,…}
        const counts = [...child.stderr.matchAll(/"metric":"record_count","value":(\d+)/g)];
        const read = Number(counts.at(-1)?.[1] ?? Number.NaN);
        if (read !== rows) throw new Error(`sluice singer tap reported ${Number.isNaN(read) ? 'no record count' : `${read} records`}, expected ${rows}:\n${tail(child.stderr)}`);
        // No in-process figure: its duration is the wall time, like the diff run's in the comparison.
        return { runner: TAP, phase: '', round, rows, durationMs: child.wallMs, wallMs: child.wallMs, maxRssKb: child.maxRssKb, cpuMs: child.cpuMs, busyBefore: busy };
      };

      const dryRead = async (round: number, busy: number): Promise<Measured> => {
        const { summary, process: child } = await runSluiceChecked(
          { config: configFor(dbUrl, mock.url, 'append'), extraArgs: ['--dry-run'], timeoutMs: timeoutFor(rows) },
          { read: rows, delivered: 0 },
        );
        if (summary.plan?.records !== rows) throw new Error(`the dry run planned ${summary.plan?.records} records, expected ${rows}`);
        return { runner: DRY, phase: '', round, rows, durationMs: summary.durationMs, wallMs: child.wallMs, maxRssKb: child.maxRssKb, cpuMs: child.cpuMs, busyBefore: busy };
      };

      // 2. Rounds: 1% changes, then the diff run and the plain reads in alternating order.
      for (let round = 0; round < options.repeats; round++) {
        const changed = await changeOnePercent(dbUrl, round + 1);
        changedPerRound = changed;
        log(`change-detection: round ${round + 1}: ${formatInt(changed)} rows changed`);
        const order = round % 2 === 0 ? ([DIFF, TAP, DRY] as const) : ([TAP, DRY, DIFF] as const);
        for (const runner of order) {
          await attempt(runner, round, (busy) => (runner === DIFF ? diffRun(DIFF, mock, round, changed, busy) : runner === TAP ? tapRead(round, busy) : dryRead(round, busy)));
        }
      }

      // 3. Rate limited: the diff run after another 1% change, then a full resend of the same table.
      const limited = await spawnMockDestination(['--rate-limit', String(options.ratePerSecond)]);
      try {
        const changed = await changeOnePercent(dbUrl, options.repeats + 1);
        log(`change-detection: rate-limited mock (${options.ratePerSecond} requests/s): ${formatInt(changed)} rows changed`);
        await attempt(LIMITED_DIFF, 0, (busy) => diffRun(LIMITED_DIFF, limited, 0, changed, busy));
        const fullMs = (rows / BATCH_SIZE / options.ratePerSecond) * 1000;
        log(`change-detection: full resend at ${options.ratePerSecond} requests/s: at least ${Math.round(fullMs / 1000)} s`);
        await attempt(LIMITED_FULL, 0, async (busy) => {
          await limited.reset();
          const { summary, process: child } = await runSluiceChecked(
            { config: configFor(dbUrl, limited.url, 'append'), timeoutMs: 120_000 + fullMs * 2 },
            { read: rows, delivered: rows },
          );
          const requests = await expectReceived(limited, rows, LIMITED_FULL);
          return { runner: LIMITED_FULL, phase: '', round: 0, rows, durationMs: summary.durationMs, wallMs: child.wallMs, maxRssKb: child.maxRssKb, cpuMs: child.cpuMs, busyBefore: busy, sent: rows, requests };
        });
      } finally {
        await limited.close();
      }
    } finally {
      // Not masking the error that got us here, if any.
      await dropDatabase(DATABASE).catch((error: unknown) => log(`change-detection: could not drop database ${DATABASE}: ${errorText(error)}`));
    }
  } catch (error) {
    failures.push({ runner: 'setup', phase: '', round: 0, error: errorText(error) });
    log(`change-detection: FAILED: ${errorText(error)}`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return { machine: options.machine, rows, changedPerRound, ratePerSecond: options.ratePerSecond, load: { start, end: loadAverage() }, sluiceBuild: sluiceBuild(), runs, failures };
}

export function failuresOf(result: ChangeDetectionResult): Failure[] {
  return result.failures;
}

interface Figures {
  readonly of: (runner: string) => Measured[];
  readonly wall: (runner: string) => number;
  readonly broken: (runner: string) => boolean;
  readonly diffToTap: number;
  readonly diffToDry: number;
  readonly fullToDiff: number;
  /** The same ratios of median CPU time (whole process), which other jobs on the machine disturb less. */
  readonly cpuDiffToTap: number;
  readonly cpuDiffToDry: number;
}

function figures(result: ChangeDetectionResult): Figures {
  const of = (runner: string): Measured[] => result.runs.filter((run) => run.runner === runner);
  const wall = (runner: string): number => median(of(runner).map((run) => run.wallMs));
  const broken = (runner: string): boolean => result.failures.some((failure) => failure.runner === runner || failure.runner === 'setup');
  const cpu = (runner: string): number => median(of(runner).map((run) => run.cpuMs));
  return {
    of,
    wall,
    broken,
    diffToTap: wall(DIFF) / wall(TAP),
    diffToDry: wall(DIFF) / wall(DRY),
    fullToDiff: wall(LIMITED_FULL) / wall(LIMITED_DIFF),
    cpuDiffToTap: cpu(DIFF) / cpu(TAP),
    cpuDiffToDry: cpu(DIFF) / cpu(DRY),
  };
}

function table(result: ChangeDetectionResult, runners: readonly string[], f: Figures): { header: string[]; rows: string[][] } {
  const header = ['run', 'runs', 'records sent', 'requests', 'wall (median)', 'in-process', 'rows read/s', 'peak RSS', 'CPU'];
  const rows = runners.map((runner) => {
    const runs = f.of(runner);
    const first = runs[0];
    const inProcess = runner === TAP ? Number.NaN : median(runs.map((run) => run.durationMs));
    return [
      runner,
      String(runs.length),
      first?.sent === undefined ? '—' : formatInt(median(runs.map((run) => run.sent ?? Number.NaN))),
      first?.requests === undefined ? '—' : formatInt(median(runs.map((run) => run.requests ?? Number.NaN))),
      seconds(f.wall(runner)),
      runner === TAP ? '—' : seconds(inProcess),
      `${formatInt(median(runs.map(rowsPerSecond)))}${runner === TAP ? ' (wall)' : ''}`,
      formatKbAsMb(median(runs.map((run) => run.maxRssKb))),
      seconds(median(runs.map((run) => run.cpuMs))),
    ];
  });
  return { header, rows };
}

function targetRows(result: ChangeDetectionResult, f: Figures): string[][] {
  return [
    [`diff run ≤ ${TARGETS.diffToPlainRead} × plain read (singer tap), wall`, `${verdict(f.diffToTap, f.diffToTap <= TARGETS.diffToPlainRead, f.broken(DIFF) || f.broken(TAP))} (${formatRatio(f.diffToTap)})`],
    [`full resend ≥ ${TARGETS.fullToDiffRateLimited} × diff run at ${result.ratePerSecond} requests/s, wall`, `${verdict(f.fullToDiff, f.fullToDiff >= TARGETS.fullToDiffRateLimited, f.broken(LIMITED_DIFF) || f.broken(LIMITED_FULL))} (${formatRatio(f.fullToDiff)})`],
  ];
}

export function textReport(result: ChangeDetectionResult): string {
  const f = figures(result);
  const t = table(result, [FIRST, DIFF, TAP, DRY, LIMITED_DIFF, LIMITED_FULL], f);
  const ratios = [
    `diff ÷ plain read (tap): ${formatRatio(f.diffToTap)} wall, ${formatRatio(f.cpuDiffToTap)} CPU`,
    `diff ÷ plain read (dry run): ${formatRatio(f.diffToDry)} wall, ${formatRatio(f.cpuDiffToDry)} CPU`,
    `rate-limited full ÷ diff: ${formatRatio(f.fullToDiff)}`,
  ].join('\n');
  const broken = result.failures.length === 0 ? '' : `\n\nBROKEN RUNS (not in the figures):\n${result.failures.map((failure) => `- ${describeFailure(failure)}`).join('\n')}`;
  const targets = targetRows(result, f).map((row) => row.map((cell) => cell.replaceAll('**', '')));
  return `${textTable(t.header, t.rows)}\n\n${ratios}\n\n${textTable(['target', 'result'], targets)}${broken}`;
}

export function markdownReport(result: ChangeDetectionResult): string {
  const f = figures(result);
  const n = formatInt(result.rows);
  const changed = formatInt(result.changedPerRound);
  const unthrottled = table(result, [FIRST, DIFF, TAP, DRY], f);
  const limited = table(result, [LIMITED_DIFF, LIMITED_FULL], f);
  const perRun = result.runs.map((run) => `- ${describeMeasured(run)}`).join('\n');
  const minFull = result.rows / BATCH_SIZE / result.ratePerSecond;
  return `## Change detection: PostgreSQL → http, 1% changed (issue #5)

Machine: ${describeMachine(result.machine)}. ${loadNote(result.load, result.runs)} Sluice: ${result.sluiceBuild ?? 'the working tree'}. Reproduce with
\`BENCH_ONLY=change-detection npm run bench\` (\`BENCH_PG_ROWS=100000\` for a quick try).

The table of the postgres-to-http benchmark (${n} rows, 8 columns, a fresh database) and the compiled CLI, batches
of ${BATCH_SIZE}, ${CONCURRENCY} requests in flight. The **first run** (\`sync_mode: upsert\`, \`primary_key: id\`, no fingerprints yet)
sends every row and builds the fingerprint snapshot. Then, in each of ${f.of(DIFF).length || 'the'} rounds, ${changed} rows change (1%,
\`id % 100 = k\`, spread through the table) and the **diff run** — the same activation with its fingerprints — must send
exactly those: its summary must say delivered ${changed}, unchanged ${formatInt(result.rows - result.changedPerRound)}, and the mock must have received exactly ${changed}
records. It is compared with a **plain read** of the same table, measured in the same rounds in alternating order:
\`sluice singer tap postgres --config … > /dev/null\` — the Sluice source alone: every row read through the
server-side cursor, typed, and written out once as a JSON line. That is the per-row work the diff run cannot
avoid (it must read and look at every row to know which changed), without the engine's mapping, batching and
state, so the ratio shows what change detection adds. The engine's own plain read, \`sluice run --dry-run\` of the
same config in \`sync_mode: append\` (read, map, validate, batch; nothing sent or saved), is shown beside it.
Times are wall times of the whole process (each is one CLI process with the same start-up), medians of the
rounds; "in-process" is the run summary's duration.

${markdownTable(unthrottled.header, unthrottled.rows)}

Diff run ÷ plain read (median wall times): **${formatRatio(f.diffToTap)}** against the singer tap, ${formatRatio(f.diffToDry)} against the dry run. The same
ratios of median CPU time (whole process; disturbed less by the other jobs sharing the cores): ${formatRatio(f.cpuDiffToTap)} and ${formatRatio(f.cpuDiffToDry)}.
PostgreSQL's work (the same read in each) is in no process's CPU figure.

**Rate-limited endpoint.** A second mock serves at most ${result.ratePerSecond} requests/s (\`--rate-limit ${result.ratePerSecond}\`: every request is
answered, each held until its slot, so a client sees that rate whatever its concurrency). After another 1%
change, the diff run is compared with a full resend of the same table (\`sync_mode: append\`, the same batches of
${BATCH_SIZE}): ${formatInt(result.rows / BATCH_SIZE)} requests, so at least ${Math.round(minFull)} s. One run each.

${markdownTable(limited.header, limited.rows)}

Full resend ÷ diff run: **${formatRatio(f.fullToDiff)}**.
${failuresMarkdown(result.failures)}
${markdownTable(['target', 'result'], targetRows(result, f))}

<details><summary>Every run</summary>

${perRun}

</details>`;
}

