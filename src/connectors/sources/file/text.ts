/**
 * The decoded text of one file, chunk by chunk, in constant memory. Multi-byte characters split across
 * chunks are decoded correctly, a byte-order mark at the start is dropped, and a file that cannot be read
 * fails with an error naming it. When the run is cancelled the text simply ends: the engine, which owns
 * the signal, decides what a cancelled run means, and an error here would make it look failed.
 */
import { createReadStream } from 'node:fs';
import { SluiceError } from '../../../sdk/errors.ts';
import type { Encoding } from './spec.ts';

// Large enough that per-chunk costs vanish next to per-record ones, small enough to keep memory flat.
const CHUNK_BYTES = 256 * 1024;

export async function* readText(file: string, encoding: Encoding, signal: AbortSignal): AsyncGenerator<string> {
  const stream = createReadStream(file, { encoding, highWaterMark: CHUNK_BYTES });
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      if (signal.aborted) return;
      if (first) {
        first = false;
        if (chunk.charCodeAt(0) === 0xfeff) {
          yield chunk.slice(1);
          continue;
        }
      }
      yield chunk;
    }
  } catch (error) {
    if (error instanceof SluiceError) throw error;
    throw new SluiceError('SOURCE_FAILED', `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    stream.destroy();
  }
}
