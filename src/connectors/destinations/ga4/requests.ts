/**
 * Prepared events → Measurement Protocol requests. Events share a request when their request-level members
 * (identity, user_id, user_properties, consent, …) are the same; each group keeps the order of its records
 * and is cut into requests of at most 25 events and a body under 130 kB, as GA4 requires.
 */
import { LIMITS, type PreparedEvent } from './event.ts';

export interface Ga4Request {
  /** Positions, in the write's batch, of the records whose events the request carries, in order. */
  readonly indexes: readonly number[];
  readonly body: string;
}

/** A user's requests: sent one after the other, so their events reach GA4 in the order they were read. */
export type RequestChain = readonly Ga4Request[];

export interface Planned {
  readonly chains: readonly RequestChain[];
  /** Records whose event alone makes a body GA4 would refuse: index → reason. */
  readonly tooLarge: ReadonlyMap<number, string>;
}

/** `{members,"events":[…],"validation_behavior":…}` — members first, as GA4's own examples lay a request out. */
export function requestBody(requestMembers: string, eventJsons: readonly string[], validationBehavior: string | undefined): string {
  const behavior = validationBehavior === undefined ? '' : `,"validation_behavior":${JSON.stringify(validationBehavior)}`;
  return `{${requestMembers},"events":[${eventJsons.join(',')}]${behavior}}`;
}

export function planRequests(events: ReadonlyMap<number, PreparedEvent>, validationBehavior: string | undefined, maxBytes: number = LIMITS.bodyBytes): Planned {
  const groups = new Map<string, number[]>();
  for (const [index, event] of events) {
    const group = groups.get(event.requestMembers);
    if (group === undefined) groups.set(event.requestMembers, [index]);
    else group.push(index);
  }
  const chains: RequestChain[] = [];
  const tooLarge = new Map<number, string>();
  for (const [members, indexes] of groups) {
    const emptyBytes = Buffer.byteLength(requestBody(members, [], validationBehavior));
    const chain: Ga4Request[] = [];
    let current: number[] = [];
    let jsons: string[] = [];
    let bytes = emptyBytes;
    const flush = () => {
      if (current.length > 0) chain.push({ indexes: current, body: requestBody(members, jsons, validationBehavior) });
      current = [];
      jsons = [];
      bytes = emptyBytes;
    };
    for (const index of indexes) {
      const json = (events.get(index) as PreparedEvent).eventJson;
      const size = Buffer.byteLength(json);
      if (emptyBytes + size >= maxBytes) {
        tooLarge.set(index, `the event makes a request of ${emptyBytes + size} bytes: GA4 takes request bodies smaller than 130 kB`);
        continue;
      }
      // +1 for the comma between events.
      if (current.length === LIMITS.eventsPerRequest || bytes + size + (current.length > 0 ? 1 : 0) >= maxBytes) flush();
      bytes += size + (current.length > 0 ? 1 : 0);
      current.push(index);
      jsons.push(json);
    }
    flush();
    if (chain.length > 0) chains.push(chain);
  }
  return { chains, tooLarge };
}
