/**
 * Benchmark "Singer target → file": a 1M-record Singer stream (bench/singer-data.ts) piped into
 * `sluice singer target file` writing JSONL, next to a raw floor (bench/singer-floor.ts) and — like for like
 * on the Airbyte version of the same stream — `sluice airbyte destination/file write` and a peer destination
 * written with faros-airbyte-cdk (bench/peers/faros-destination.ts). Runners alternate (the order rotates
 * each round); every run must write exactly the expected records (line count, size and SHA-256 of the
 * output file) and echo every state, the last one equal to the stream's last STATE, or it counts as broken.
 *
 * Measured per run, each runner as its own child process with the stream on stdin through a pipe:
 * - records/s (start to exit): records ÷ wall time from spawn to exit, start-up and the final fsync included;
 * - records/s (steady): records between the first and the last echoed state ÷ the time between those two
 *   lines reaching this process — start-up, the first 10k records and shutdown excluded;
 * - peak RSS (kernel maxRSS) and CPU µs/record (user + system, whole process, start-up included).
 * Targets (issue 3): Sluice's Singer target ≥ 150k records/s and ≥ 0.5 × the floor.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { DATA_DIR } from './data.ts';
import { formatHotSpots, hotSpots } from './lib/cpu-profile.ts';
import { describeExit, runMeasured, tail } from './lib/measure.ts';
import { waitForQuiet } from './lib/quiet.ts';
import { SLUICE_BIN, SLUICE_ENV } from './lib/sluice-cli.ts';
import { type ProtocolStreams, configuredCatalog, ensureProtocolStreams, verifyOutput } from './singer-data.ts';
import { RUNNERS, type Runner, type RunFailure, type RunMeasurement, type SingerTargetResult, describeRun } from './singer-report.ts';

export const SECTION_ID = 'singer-target';
export const RAW_RESULTS_FILE = join(DATA_DIR, 'singer-target-results.json');
const TMP_DIR = join(DATA_DIR, 'tmp');
const FLOOR_SCRIPT = fileURLToPath(new URL('./singer-floor.ts', import.meta.url));
const PEER_SCRIPT = fileURLToPath(new URL('./peers/faros-destination.ts', import.meta.url));
const QUIET_THRESHOLD = 0.15;

export interface SingerTargetOptions {
  readonly rows: number;
  readonly repeats: number;
  readonly runners: readonly Runner[];
  readonly log: (message: string) => void;
  readonly quietWaitMs: number;
  /** Write V8 CPU profiles of the Sluice runs here, and log their hot spots. */
  readonly cpuProfileDir?: string;
}

interface Command {
  readonly args: readonly string[];
  readonly input: string;
  readonly output: string;
  readonly env?: Readonly<Record<string, string>>;
  /** The state value an echoed stdout line carries, or undefined for other lines (logs). */
  readonly stateOf: (line: string) => unknown;
}

const bareValue = (line: string): unknown => JSON.parse(line);
const airbyteState = (line: string): unknown => {
  const message = JSON.parse(line) as { type?: string; state?: { data?: unknown } };
  return message.type === 'STATE' ? message.state?.data : undefined;
};

function command(runner: Runner, streams: ProtocolStreams): Command {
  const output = join(TMP_DIR, `${runner}.jsonl`);
  const config = join(TMP_DIR, `${runner}-config.json`);
  writeFileSync(config, JSON.stringify(runner === 'faros' ? { path: output } : { path: output, format: 'jsonl' }));
  const catalog = join(TMP_DIR, 'catalog.json');
  writeFileSync(catalog, JSON.stringify(configuredCatalog()));
  const sluiceEnv = { ...SLUICE_ENV, NO_COLOR: '1' };
  switch (runner) {
    case 'floor':
      return { args: [FLOOR_SCRIPT, '--out', output], input: streams.singerPath, output, stateOf: bareValue };
    case 'sluice-singer':
      return { args: [SLUICE_BIN, 'singer', 'target', 'file', '--config', config], input: streams.singerPath, output, env: sluiceEnv, stateOf: bareValue };
    case 'sluice-airbyte':
      return { args: [SLUICE_BIN, 'airbyte', 'destination/file', 'write', '--config', config, '--catalog', catalog], input: streams.airbytePath, output, env: sluiceEnv, stateOf: airbyteState };
    case 'faros':
      return { args: [PEER_SCRIPT, 'write', '--config', config, '--catalog', catalog], input: streams.airbytePath, output, stateOf: airbyteState };
  }
}

