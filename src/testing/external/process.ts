/**
 * An external connector command under test: started through the shell (so `node my-target.js` or
 * `docker run …` work as typed) in a process group of its own, so that a kill -9 reaches the real program
 * and not only the shell. Stdout is read as lines; stdin is written with backpressure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface CommandRun {
  readonly lines: readonly string[];
  /** Resolves when a stdout line satisfies `match` (checked against earlier lines too), or undefined on exit. */
  waitForLine(match: (line: string) => boolean): Promise<string | undefined>;
  send(line: string): Promise<void>;
  end(): void;
  kill(): void;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function startCommand(command: string, args: readonly string[], cwd: string | undefined, onLine?: (line: string) => void): CommandRun {
  const quoted = args.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  const child: ChildProcess = spawn(`${command} ${quoted}`, { shell: true, detached: true, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let done = false;
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 20_000) stderr += chunk.toString();
  });
  // A target that exits early closes stdin; writing to it then must not crash the test run.
  child.stdin!.on('error', () => undefined);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    onLine?.(line);
    for (const wake of waiters) wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => {
      done = true;
      for (const wake of waiters) wake();
      resolve({ code, signal, stderr });
    });
  });
  return {
    lines,
    exited,
    waitForLine(match) {
      return new Promise((resolve) => {
        const test = () => {
          const found = lines.find(match);
          if (found !== undefined || done) {
            waiters.delete(test);
            resolve(found);
          }
        };
        waiters.add(test);
        test();
      });
    },
    async send(line) {
      const stdin = child.stdin!;
      if (done || stdin.destroyed) return;
      if (!stdin.write(`${line}\n`)) await Promise.race([once(stdin, 'drain'), exited]);
    },
    end: () => child.stdin!.end(),
    kill() {
      if (child.pid === undefined || done) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    },
  };
}
