/**
 * Barriers in a record stream: a point that must not be passed until every record before it has settled
 * (delivered or rejected). Singer's ACTIVATE_VERSION needs one — applying it before the buffered records
 * are written is the ordering bug of meltano/sdk#2103.
 *
 * A barrier rides through the engine as a marker *state*: the engine commits states strictly in order
 * once everything before them has settled, so the commit of the marker is the moment the barrier is
 * reached. The protocol target's commit hook calls `release`, and skips markers when echoing states.
 */
import type { State } from '../sdk/source.ts';

export interface Barrier {
  /** Yield this as a `state` message where the barrier stands. */
  readonly marker: State;
  /** Resolves with the number of records before the barrier, all settled; or `undefined` if the run ended first. */
  readonly reached: Promise<number | undefined>;
}

export class Barriers {
  private readonly waiting = new Map<State, (recordsBefore: number | undefined) => void>();
  /** Records covered by every state committed so far: what lies before the next marker. */
  private settled = 0;

  create(label: string): Barrier {
    const marker: State = { sluice_barrier: label };
    const reached = new Promise<number | undefined>((resolve) => this.waiting.set(marker, resolve));
    return { marker, reached };
  }

  /** Call for every committed state, in order; true when it was a marker (which must not be echoed). */
  committed(state: State, recordCount: number): boolean {
    this.settled += recordCount;
    const resolve = this.waiting.get(state);
    if (resolve === undefined) return false;
    this.waiting.delete(state);
    resolve(this.settled);
    return true;
  }

  /** The run is over: no barrier still waiting will be reached; let their waiters go. */
  releaseAll(): void {
    for (const resolve of this.waiting.values()) resolve(undefined);
    this.waiting.clear();
  }
}
