/**
 * The figures of the "Singer target → file" benchmark (bench/singer-target.ts): per-run lines, medians per
 * runner, ratios to the floor, the targets' verdicts, and the BENCHMARKS.md section.
 */
import { type MachineInfo, describeMachine } from './lib/machine.ts';
import { formatCount, formatInt, formatKbAsMb, formatRatio, markdownTable, median, textTable } from './lib/stats.ts';

export const RUNNERS = ['floor', 'sluice-singer', 'sluice-airbyte', 'faros'] as const;
export type Runner = (typeof RUNNERS)[number];

export const TARGETS = { recordsPerSecond: 150_000, ratioToFloor: 0.5 } as const;

const LABELS: Record<Runner, string> = {
  floor: 'floor (JSON.parse → JSON.stringify → file), Singer input',
  'sluice-singer': '`sluice singer target file`, Singer input',
  'sluice-airbyte': '`sluice airbyte destination/file write`, Airbyte input',
  faros: 'faros-airbyte-cdk destination (peer), Airbyte input',
};

export interface RunMeasurement {
  readonly runner: Runner;
  readonly round: number;
  readonly rows: number;
  readonly wallMs: number;
  /** Records ÷ wall time from spawn to exit. */
  readonly wallRps: number;
  /** Records between the first and last echoed state ÷ the time between them. */
  readonly steadyRps: number;
  readonly maxRssKb: number;
  readonly cpuMs: number;
  readonly busyBefore: number;
}

export interface RunFailure {
  readonly runner: Runner;
  readonly round: number;
  readonly error: string;
}

export interface SingerTargetResult {
  readonly rows: number;
  readonly singerBytes: number;
  readonly airbyteBytes: number;
  readonly runs: readonly RunMeasurement[];
  readonly failures: readonly RunFailure[];
}

function cpuPerRecord(run: RunMeasurement): number {
  return (run.cpuMs * 1000) / run.rows;
}

export function describeRun(run: RunMeasurement): string {
  return (
    `${run.runner.padEnd(14)} #${run.round + 1}: ${formatInt(run.wallRps)} records/s start to exit (${(run.wallMs / 1000).toFixed(2)} s), ` +
    `${formatInt(run.steadyRps)} records/s steady, CPU ${(run.cpuMs / 1000).toFixed(2)} s = ${cpuPerRecord(run).toFixed(1)} µs/record, ` +
    `peak RSS ${formatKbAsMb(run.maxRssKb)}, machine ${Math.round(run.busyBefore * 100)}% busy before`
  );
}

interface Summary {
  readonly runner: Runner;
  readonly runs: number;
  readonly wallRps: number;
  readonly steadyRps: number;
  readonly rssKb: number;
  readonly cpuUs: number;
  readonly broken: boolean;
}

function summarize(result: SingerTargetResult): Summary[] {
  const present = RUNNERS.filter((runner) => result.runs.some((run) => run.runner === runner) || result.failures.some((failure) => failure.runner === runner));
  return present.map((runner) => {
    const runs = result.runs.filter((run) => run.runner === runner);
    return {
      runner,
      runs: runs.length,
      wallRps: median(runs.map((run) => run.wallRps)),
      steadyRps: median(runs.map((run) => run.steadyRps)),
      rssKb: median(runs.map((run) => run.maxRssKb)),
      cpuUs: median(runs.map(cpuPerRecord)),
      broken: result.failures.some((failure) => failure.runner === runner),
    };
  });
}

function fixed(value: number): string {
  return Number.isFinite(value) ? value.toFixed(1) : 'n/a';
}

function verdict(value: number, pass: boolean, broken: boolean): string {
  if (broken) return '**FAIL** (a run broke)';
  if (!Number.isFinite(value)) return 'not measured';
  return pass ? 'pass' : '**FAIL**';
}

interface Tables {
  readonly header: string[];
  readonly rows: string[][];
  readonly targetRows: string[][];
}

function tables(result: SingerTargetResult): Tables {
  const summaries = summarize(result);
  const floor = summaries.find((s) => s.runner === 'floor');
  const header = ['runner', 'runs', 'records/s (start to exit)', '× floor', 'records/s (steady)', '× floor', 'peak RSS', 'CPU µs/record'];
  const rows = summaries.map((s) => [
    LABELS[s.runner],
    String(s.runs),
    formatInt(s.wallRps),
    formatRatio(s.wallRps / (floor?.wallRps ?? Number.NaN)),
    formatInt(s.steadyRps),
    formatRatio(s.steadyRps / (floor?.steadyRps ?? Number.NaN)),
    formatKbAsMb(s.rssKb),
    fixed(s.cpuUs),
  ]);
  const sluice = summaries.find((s) => s.runner === 'sluice-singer');
  const targetRows: string[][] = [];
  if (sluice !== undefined) {
    const broken = sluice.broken;
    for (const [what, rps, floorRps] of [
      ['start to exit', sluice.wallRps, floor?.wallRps ?? Number.NaN],
      ['steady', sluice.steadyRps, floor?.steadyRps ?? Number.NaN],
    ] as const) {
      const ratio = rps / floorRps;
      targetRows.push([`Singer target ≥ ${formatInt(TARGETS.recordsPerSecond)} records/s (${what})`, `${verdict(rps, rps >= TARGETS.recordsPerSecond, broken)} (${formatInt(rps)})`]);
      targetRows.push([`Singer target ≥ ${TARGETS.ratioToFloor} × floor (${what})`, `${verdict(ratio, ratio >= TARGETS.ratioToFloor, broken)} (${formatRatio(ratio)})`]);
    }
  }
  return { header, rows, targetRows };
}

