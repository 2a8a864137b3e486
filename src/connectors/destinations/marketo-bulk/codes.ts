/**
 * What Marketo's error codes mean to a run. Marketo answers most errors with HTTP 200 and
 * `{ success: false, errors: [{ code, message }] }` (codes are quoted integers); this is the one place that
 * turns a code into a SluiceError with the right retry class — or, for 601/602, into "fetch a new token and
 * call again", which the client does before anything reaches here. Sources: README.md.
 */
import { SluiceError } from '../../../sdk/errors.ts';

export interface MarketoErrorEntry {
  readonly code: string;
  readonly message: string;
}

/** 601 access token invalid, 602 access token expired: renew the token and call again. */
export const TOKEN_CODES: ReadonlySet<string> = new Set(['601', '602']);

type Kind = 'transient' | 'auth' | 'config' | 'record';

interface Meaning {
  readonly kind: Kind;
  /** For transient codes: how long to hold back before calling again. */
  readonly waitMs?: number;
  /** What a user can do about it. */
  readonly hint?: string;
}

const MEANINGS: Readonly<Record<string, Meaning>> = {
  // Busy or briefly unavailable: call again later.
  '502': { kind: 'transient' },
  '604': { kind: 'transient', hint: 'Marketo timed the request out' },
  '606': { kind: 'transient', waitMs: 20_000, hint: 'Marketo allows 100 calls per 20 seconds per instance, shared with its other integrations' },
  '608': { kind: 'transient' },
  '611': { kind: 'transient' },
  '614': { kind: 'transient', hint: 'Marketo reports the subscription temporarily unreachable' },
  '615': { kind: 'transient', waitMs: 5_000, hint: 'Marketo serves at most 10 calls per instance at once' },
  '713': { kind: 'transient' },
  '719': { kind: 'transient' },
  '1016': { kind: 'transient', waitMs: 60_000, hint: 'Marketo queues at most 10 imports per instance; this one is retried once the queue drains (lower max_jobs if other integrations import too)' },
  '1019': { kind: 'transient', waitMs: 30_000, hint: 'another import into the same list is in progress' },
  '1029': { kind: 'transient', waitMs: 60_000, hint: 'too many bulk jobs are queued in the instance' },
  // The API user may not do this.
  '603': { kind: 'auth', hint: "the API user's role lacks a permission this needs (Read-Write Lead), or the instance only allows listed IP addresses" },
  // The call cannot work as configured: stop the run so someone looks.
  '605': { kind: 'config' },
  '607': { kind: 'config', hint: "the instance's daily API quota is used up; it resets at midnight US Central time" },
  '609': { kind: 'config' },
  '610': { kind: 'config', hint: 'check munchkin_id or base_url: the host has no such Marketo API' },
  '612': { kind: 'config' },
  '613': { kind: 'config' },
  '616': { kind: 'config' },
  '1008': { kind: 'config', hint: 'the API user has no access to that partition' },
  '1009': { kind: 'config', hint: 'set partition_name' },
  '1010': { kind: 'config' },
  '1011': { kind: 'config', hint: 'lookup_field must be a field Marketo can find leads by, such as email or id' },
  '1013': { kind: 'config', hint: 'no such static list (list_id) or import batch' },
};

/** A SluiceError that keeps the Marketo code it came from, for callers that treat one code specially. */
export class MarketoApiError extends SluiceError {
  readonly marketoCode: string;

  constructor(marketoCode: string, ...args: ConstructorParameters<typeof SluiceError>) {
    super(...args);
    this.marketoCode = marketoCode;
  }
}

/**
 * The error to throw for a `success: false` answer to `what` ("the import", "the status of batch 12").
 * Codes not listed are about the data sent (1xxx record-level codes such as 1003 "Invalid data", 1006
 * "Field not found", and anything new): those reject the rows involved, quoting Marketo.
 */
export function marketoError(what: string, errors: readonly MarketoErrorEntry[], now = Date.now()): MarketoApiError {
  const first = errors[0] ?? { code: '', message: 'no error given' };
  const meaning: Meaning = MEANINGS[first.code] ?? (/^5\d\d$/.test(first.code) ? { kind: 'transient' } : { kind: 'record' });
  const quoted = errors.map((error) => `${error.code === '' ? '' : `${error.code} `}${error.message}`.trim()).join('; ');
  const message = `Marketo refused ${what}: ${quoted || 'no error given'}${meaning.hint === undefined ? '' : ` (${meaning.hint})`}`;
  switch (meaning.kind) {
    case 'transient':
      return new MarketoApiError(first.code, 'DESTINATION_FAILED', message, { retryClass: 'transient', ...(meaning.waitMs === undefined ? {} : { notBefore: now + meaning.waitMs }) });
    case 'auth':
      return new MarketoApiError(first.code, 'AUTH_REFUSED', message);
    case 'config':
      return new MarketoApiError(first.code, 'DESTINATION_FAILED', message);
    case 'record':
      return new MarketoApiError(first.code, 'DESTINATION_REJECTED', message);
  }
}
