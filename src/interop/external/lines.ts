/**
 * A child's stdout as numbered line batches (see protocol/lines.ts) that end early when `signal` aborts:
 * a source waiting for a silent child must still return promptly when the run is cancelled. The caller
 * stops the child; the abandoned read ends when its stdout closes.
 */
import type { Readable } from 'node:stream';
import { type LineBatch, readLines } from '../../protocol/lines.ts';

export async function* childLines(stdout: Readable, signal: AbortSignal): AsyncGenerator<LineBatch> {
  if (signal.aborted) return;
  const iterator = readLines(stdout)[Symbol.asyncIterator]();
  const aborted = new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
  let done = false;
  try {
    while (true) {
      // One race per chunk of output, not per line: cheap on the hot path.
      const next = await Promise.race([iterator.next(), aborted]);
      if (next === undefined) return;
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) iterator.return(undefined).catch(() => undefined);
  }
}
