/**
 * Starts the conformance child (see child.ts) and follows its JSON-line events, so a check can wait for
 * "a state was committed, then a write began" and kill -9 the process right there.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildEvent, ChildJob } from './job.ts';

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));

export interface ChildRun {
  readonly events: readonly ChildEvent[];
  /** Resolves with the first event (old or new) that satisfies `match`, or undefined when the child exits first. */
  waitFor(match: (event: ChildEvent, index: number) => boolean): Promise<ChildEvent | undefined>;
  kill(): void;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export async function startChild(job: ChildJob, dir: string, name: string): Promise<ChildRun> {
  const jobPath = join(dir, `${name}.job.json`);
  await writeFile(jobPath, JSON.stringify(job));
  const child: ChildProcess = spawn(process.execPath, [CHILD, jobPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: ChildEvent[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 20_000) stderr += chunk.toString();
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as ChildEvent);
    } catch {
      return; // a connector printing to stdout is not an event
    }
    for (const wake of waiters) wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const wake of waiters) wake();
      resolve({ code, signal, stderr });
    });
  });
  let closed = false;
  void exited.then(() => (closed = true));
  return {
    events,
    exited,
    kill: () => child.kill('SIGKILL'),
    waitFor(match) {
      return new Promise((resolve) => {
        const test = () => {
          const found = events.find(match);
          if (found !== undefined || closed || child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(test);
            resolve(found);
          }
        };
        waiters.add(test);
        test();
      });
    },
  };
}
