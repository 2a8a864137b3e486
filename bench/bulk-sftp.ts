/**
 * Benchmark "file (CSV) → sftp" (issue #6): 1M rows from a CSV file source dropped on an SFTP server by the
 * real `sluice run` CLI (compiled) with the `sftp` destination — files written locally, cut at the
 * destination's default 250k rows, two uploads at once, each under a temporary name then renamed. The SFTP
 * server (ssh2's, test/support/sftp-server.ts, serving a temporary directory) runs in a process of its own, so
 * it does not share the run's CPU. Every run must land exactly N rows in the server's directory.
 *
 * The floor (bench/bulk-sftp-floor.ts) reads the same CSV, writes the same rows to one local file and uploads
 * it with ssh2: what moving these bytes costs without Sluice. Floor and Sluice alternate.
 *
 * Reported: median rows/s (rows ÷ time from the start of reading to the last file in place, measured inside
 * each process), the ratio to the floor, and peak RSS. Targets: ≥ 100k rows/s and peak RSS ≤ 250 MB.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DATA_DIR, ensureOrdersCsv } from './data.ts';
import { type MachineInfo, describeMachine } from './lib/machine.ts';
import { REPO_ROOT, describeExit, runMeasured, tail } from './lib/measure.ts';
import { waitForQuiet } from './lib/quiet.ts';
import { runSluiceCli } from './lib/sluice-cli.ts';
import { formatCount, formatInt, formatKbAsMb, formatRatio, markdownTable, median, textTable } from './lib/stats.ts';

export const SECTION_ID = 'bulk-sftp';
export const RAW_RESULTS_FILE = join(DATA_DIR, 'bulk-sftp-results.json');
const FLOOR_SCRIPT = fileURLToPath(new URL('./bulk-sftp-floor.ts', import.meta.url));
const SERVER_SCRIPT = fileURLToPath(new URL('../test/support/sftp-server.ts', import.meta.url));
const QUIET_THRESHOLD = 0.15;
export const TARGETS = { rowsPerSecond: 100_000, peakRssMb: 250 } as const;

type Runner = 'floor' | 'sluice';

export interface BulkRun {
  readonly runner: Runner;
  readonly round: number;
  readonly rowsPerSecond: number;
  readonly durationMs: number;
  readonly wallMs: number;
  readonly maxRssKb: number;
  readonly cpuMs: number;
  readonly files: number;
  readonly busyBefore: number;
}

export interface BulkSftpResult {
  readonly machine: MachineInfo;
  readonly rows: number;
  readonly csvBytes: number;
  readonly runs: readonly BulkRun[];
  readonly failures: readonly { runner: Runner; round: number; error: string }[];
}

interface Server {
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly root: string;
  readonly process: ChildProcess;
}

async function startServer(root: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, root, '0'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the SFTP server exited (${code}) before it listened`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const info = JSON.parse(line) as { port: number; username: string; password: string };
  return { ...info, root, process: child };
}

/** Data rows in the files of a directory (CSV: every line but each file's header). */
async function rowsLanded(dir: string): Promise<{ rows: number; files: number }> {
  let rows = 0;
  const names = readdirSync(dir).filter((name) => !name.startsWith('.'));
  for (const name of names) {
    let lines = 0;
    for await (const _ of createInterface({ input: createReadStream(join(dir, name)), crlfDelay: Infinity })) lines++;
    rows += lines - 1;
  }
  return { rows, files: names.length };
}

function resetDrop(server: Server): string {
  const drop = join(server.root, 'drop');
  rmSync(drop, { recursive: true, force: true });
  mkdirSync(drop, { recursive: true });
  return drop;
}

async function measureFloor(csv: string, rows: number, round: number, server: Server, busyBefore: number): Promise<BulkRun> {
  const drop = resetDrop(server);
  const result = await runMeasured({
    args: [FLOOR_SCRIPT, '--csv', csv, '--port', String(server.port), '--user', server.username, '--password', server.password, '--dir', '/drop'],
    timeoutMs: 600_000,
  });
  if (result.exitCode !== 0) throw new Error(`floor failed (${describeExit(result)}):\n${tail(result.stderr)}`);
  const floor = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as { records: number; durationMs: number };
  const landed = await rowsLanded(drop);
  if (floor.records !== rows || landed.rows !== rows) throw new Error(`floor: read ${floor.records}, landed ${landed.rows} of ${rows} rows`);
  return { runner: 'floor', round, rowsPerSecond: (rows / floor.durationMs) * 1000, durationMs: floor.durationMs, wallMs: result.wallMs, maxRssKb: result.maxRssKb, cpuMs: result.cpuMs, files: landed.files, busyBefore };
}

