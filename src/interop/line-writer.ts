/**
 * Protocol output: lines to a writable stream (stdout), buffered so a tap does not make one write call
 * per record, flushed at once where a reader is waiting (a state, a log line), and with backpressure —
 * `ready()` waits while the reader is behind, so memory stays bounded when the consumer is slow.
 * A reader that goes away (EPIPE: `| head`) does not crash the process: `broken` tells the producer to stop.
 */
import type { Writable } from 'node:stream';

/** Buffered text beyond this is written out at once. */
const FLUSH_BYTES = 64 * 1024;
/** A slow producer's buffered lines are written after this long anyway. */
const FLUSH_AFTER_MS = 100;

export class LineWriter {
  private parts: string[] = [];
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly stream: Writable,
    onBroken?: (error: Error) => void,
  ) {
    stream.on('error', (error: Error) => {
      this.failure ??= error;
      onBroken?.(error);
    });
  }

  /** Set once the stream failed (the reader went away); further lines are dropped. */
  get broken(): Error | undefined {
    return this.failure;
  }

  /** Queue a line; it is written with the next flush. */
  write(line: string): void {
    this.parts.push(line);
    this.size += line.length;
    if (this.size >= FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_AFTER_MS).unref();
  }

  /** Write a line and everything queued before it, now: for states and logs, which someone is waiting for. */
  writeNow(line: string): void {
    this.parts.push(line);
    this.flush();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.parts.length === 0) return;
    const text = `${this.parts.join('\n')}\n`;
    this.parts = [];
    this.size = 0;
    if (this.failure === undefined) this.stream.write(text);
  }

  /** Whether the reader is behind: the producer should `await ready()` before writing more. */
  get behind(): boolean {
    return this.stream.writableNeedDrain && this.failure === undefined;
  }

  /** Resolves when the stream can take more (at once unless the reader is behind). */
  async ready(): Promise<void> {
    if (!this.stream.writableNeedDrain || this.failure !== undefined) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
    });
  }

  /** Flush and wait until everything written so far has been handed to the OS. */
  async end(): Promise<void> {
    this.flush();
    if (this.failure !== undefined) return;
    await new Promise<void>((resolve) => this.stream.write('', () => resolve()));
  }
}
