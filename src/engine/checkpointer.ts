/**
 * Decides when state may advance. Source state messages cut the record stream into segments; a state is
 * committed only once every record before it has a final outcome (delivered or rejected), and states are
 * committed in the order they arrived — the Singer/Airbyte rule. Records settle in any order (batches run
 * concurrently and retry); the committed state never overtakes an unsettled record.
 *
 * Cost is O(1) per record: a counter per segment, not a set of record ids.
 */
import type { State } from '../sdk/source.ts';

interface Segment {
  pending: number;
  /** Records in this segment, settled or not: Airbyte reports it per state as `recordCount`. */
  records: number;
  /** The state that closes this segment; undefined for the open (last) segment. */
  state: State | undefined;
}

export class Checkpointer {
  private readonly segments: Segment[] = [{ pending: 0, records: 0, state: undefined }];
  /** Absolute id of segments[0]. */
  private base = 0;
  private committedState: State | undefined;
  private changed = false;

  constructor(initial: State | undefined, private readonly onCommit?: (state: State, recordCount: number) => void) {
    this.committedState = initial;
  }

  /** Register a record read from the source; returns the segment id to settle it with. */
  addRecord(): number {
    const last = this.segments[this.segments.length - 1]!;
    last.pending++;
    last.records++;
    return this.base + this.segments.length - 1;
  }

  /** Register a state message from the source: it covers every record added before it. */
  addState(state: State): void {
    this.segments[this.segments.length - 1]!.state = state;
    this.segments.push({ pending: 0, records: 0, state: undefined });
    this.advance();
  }

  /** A record of this segment reached a final outcome. */
  settle(segmentId: number): void {
    const segment = this.segments[segmentId - this.base];
    if (segment === undefined || segment.pending <= 0) throw new Error(`checkpointer: segment ${segmentId} settled too often`);
    segment.pending--;
    if (segmentId === this.base && segment.pending === 0) this.advance();
  }

  /** The newest state whose records have all settled (or the initial state). */
  get state(): State | undefined {
    return this.committedState;
  }

  /** Whether a new state was committed since the last call; resets the flag. */
  takeChanged(): boolean {
    const changed = this.changed;
    this.changed = false;
    return changed;
  }

  private advance(): void {
    let dropped = 0;
    while (dropped < this.segments.length - 1) {
      const head = this.segments[dropped]!;
      if (head.pending !== 0 || head.state === undefined) break;
      this.committedState = head.state;
      this.changed = true;
      this.onCommit?.(head.state, head.records);
      dropped++;
    }
    if (dropped > 0) {
      this.segments.splice(0, dropped);
      this.base += dropped;
    }
  }
}
