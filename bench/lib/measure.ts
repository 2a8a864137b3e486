/**
 * Run a measured child process: `node [--import tsx] --import bench/report-rss.mjs <args>`, capturing stdout
 * and stderr, the wall time from spawn to exit, and the peak RSS and CPU time the child reported about itself
 * (the kernel's `maxRSS` and `resourceUsage()` CPU times, written by report-rss.ts on exit). Every measured process goes through here, so all of them are
 * measured the same way.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const REPORT_RSS = fileURLToPath(new URL('../report-rss.mjs', import.meta.url));

export interface MeasureOptions {
  /** Arguments after the node flags: a script path and its arguments. */
  readonly args: readonly string[];
  /** Extra node flags (e.g. `--cpu-prof`), placed before the script. */
  readonly nodeFlags?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Kill the child (SIGKILL) after this long; the result then has `timedOut: true`. */
  readonly timeoutMs?: number;
  /** Forward the child's stderr to ours as it arrives (progress, logs). */
  readonly echoStderr?: boolean;
  /**
   * Pipe this file into the child's stdin, through `cat` (a pipe, as `tap | target` has, without this
   * process copying the bytes). Without it the child's stdin is closed.
   */
  readonly stdinFile?: string;
  /** Called with each stdout chunk as it arrives (e.g. to timestamp lines); stdout is still collected. */
  readonly onStdout?: (chunk: Buffer) => void;
  /** Send the child's stdout to /dev/null (as `> /dev/null`): nothing collected, `stdout` is ''. */
  readonly discardStdout?: boolean;
}

export interface MeasureResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
  /** Peak resident set size in kilobytes; NaN when the child died before reporting it. */
  readonly maxRssKb: number;
  /** User + system CPU time of the whole child process (all threads, start-up included), in ms; NaN if unreported. */
  readonly cpuMs: number;
}

export async function runMeasured(options: MeasureOptions): Promise<MeasureResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const rssFile = join(dir, 'rss');
  try {
    const started = performance.now();
    // tsx only for TypeScript entry points: compiled code (the built CLI) runs without its loader thread.
    const loader = options.args.some((arg) => arg.endsWith('.ts')) ? ['--import', 'tsx'] : [];
    const feeder = options.stdinFile === undefined ? undefined : spawn('cat', [options.stdinFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    const child = spawn(process.execPath, [...loader, '--import', REPORT_RSS, ...(options.nodeFlags ?? []), ...options.args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env, BENCH_RSS_FILE: rssFile },
      stdio: [feeder?.stdout ?? 'ignore', options.discardStdout ? 'ignore' : 'pipe', 'pipe'],
    });
    // The child holds the pipe's read end now; ours would only keep `cat` from seeing a reader go away.
    feeder?.stdout?.destroy();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      options.onStdout?.(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      if (options.echoStderr) process.stderr.write(chunk);
    });
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
            feeder?.kill('SIGKILL');
          }, options.timeoutMs);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, sig) => resolve([code, sig]));
    });
    clearTimeout(timer);
    const wallMs = performance.now() - started;
    let maxRssKb = Number.NaN;
    let cpuMs = Number.NaN;
    try {
      const [rss = '', cpu = ''] = readFileSync(rssFile, 'utf8').split('\n');
      maxRssKb = Number(rss.trim());
      const [user = Number.NaN, system = Number.NaN] = cpu.trim().split(' ').map(Number);
      cpuMs = (user + system) / 1000;
    } catch {
      // the child died before its exit handler ran
    }
    return {
      exitCode,
      signal,
      timedOut,
      stdout: Buffer.concat(stdout).toString('utf8'),
      stderr: Buffer.concat(stderr).toString('utf8'),
      wallMs,
      maxRssKb,
      cpuMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A one-line description of how a child ended, for error messages. */
export function describeExit(result: MeasureResult): string {
  const oom = /heap out of memory|OOMErrorHandler/.test(result.stderr) ? ', JavaScript heap out of memory' : '';
  if (result.timedOut) return 'timed out';
  if (result.signal !== null) return `killed by ${result.signal}${oom}`;
  return `exit code ${result.exitCode}${oom}`;
}

/** The last lines of a child's stderr, for error messages. */
export function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
