/**
 * Per-record outcomes. A destination's `write` returns exactly one outcome per record it was given, in the
 * same order. `delivered` and `rejected` are final; `retry` sends the record round again (after `notBefore`,
 * an epoch-ms time, when the peer asked for a pause) until the run's retry budget is spent, after which the
 * engine turns it into `rejected` with the last reason.
 */
export type Outcome =
  | { readonly status: 'delivered' }
  | { readonly status: 'rejected'; readonly reason: string }
  | { readonly status: 'retry'; readonly reason: string; readonly notBefore?: number };

const DELIVERED: Outcome = Object.freeze({ status: 'delivered' });

export function delivered(): Outcome {
  return DELIVERED;
}

export function rejected(reason: string): Outcome {
  return { status: 'rejected', reason };
}

export function retry(reason: string, notBefore?: number): Outcome {
  return notBefore === undefined ? { status: 'retry', reason } : { status: 'retry', reason, notBefore };
}

/** The same outcome for every record of a batch, for APIs that accept or refuse a batch whole. */
export function allOutcomes(count: number, outcome: Outcome): Outcome[] {
  return new Array<Outcome>(count).fill(outcome);
}