function describeFailure(failure: RunFailure): string {
  return `${failure.runner} #${failure.round + 1}: ${failure.error.split('\n')[0]}`;
}

export function textReport(result: SingerTargetResult): string {
  const t = tables(result);
  const broken = result.failures.length === 0 ? '' : `\n\nBROKEN RUNS (not in the figures):\n${result.failures.map((f) => `- ${describeFailure(f)}`).join('\n')}`;
  const plain = (rows: string[][]) => rows.map((row) => row.map((cell) => cell.replaceAll('**', '').replaceAll('`', '')));
  return `${textTable(t.header, plain(t.rows))}\n\n${textTable(['target', `${formatCount(result.rows)}`], plain(t.targetRows))}${broken}`;
}

export function markdownReport(result: SingerTargetResult, machine: MachineInfo, baselineKb: number, farosVersion: string): string {
  const t = tables(result);
  const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;
  const failures =
    result.failures.length === 0
      ? ''
      : `\n**Broken runs** (left out of the figures; the harness exited non-zero):\n\n${result.failures.map((f) => `- ${describeFailure(f).replaceAll('|', '\\|')}`).join('\n')}\n`;
  return `## Singer target → file

Machine: ${describeMachine(machine)}. Reproduce with \`BENCH_ONLY=singer-target npm run bench\`.

The input is ${formatCount(result.rows)} orders (\`id, email, name, amount, country, created_at\`) as a Singer stream
(SCHEMA, RECORDs with \`time_extracted\`, a STATE every 10k records; ${mb(result.singerBytes)}) and as the same
stream in Airbyte messages (RECORD envelopes with \`emitted_at\`, legacy STATEs \`{"state":{"data":…}}\`; ${mb(result.airbyteBytes)}),
generated by \`bench/singer-data.ts\`. Each runner is a child process reading the stream from a pipe (\`cat file |\`)
and writing JSONL to a local file:

- **floor** (\`bench/singer-floor.ts\`): split lines, \`JSON.parse\`, \`JSON.stringify(record)\`, one file write per input
  chunk with backpressure, each state's value printed once the writes before it completed. Nothing else.
- **Sluice, Singer**: \`sluice singer target file --config <jsonl file>\` (the compiled CLI, as installed).
- **Sluice, Airbyte**: \`sluice airbyte destination/file write --config … --catalog …\` on the Airbyte stream.
- **faros peer** (\`bench/peers/faros-destination.ts\`): an \`AirbyteDestination\` written with faros-airbyte-cdk, run by
  its \`AirbyteDestinationRunner\` (\`write --config --catalog\`) on the Airbyte stream: readline, the CDK's
  \`parseAirbyteMessage\`, \`JSON.stringify(data)\` per record to a file stream with backpressure, each state yielded once
  the records before it are written.

Every run must write exactly the expected file (line count, size and SHA-256 of all 1M records) and echo all
${result.rows / 10_000} states, the last equal to the input's last STATE; otherwise it is a broken run. Runners alternate
(the order rotates each round); before each run the harness waits (up to a minute) for the machine to be quiet.
**records/s (start to exit)** = records ÷ wall time from spawn to exit (start-up, loading and the final fsync
included). **records/s (steady)** = records between the first and the last echoed state ÷ the time between those
two lines arriving (start-up, the first 10k records and shutdown excluded). Peak RSS = the kernel's maxRSS; CPU
µs/record = user + system CPU of the whole process (start-up included) per record — less disturbed by other
jobs on this shared machine than records/s. Figures are medians; ratios are of medians.

${t.rows.length === 0 ? '_nothing measured_' : markdownTable(t.header, t.rows)}

An empty \`node\` process peaks at ${formatKbAsMb(baselineKb)} RSS here. Sluice runs compiled (\`dist/\`, built by \`npm run bench\`);
the floor and the peer are TypeScript run through tsx, whose loader adds ~35 MB and some start-up (the steady figures
exclude start-up). faros-airbyte-cdk ${farosVersion} installs and runs on Node 20, but its package index loads its source
framework, which requires \`faros-js-client\` and \`lodash\` without declaring them; the peer imports the CDK's destination
modules by path (\`faros-airbyte-cdk/lib/destinations/…\`), which needs only \`lodash\`, a dev dependency for that reason.
${failures}
${markdownTable(['target (issue 3)', formatCount(result.rows)], t.targetRows)}

<details><summary>Every run</summary>

${result.runs.map((run) => `- ${describeRun(run)}`).join('\n')}

</details>`;
}