async function measureSluice(csv: string, rows: number, round: number, server: Server, busyBefore: number): Promise<BulkRun> {
  const drop = resetDrop(server);
  const config = {
    sources: { orders: { type: 'file', path: csv, format: 'csv' } },
    destinations: { drop: { type: 'sftp', host: '127.0.0.1', port: server.port, username: server.username, password: server.password, directory: '/drop', file_name: 'orders-{run}-{index}.{ext}' } },
    activations: [{ name: 'orders_to_sftp', source: { $ref: '#/sources/orders' }, destination: { $ref: '#/destinations/drop' }, schedule: null }],
  };
  const { summaries, process: child } = await runSluiceCli({ config, timeoutMs: 600_000 });
  const summary = summaries[0];
  if (summary === undefined || summary.status !== 'succeeded' || summary.counters.delivered !== rows || summary.counters.read !== rows) {
    throw new Error(`sluice run ${summary?.status} (${describeExit(child)}): ${JSON.stringify(summary?.counters)} ${summary?.error ?? ''}\n${tail(child.stderr)}`);
  }
  const landed = await rowsLanded(drop);
  if (landed.rows !== rows) throw new Error(`sluice: ${landed.rows} rows landed in ${landed.files} files, expected ${rows}`);
  return { runner: 'sluice', round, rowsPerSecond: (rows / summary.durationMs) * 1000, durationMs: summary.durationMs, wallMs: child.wallMs, maxRssKb: child.maxRssKb, cpuMs: child.cpuMs, files: landed.files, busyBefore };
}

function describeRun(run: BulkRun, rows: number): string {
  return (
    `${run.runner.padEnd(6)} #${run.round + 1}: ${formatInt(run.rowsPerSecond)} rows/s, ${(run.durationMs / 1000).toFixed(2)} s (wall ${(run.wallMs / 1000).toFixed(2)} s), ` +
    `${run.files} file(s), CPU ${(run.cpuMs / 1000).toFixed(2)} s = ${((run.cpuMs * 1000) / rows).toFixed(1)} µs/row, peak RSS ${formatKbAsMb(run.maxRssKb)}, machine ${Math.round(run.busyBefore * 100)}% busy before`
  );
}

export async function runBulkSftpBench(options: { rows: number; repeats: number; machine: MachineInfo; quietWaitMs: number; log: (message: string) => void }): Promise<BulkSftpResult> {
  const csv = await ensureOrdersCsv(options.rows, options.log);
  mkdirSync(DATA_DIR, { recursive: true });
  const root = mkdtempSync(join(DATA_DIR, 'sftp-root-'));
  const server = await startServer(root);
  options.log(`sftp server: 127.0.0.1:${server.port} (pid ${server.process.pid}), serving ${root}`);
  const runs: BulkRun[] = [];
  const failures: BulkSftpResult['failures'][number][] = [];
  try {
    for (let round = 0; round < options.repeats; round++) {
      const order: Runner[] = round % 2 === 0 ? ['floor', 'sluice'] : ['sluice', 'floor'];
      for (const runner of order) {
        try {
          const busy = options.quietWaitMs > 0 ? await waitForQuiet(QUIET_THRESHOLD, options.quietWaitMs) : 0;
          const run = runner === 'floor' ? await measureFloor(csv.path, options.rows, round, server, busy) : await measureSluice(csv.path, options.rows, round, server, busy);
          runs.push(run);
          options.log(describeRun(run, options.rows));
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          failures.push({ runner, round, error: message });
          options.log(`${runner} #${round + 1}: FAILED: ${message}`);
        }
      }
    }
  } finally {
    server.process.kill();
    rmSync(root, { recursive: true, force: true });
  }
  return { machine: options.machine, rows: options.rows, csvBytes: csv.bytes, runs, failures };
}

