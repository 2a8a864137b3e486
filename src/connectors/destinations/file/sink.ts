/**
 * One output file: opened for append or overwrite, written through a stream, flushed to disk (fsync) on
 * close. A write resolves once its bytes are handed to the operating system, so "delivered" means the data
 * survives this process crashing; `close` makes it survive the machine crashing too.
 *
 * Overwrite writes a temporary file beside the target and renames it over the target on a clean close:
 * readers never see a half-written file, and a run that dies leaves the previous file whole.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import type { WriteStream } from 'node:fs';
import { SluiceError } from '../../../sdk/errors.ts';

export type FileMode = 'append' | 'overwrite';

export class FileSink {
  readonly path: string;
  private handle: FileHandle | undefined;
  private stream: WriteStream | undefined;
  private failure: Error | undefined;
  /** While overwriting: the temporary file that becomes `path` on close. */
  private temporary: string | undefined;

  constructor(path: string) {
    this.path = path;
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  /** Open the file; returns the size it had before this run wrote anything (0 when new or overwritten). */
  async open(mode: FileMode): Promise<number> {
    if (this.handle !== undefined) throw new Error(`${this.path} is already open`);
    try {
      await mkdir(dirname(this.path), { recursive: true });
      this.temporary = mode === 'overwrite' ? `${this.path}.${process.pid}.sluice-partial` : undefined;
      this.handle = await open(this.temporary ?? this.path, mode === 'append' ? 'a' : 'w');
      const { size } = await this.handle.stat();
      // flush: the stream fsyncs the file before it closes it, so close() returning means the data is on disk.
      this.stream = this.handle.createWriteStream({ flush: true });
      // Without a listener a failed write would crash the process; the write's own callback reports it.
      this.stream.on('error', (error: Error) => {
        this.failure = error;
      });
      return size;
    } catch (error) {
      await this.handle?.close().catch(() => undefined);
      this.handle = undefined;
      throw this.failed('open', error);
    }
  }

  /**
   * Resolves when the chunk has reached the file. Waiting for each write's callback is also the
   * backpressure: the stream never buffers more than the batches currently being written.
   */
  write(chunk: string): Promise<void> {
    const stream = this.stream;
    if (stream === undefined) return Promise.reject(new Error(`${this.path} is not open`));
    if (this.failure !== undefined) return Promise.reject(this.failed('write', this.failure));
    return new Promise((resolve, reject) => {
      stream.write(chunk, (error) => (error ? reject(this.failed('write', error)) : resolve()));
    });
  }

  /**
   * Flush, fsync and close; safe to call when never opened or already closed. When overwriting, the new
   * file replaces the old one only if `commit` is true; otherwise it is discarded.
   */
  async close(commit = true): Promise<void> {
    const { handle, stream } = this;
    this.handle = undefined;
    this.stream = undefined;
    if (handle === undefined || stream === undefined) return;
    const temporary = this.temporary;
    this.temporary = undefined;
    if (this.failure !== undefined) {
      // The failed write already reported itself; release the file without claiming it was flushed.
      stream.destroy();
      await finished(stream).catch(() => undefined);
      if (temporary !== undefined) await rm(temporary, { force: true });
      return;
    }
    try {
      stream.end();
      // Settles on 'close', which comes after the fsync and the close of the handle.
      await finished(stream);
      if (temporary !== undefined) {
        if (commit) await rename(temporary, this.path);
        else await rm(temporary, { force: true });
      }
    } catch (error) {
      throw this.failed('flush', error);
    }
  }

  private failed(action: string, error: unknown): SluiceError {
    const detail = error instanceof Error ? error.message : String(error);
    return new SluiceError('DESTINATION_FAILED', `cannot ${action} ${this.path}: ${detail}`, { cause: error });
  }
}
