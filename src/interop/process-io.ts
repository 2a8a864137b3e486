/**
 * The process side of protocol commands: stdio as a ProtocolIo, Ctrl-C handling (the first SIGINT stops
 * reading and drains batches in flight, so echoed states stay true; a second exits at once), and reading
 * the JSON files they are given (catalogs, state) with numbers kept exact.
 */
import { readFile } from 'node:fs/promises';
import { type JsonValue, parseJson } from '../protocol/json.ts';
import type { ConfigIssue } from '../sdk/spec.ts';
import type { ProtocolIo } from './io.ts';

export function processIo(errors: (line: string) => void): ProtocolIo {
  return { input: process.stdin, output: process.stdout, errors };
}

export async function withInterrupt<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await run(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
    // Whatever was not read from stdin is not wanted; an open stdin would keep the process alive.
    process.stdin.destroy();
  }
}

export async function readJsonFile(path: string): Promise<{ ok: true; value: JsonValue } | { ok: false; issues: ConfigIssue[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, issues: [{ path: '(file)', message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }] };
  }
  try {
    return { ok: true, value: parseJson(text) };
  } catch (error) {
    return { ok: false, issues: [{ path: '(file)', message: `not valid JSON: ${(error as Error).message}` }] };
  }
}
