/**
 * An external connector running as a child process, with what every protocol needs around it:
 *
 * - argv, never a shell: `command` is the program and its arguments, the protocol's own arguments are
 *   appended; the child inherits Sluice's environment plus the connector's `env`;
 * - its own process group, so stopping it reaches whatever it started (a wrapper script, `docker run`),
 *   and a Ctrl-C in Sluice's terminal does not kill it mid-batch (Sluice drains, then stops it itself);
 * - stderr as log lines (masked by `redact`): `warn` for lines that say ERROR, CRITICAL, FATAL or WARNING,
 *   `debug` for Singer METRIC lines, `info` otherwise — and the last 20 lines kept for error messages;
 * - `stop()`: SIGTERM, then SIGKILL after a grace period; children still running when Sluice exits are
 *   killed, so none outlives it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../../sdk/context.ts';
import type { Redact } from './redact.ts';

export interface ChildOptions {
  /** The program and its arguments (argv). */
  readonly command: readonly string[];
  /** The protocol's arguments, appended to `command`. */
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly logger: Logger;
  readonly redact: Redact;
  /** Pipe stdin (targets and destinations); otherwise the child reads an empty stdin. */
  readonly input?: boolean;
}

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  readonly error?: string;
}

/** How long a child may take to exit after SIGTERM before it gets SIGKILL. */
export const KILL_GRACE_MS = 2000;
const STDERR_TAIL = 20;
const WARN_LINE = /\b(CRITICAL|FATAL|ERROR|WARN|WARNING)\b/;
const METRIC_LINE = /\bMETRIC: /;

const running = new Set<ExternalProcess>();
let exitHookInstalled = false;

export class ExternalProcess {
  /** The program's file name, as errors and logs name it. */
  readonly name: string;
  readonly pid: number | undefined;
  readonly stdout: Readable;
  readonly stdin: Writable | null;
  readonly exited: Promise<ChildExit>;
  private readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private exit: ChildExit | undefined;

  constructor(private readonly options: ChildOptions) {
    const [program, ...rest] = options.command;
    this.name = programName(options.command);
    this.child = spawn(program ?? '', [...rest, ...options.args], {
      env: { ...process.env, ...options.env },
      stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.pid = this.child.pid;
    this.stdout = this.child.stdout!;
    this.stdin = this.child.stdin;
    // A child that exits while we write would otherwise crash Sluice with EPIPE; its exit is reported instead.
    this.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      const done = (exit: ChildExit) => {
        if (this.exit !== undefined) return;
        this.exit = exit;
        running.delete(this);
        this.stdin?.destroy();
        resolve(exit);
      };
      // 'error' also reports a failed kill; only without a pid does it mean the program never started.
      this.child.on('error', (error: NodeJS.ErrnoException) => {
        if (this.child.pid === undefined) done({ code: null, signal: null, error: error.code ?? error.message });
      });
      this.child.once('close', (code, signal) => done({ code, signal }));
    });
    createInterface({ input: this.child.stderr!, crlfDelay: Infinity }).on('line', (line) => this.stderrLine(line));
    running.add(this);
    installExitHook();
  }

  /** The exit, or undefined as soon as `signal` aborts (a child that closed stdout but lingers). */
  exitUnless(signal: AbortSignal): Promise<ChildExit | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const onAbort = () => resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      void this.exited.then((exit) => {
        signal.removeEventListener('abort', onAbort);
        resolve(exit);
      });
    });
  }

  /** The child's last meaningful stderr line (masked), for error messages. */
  lastError(): string | undefined {
    return this.tail.at(-1);
  }

  /** `tap-foo exited with code 3: <its last stderr line>`, and the like. */
  describeExit(exit: ChildExit): string {
    const last = this.lastError();
    const why =
      exit.error !== undefined
        ? `could not be started (${exit.error})`
        : exit.code !== null
          ? `exited with code ${exit.code}`
          : `was stopped by ${exit.signal ?? 'a signal'}`;
    return last === undefined ? `${this.name} ${why}` : `${this.name} ${why}: ${last}`;
  }

  /** Stop the child (SIGTERM, SIGKILL after `graceMs`) and wait for it; at once if it has exited. */
  async stop(graceMs = KILL_GRACE_MS): Promise<ChildExit> {
    if (this.exit !== undefined) return this.exit;
    // Its input stays open until it is gone: an end of input would tell it to finish normally.
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    const first = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (first !== 'late') return first;
    this.signal('SIGKILL');
    return this.exited;
  }

  /** Signal the whole process group; the child alone if the group is already gone. */
  signal(signal: NodeJS.Signals): void {
    if (this.pid === undefined || this.exit !== undefined) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      this.child.kill(signal);
    }
  }

  private stderrLine(raw: string): void {
    const line = this.options.redact(raw.trimEnd());
    if (line === '') return;
    const { logger } = this.options;
    const text = `${this.name}: ${line}`;
    if (METRIC_LINE.test(line)) {
      logger.debug({ pid: this.pid }, text);
      return;
    }
    this.tail.push(line);
    if (this.tail.length > STDERR_TAIL) this.tail.shift();
    if (WARN_LINE.test(line)) logger.warn({ pid: this.pid }, text);
    else logger.info({ pid: this.pid }, text);
  }
}

/** The program's file name, as errors and logs name it: `tap-github` for `/opt/bin/tap-github`. */
export function programName(command: readonly string[]): string {
  return basename(command[0] ?? '');
}

/** No child may outlive Sluice: they run in their own process groups, so nothing else would stop them. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.signal('SIGKILL');
  });
}