/** The record count a state of this benchmark's stream stands for. */
function recordsOf(state: unknown): number {
  return (state as { bookmarks: { orders: { replication_key_value: number } } }).bookmarks.orders.replication_key_value;
}

async function measureRun(runner: Runner, round: number, streams: ProtocolStreams, options: SingerTargetOptions, busyBefore: number): Promise<RunMeasurement> {
  const cmd = command(runner, streams);
  rmSync(cmd.output, { force: true });
  // Each stdout line with the time it reached us: states' times give the steady rate.
  const lines: { text: string; atMs: number }[] = [];
  let partial = '';
  const profile = options.cpuProfileDir !== undefined && runner.startsWith('sluice');
  const result = await runMeasured({
    args: cmd.args,
    stdinFile: cmd.input,
    ...(cmd.env === undefined ? {} : { env: cmd.env }),
    ...(profile ? { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir!, '--cpu-prof-name', `${runner}-${round}.cpuprofile`] } : {}),
    timeoutMs: 120_000 + streams.rows * 0.3,
    onStdout: (chunk) => {
      const atMs = performance.now();
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) lines.push({ text, atMs });
    },
  });
  try {
    if (result.exitCode !== 0) throw new Error(`${runner} failed (${describeExit(result)}):\n${tail(result.stderr)}\n${tail(result.stdout, 5)}`);
    const states: { value: unknown; atMs: number }[] = [];
    for (const line of lines) {
      if (line.text.trim() === '') continue;
      const value = cmd.stateOf(line.text);
      if (value !== undefined) states.push({ value, atMs: line.atMs });
    }
    const last = states.at(-1);
    if (states.length !== streams.states) throw new Error(`${runner} echoed ${states.length} states, expected ${streams.states}`);
    if (last === undefined || JSON.stringify(last.value) !== streams.lastState) throw new Error(`${runner}: the last echoed state is ${JSON.stringify(last?.value)}, expected ${streams.lastState}`);
    const wrong = await verifyOutput(cmd.output, streams);
    if (wrong !== undefined) throw new Error(`${runner}: ${wrong}`);
    const first = states[0]!;
    const steadyRecords = recordsOf(last.value) - recordsOf(first.value);
    return {
      runner,
      round,
      rows: streams.rows,
      wallMs: result.wallMs,
      wallRps: (streams.rows / result.wallMs) * 1000,
      steadyRps: last.atMs > first.atMs ? (steadyRecords / (last.atMs - first.atMs)) * 1000 : Number.NaN,
      maxRssKb: result.maxRssKb,
      cpuMs: result.cpuMs,
      busyBefore,
    };
  } finally {
    rmSync(cmd.output, { force: true });
  }
}

export async function runSingerTargetBench(options: SingerTargetOptions): Promise<SingerTargetResult> {
  const streams = await ensureProtocolStreams(options.rows, options.log);
  mkdirSync(TMP_DIR, { recursive: true });
  if (options.cpuProfileDir !== undefined) mkdirSync(options.cpuProfileDir, { recursive: true });
  const runs: RunMeasurement[] = [];
  const failures: RunFailure[] = [];
  for (let round = 0; round < options.repeats; round++) {
    // Rotate the order, so no runner always goes first (on a cooler, or busier, machine).
    const order = options.runners.map((_, index) => options.runners[(index + round) % options.runners.length]!);
    for (const runner of order) {
      try {
        const busy = options.quietWaitMs > 0 ? await waitForQuiet(QUIET_THRESHOLD, options.quietWaitMs) : 0;
        if (busy >= QUIET_THRESHOLD) options.log(`machine still ${Math.round(busy * 100)}% busy after waiting; measuring anyway`);
        const run = await measureRun(runner, round, streams, options, busy);
        runs.push(run);
        options.log(describeRun(run));
        if (options.cpuProfileDir !== undefined && runner.startsWith('sluice')) {
          options.log(formatHotSpots(hotSpots(join(options.cpuProfileDir, `${runner}-${round}.cpuprofile`), 20)));
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.push({ runner, round, error: message });
        options.log(`${runner} #${round + 1}: FAILED: ${message}`);
      }
    }
  }
  return { rows: options.rows, singerBytes: streams.singerBytes, airbyteBytes: streams.airbyteBytes, runs, failures };
}

export function parseRunners(text: string | undefined): Runner[] {
  if (text === undefined || text.trim() === '') return [...RUNNERS];
  const names = text.split(',').map((name) => name.trim());
  for (const name of names) if (!(RUNNERS as readonly string[]).includes(name)) throw new Error(`BENCH_SINGER_RUNNERS: unknown runner ${name} (${RUNNERS.join(', ')})`);
  return names as Runner[];
}
