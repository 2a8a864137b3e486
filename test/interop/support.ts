/**
 * For protocol tests: run `node bin/sluice.js …` as a child process with input piped on stdin, as Meltano
 * or Airbyte would — or, where a process adds nothing but seconds, in-process (`runMain`, `memoryIo`) —
 * and find the shared protocol fixtures. The fixtures live beside the repo
 * (../shared); without them the tests are skipped with a message — except under CI=true, where a missing
 * folder is an error, so CI can never pass by skipping.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli/main.ts';
import type { ProtocolIo } from '../../src/interop/io.ts';

const BIN = new URL('../../bin/sluice.js', import.meta.url).pathname;
const FIXTURES = new URL('../../../shared/fixtures/protocols/', import.meta.url).pathname;

export const fixturesPresent = existsSync(FIXTURES);
if (!fixturesPresent) {
  if (process.env.CI === 'true') throw new Error(`protocol fixtures not found at ${FIXTURES}: CI must have ../shared beside the repo`);
  console.warn(`protocol fixtures not found at ${FIXTURES}: skipping the tests that need them`);
}

export function fixture(relative: string): string {
  return join(FIXTURES, relative);
}

export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Text (or a file's bytes) to pipe to stdin; stdin is closed after it. */
  readonly stdin?: string | Buffer;
  readonly cwd?: string;
  /** Called with each chunk of stdout as it arrives, with its arrival time. */
  readonly onStdout?: (chunk: string, at: number) => void;
}

export function sluice(args: readonly string[], options: RunOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? process.cwd(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(chunk, Date.now());
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A child that exits before reading everything closes the pipe: that is its business, not an error here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}

/** `sluice <first> | sluice <second>`: two processes joined by a real pipe, as a shell would. */
export function sluicePipe(first: readonly string[], second: readonly string[]): Promise<{ first: Result; second: Result }> {
  const start = (args: readonly string[]) => spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const producer = start(first);
  const consumer = start(second);
  producer.stdin.end();
  producer.stdout.pipe(consumer.stdin);
  const collect = (child: ReturnType<typeof start>, stdout: boolean) =>
    new Promise<Result>((resolve, reject) => {
      let out = '';
      let err = '';
      if (stdout) child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout: out, stderr: err }));
    });
  return Promise.all([collect(producer, false), collect(consumer, true)]).then(([a, b]) => ({ first: a, second: b }));
}

export function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sluice-interop-'));
}

export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

export async function readJsonl(path: string): Promise<unknown[]> {
  return lines(await readFile(path, 'utf8')).map((line) => JSON.parse(line) as unknown);
}

/** Stack frames look like "    at fn (file:line:col)"; users must never see one. */
export const STACK_TRACE = /\n\s+at .+:\d+:\d+\)?/;

/** `sluice <args>` in this process, for commands that only print (spec, discover, config errors). */
export async function runMain(args: readonly string[]): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'sluice', ...args], { out: (text) => out.push(text), err: (text) => err.push(text) });
  return { code, stdout: out.map((text) => `${text}\n`).join(''), stderr: err.map((text) => `${text}\n`).join('') };
}

/** Stdio in memory for calling a protocol run directly: input to read, what it wrote to stdout and stderr. */
export function memoryIo(input: string | Buffer = ''): { io: ProtocolIo; stdout: () => string; stderr: string[] } {
  const output = new PassThrough();
  let stdout = '';
  output.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const stderr: string[] = [];
  return { io: { input: Readable.from([input]), output, errors: (line) => stderr.push(line) }, stdout: () => stdout, stderr };
}
