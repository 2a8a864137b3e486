/**
 * What a protocol run is handed and what it returns: stdin and stdout as streams (stdout belongs to the
 * protocol), a line sink for stderr, and an exit status the CLI turns into its exit code
 * (ok 0, failed 1, usage 2 — a config problem, interrupted 130).
 */
import type { Readable, Writable } from 'node:stream';
import type { RunSummary } from '../engine/types.ts';

export interface ProtocolIo {
  readonly input: Readable;
  readonly output: Writable;
  readonly errors: (line: string) => void;
}

export type ExitStatus = 'ok' | 'failed' | 'usage' | 'interrupted';

export function exitStatusOf(summary: RunSummary): ExitStatus {
  return summary.status === 'succeeded' ? 'ok' : summary.status === 'interrupted' ? 'interrupted' : 'failed';
}
