/**
 * Shared pieces of the PostgreSQL benchmarks (postgres-to-http, change-detection, postgres-upsert): one
 * measured run's figures, waiting for a quiet machine before it, running the CLI with its summary checked,
 * and rendering the figures.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import type { RunSummary } from '../../src/engine/types.ts';
import { type MeasureResult, describeExit, tail } from './measure.ts';
import { busyFraction, waitForQuiet } from './quiet.ts';
import { SLUICE_BIN, type SluiceRunOptions, runSluiceCli } from './sluice-cli.ts';
import { formatInt, formatKbAsMb } from './stats.ts';

/** The machine counts as quiet below this busy fraction (of all cores). */
export const QUIET_THRESHOLD = 0.15;

export interface Measured {
  /** Who ran: `floor`, `sluice`, `plain read (tap)`, … */
  readonly runner: string;
  /** What it did, when a benchmark has several phases (`insert`, `update`, `diff`, …). */
  readonly phase: string;
  readonly round: number;
  readonly rows: number;
  /** Time measured inside the process (Sluice: its run summary's duration; a floor: its own clock). */
  readonly durationMs: number;
  /** Spawn to exit, start-up included. */
  readonly wallMs: number;
  readonly maxRssKb: number;
  /** User + system CPU time of the whole process (all threads, start-up included). */
  readonly cpuMs: number;
  /** How busy the machine was (0–1 of all cores) just before the run. */
  readonly busyBefore: number;
  /** Records the destination received (HTTP requests or rows written), when it matters. */
  readonly sent?: number;
  readonly requests?: number;
}

/** A run that broke: crashed, timed out, reported a failed run, or did not deliver exactly what it should. */
export interface Failure {
  readonly runner: string;
  readonly phase: string;
  readonly round: number;
  readonly error: string;
}

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Before a run: wait (up to `quietWaitMs`) for other jobs to leave the CPU; with 0, do not wait but still
 * sample how busy the machine is (for a second), so the report can say what each run shared the cores with.
 */
export async function quietBefore(quietWaitMs: number, log: (message: string) => void): Promise<number> {
  if (quietWaitMs <= 0) return busyFraction(1000);
  const busy = await waitForQuiet(QUIET_THRESHOLD, quietWaitMs);
  if (busy >= QUIET_THRESHOLD) log(`machine still ${Math.round(busy * 100)}% busy after waiting; measuring anyway`);
  return busy;
}

export interface ExpectedCounters {
  readonly read?: number;
  readonly delivered?: number;
  readonly unchanged?: number;
}

/**
 * Run `sluice run` once and check it: exactly one summary, `succeeded`, nothing rejected, and the counters
 * given. Throws with the summary and the end of stderr otherwise.
 */
export async function runSluiceChecked(options: SluiceRunOptions, expected: ExpectedCounters): Promise<{ summary: RunSummary; process: MeasureResult }> {
  const { summaries, process: child } = await runSluiceCli(options);
  const summary = summaries[0];
  if (summaries.length !== 1 || summary === undefined) throw new Error(`sluice printed ${summaries.length} run summaries, expected 1 (${describeExit(child)})\n${tail(child.stderr)}`);
  const { counters } = summary;
  const wrong = (Object.keys(expected) as (keyof ExpectedCounters)[]).filter((key) => counters[key] !== expected[key]);
  if (summary.status !== 'succeeded' || counters.rejected !== 0 || wrong.length > 0) {
    throw new Error(
      `sluice run ${summary.status} (${describeExit(child)}): counters ${JSON.stringify(counters)}, expected ${JSON.stringify(expected)} and nothing rejected` +
        `${summary.error === undefined ? '' : `: ${summary.error}`}\n${tail(child.stderr)}`,
    );
  }
  return { summary, process: child };
}

/** CPU microseconds per row, whole process: less disturbed by neighbours than rows/s. */
export function cpuPerRow(run: Measured): number {
  return (run.cpuMs * 1000) / run.rows;
}

export function rowsPerSecond(run: Measured): number {
  return (run.rows / run.durationMs) * 1000;
}

export function describeMeasured(run: Measured): string {
  const what = run.phase === '' ? run.runner : `${run.runner} ${run.phase}`;
  const sent = run.sent === undefined ? '' : `, sent ${formatInt(run.sent)}${run.requests === undefined ? '' : ` in ${formatInt(run.requests)} requests`}`;
  return (
    `${what} #${run.round + 1}: ${formatInt(rowsPerSecond(run))} rows/s, ${(run.durationMs / 1000).toFixed(2)} s (wall ${(run.wallMs / 1000).toFixed(2)} s)${sent}, ` +
    `CPU ${(run.cpuMs / 1000).toFixed(2)} s = ${cpuPerRow(run).toFixed(1)} µs/row, peak RSS ${formatKbAsMb(run.maxRssKb)}, machine ${Math.round(run.busyBefore * 100)}% busy before`
  );
}

export function describeFailure(failure: Failure): string {
  const what = failure.phase === '' ? failure.runner : `${failure.runner} ${failure.phase}`;
  return `${what} #${failure.round + 1}: ${failure.error.split('\n')[0]}`;
}

/** The broken runs as a Markdown paragraph ('' when none). */
export function failuresMarkdown(failures: readonly Failure[]): string {
  if (failures.length === 0) return '';
  const lines = failures.map((failure) => `- ${describeFailure(failure).replaceAll('|', '\\|')}`).join('\n');
  return `\n**Broken runs** (left out of the figures; the harness exited non-zero):\n\n${lines}\n`;
}

/** `pass`, `**FAIL**`, or why there is no verdict. */
export function verdict(value: number, pass: boolean, broken = false): string {
  if (broken) return '**FAIL** (a run broke)';
  if (!Number.isFinite(value)) return 'not measured';
  return pass ? 'pass' : '**FAIL**';
}

export function seconds(ms: number): string {
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a';
}

/** The 1/5/15-minute load averages, rounded, for the report's note on machine load. */
export function loadAverage(): number[] {
  return loadavg().map((value) => Math.round(value * 100) / 100);
}

/** One sentence on how loaded the machine was: load averages at start and end, and the busy fraction seen before runs. */
export function loadNote(load: { readonly start: readonly number[]; readonly end: readonly number[] }, runs: readonly Measured[]): string {
  const busy = runs.map((run) => run.busyBefore).filter((value) => value > 0);
  const busyText = busy.length === 0 ? '' : `; in the second before each run the machine was ${Math.round(Math.min(...busy) * 100)}–${Math.round(Math.max(...busy) * 100)}% busy (of both cores)`;
  return `Load average (1/5/15 min) ${load.start.join(' / ')} at the start, ${load.end.join(' / ')} at the end${busyText}.`;
}

/**
 * Which Sluice was measured, for the report: the commit of the checkout that `SLUICE_BIN` belongs to (and
 * whether its src/ had uncommitted changes), or the `REVISION` file of an exported snapshot built on its own
 * (`git archive HEAD …`, run with BENCH_SLUICE_BIN, when the working tree is being edited by others).
 */
export function sluiceBuild(): string {
  const root = dirname(dirname(SLUICE_BIN));
  const revision = join(root, 'REVISION');
  if (existsSync(revision)) return `commit ${readFileSync(revision, 'utf8').trim().slice(0, 7)} (an export of that commit, built on its own)`;
  try {
    const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return `commit ${commit}${dirty ? ' with uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