function figures(result: BulkSftpResult) {
  const of = (runner: Runner) => result.runs.filter((run) => run.runner === runner);
  const floor = of('floor');
  const sluice = of('sluice');
  const floorRate = median(floor.map((run) => run.rowsPerSecond));
  const sluiceRate = median(sluice.map((run) => run.rowsPerSecond));
  const sluicePeak = Math.max(...sluice.map((run) => run.maxRssKb));
  const header = ['rows', 'floor runs', 'sluice runs', 'floor rows/s', 'sluice rows/s', 'sluice / floor', 'floor peak RSS', 'sluice peak RSS', 'floor CPU µs/row', 'sluice CPU µs/row'];
  const cpu = (runs: readonly BulkRun[]) => median(runs.map((run) => (run.cpuMs * 1000) / result.rows)).toFixed(1);
  const rows = [[formatCount(result.rows), String(floor.length), String(sluice.length), formatInt(floorRate), formatInt(sluiceRate), formatRatio(sluiceRate / floorRate), formatKbAsMb(median(floor.map((run) => run.maxRssKb))), formatKbAsMb(median(sluice.map((run) => run.maxRssKb))), cpu(floor), cpu(sluice)]];
  const pass = (ok: boolean) => (ok ? 'pass' : '**FAIL**');
  const targetHeader = ['target', formatCount(result.rows)];
  const targetRows = [
    [`Sluice ≥ ${formatInt(TARGETS.rowsPerSecond)} rows/s (median)`, `${pass(sluiceRate >= TARGETS.rowsPerSecond)} (${formatInt(sluiceRate)})`],
    [`Sluice peak RSS ≤ ${TARGETS.peakRssMb} MB (highest run)`, `${pass(sluicePeak <= TARGETS.peakRssMb * 1024)} (${formatKbAsMb(sluicePeak)})`],
  ];
  return { header, rows, targetHeader, targetRows };
}

export function textReport(result: BulkSftpResult): string {
  const t = figures(result);
  const broken = result.failures.length === 0 ? '' : `\n\nBROKEN RUNS:\n${result.failures.map((failure) => `- ${failure.runner} #${failure.round + 1}: ${failure.error}`).join('\n')}`;
  return `${textTable(t.header, t.rows)}\n\n${textTable(t.targetHeader, t.targetRows.map((row) => row.map((cell) => cell.replaceAll('**', ''))))}${broken}`;
}

export function markdownReport(result: BulkSftpResult, baselineKb: number): string {
  const t = figures(result);
  const perRun = result.runs.map((run) => `- ${describeRun(run, result.rows)}`).join('\n');
  const broken =
    result.failures.length === 0 ? '' : `\n**Broken runs** (left out of the figures):\n\n${result.failures.map((failure) => `- ${failure.runner} #${failure.round + 1}: ${failure.error.replaceAll('|', '\\|')}`).join('\n')}\n`;
  return `## file (CSV) → sftp (bulk)

Machine: ${describeMachine(result.machine)}. Reproduce with \`BENCH_ONLY=bulk-sftp npm run bench\` (\`BENCH_BULK_ROWS=100000\` for a quick try).

A CSV of ${formatCount(result.rows)} orders (${Math.round(result.csvBytes / 1e6)} MB) is dropped on an SFTP server — ssh2's server
(\`test/support/sftp-server.ts\`) in a process of its own on loopback, serving a temporary directory, password
login. **Sluice** is the real CLI (compiled): \`sluice run\` with a file source and the \`sftp\` destination at its
defaults — CSV files of 250k rows written locally while earlier ones upload (2 at once), each to \`.<name>.part\`
then renamed, with each file's job recorded before and after its upload. The **floor**
(\`bench/bulk-sftp-floor.ts\`) reads the same CSV with csv-parse, writes the rows to one local file and uploads it
with ssh2's \`fastPut\` — no overlap, no records of anything. Every run must land exactly every row in the
server's directory. rows/s = rows ÷ time from the start of reading to the last file in place (inside each
process); peak RSS = the kernel's maxRSS; CPU µs/row = the process's user + system CPU per row (the server's CPU
is not counted). Figures are medians.

${markdownTable(t.header, t.rows)}

An empty \`node\` process peaks at ${formatKbAsMb(baselineKb)} RSS here; the floor runs through tsx (~35 MB more).
Sluice is faster than this floor because it overlaps writing the next file with uploading the last ones, and its
CSV tokenizer is quicker than csv-parse.
${broken}
${markdownTable(t.targetHeader, t.targetRows)}

<details><summary>Every run</summary>

${perRun}

</details>`;
}

export function failuresOf(result: BulkSftpResult): number {
  const sluice = result.runs.filter((run) => run.runner === 'sluice');
  return result.failures.length + (sluice.length === 0 ? 1 : 0);
}
