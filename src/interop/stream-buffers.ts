/**
 * Optional per-stream buffering for Singer targets (`--batch-size-rows N`), the way Singer SDK and
 * pipelinewise targets buffer: each stream's records are held until the stream has N of them (or the input
 * ends, or an ACTIVATE_VERSION arrives), then passed on together. A STATE is passed on only once every record
 * that came before it has been passed on; when several states become safe at the same flush, only the newest
 * goes on — the older ones are superseded. That is why such targets echo fewer states than they receive:
 * with N = 3, meltano/sdk's multiple_state_messages stream echoes exactly its 1st, 3rd and 5th states.
 *
 * Records of one stream keep their order; records of different streams may be reordered, which no
 * Singer target may rely on anyway. Memory: at most N records per stream.
 */
import type { SourceMessage, State } from '../sdk/source.ts';

type RecordMessage = Extract<SourceMessage, { type: 'record' }>;

interface QueuedState {
  readonly state: State;
  /** Records added per stream when the state arrived: it is safe once each has been flushed that far. */
  readonly watermark: ReadonlyMap<string, number>;
}

export class StreamBuffers {
  private readonly buffers = new Map<string, RecordMessage[]>();
  private readonly added = new Map<string, number>();
  private readonly flushed = new Map<string, number>();
  private readonly states: QueuedState[] = [];

  constructor(private readonly rows: number) {}

  record(message: RecordMessage, out: SourceMessage[]): void {
    let buffer = this.buffers.get(message.stream);
    if (buffer === undefined) {
      buffer = [];
      this.buffers.set(message.stream, buffer);
    }
    buffer.push(message);
    this.added.set(message.stream, (this.added.get(message.stream) ?? 0) + 1);
    if (buffer.length >= this.rows) this.flushStream(message.stream, buffer, out);
  }

  state(state: State, out: SourceMessage[]): void {
    this.states.push({ state, watermark: new Map(this.added) });
    this.passSafeStates(out);
  }

  /** Pass everything on: at the end of input, and before a barrier. */
  flushAll(out: SourceMessage[]): void {
    // States are passed once, after every stream: one flush point, so only the newest safe state goes on.
    for (const [stream, buffer] of this.buffers) if (buffer.length > 0) this.moveOut(stream, buffer, out);
    this.passSafeStates(out);
  }

  private flushStream(stream: string, buffer: RecordMessage[], out: SourceMessage[]): void {
    this.moveOut(stream, buffer, out);
    this.passSafeStates(out);
  }

  private moveOut(stream: string, buffer: RecordMessage[], out: SourceMessage[]): void {
    for (const message of buffer) out.push(message);
    buffer.length = 0;
    this.flushed.set(stream, this.added.get(stream) ?? 0);
  }

  private passSafeStates(out: SourceMessage[]): void {
    let newest: State | undefined;
    while (this.states.length > 0 && this.isSafe(this.states[0]!.watermark)) newest = this.states.shift()!.state;
    if (newest !== undefined) out.push({ type: 'state', state: newest });
  }

  private isSafe(watermark: ReadonlyMap<string, number>): boolean {
    for (const [stream, count] of watermark) if ((this.flushed.get(stream) ?? 0) < count) return false;
    return true;
  }
}
