/**
 * Checking and normalising what tracking clients send, the way Segment's HTTP Tracking API defines it:
 *
 * - a single-event route (`/v1/track`, …) takes one event whose type is the route's; `/v1/batch` takes
 *   `{ batch: [event, …], context?, integrations?, sentAt?, writeKey? }`, each event naming its `type`;
 *   the batch's `context` and `integrations` are merged into each event (the event's own keys win);
 * - every event needs `userId` or `anonymousId` (a non-empty string, or a number as older libraries send);
 *   `track` needs `event`, `group` needs `groupId`, `alias` needs `previousId`;
 * - at most 32 KB per event and 500 KB per batch (bytes of JSON, after decompression);
 * - `messageId` is generated when absent; `receivedAt` is the server's clock; `originalTimestamp` is the
 *   client's event time (`originalTimestamp`, else `timestamp`) and `timestamp` is corrected for the
 *   client's clock: receivedAt − (sentAt − originalTimestamp) when the client sent `sentAt`.
 * What is refused, and what is rejected:
 * - the request is refused whole (400, every problem listed by path) when it is not what the route takes
 *   (malformed, not an object, no `batch` array, a batch-level `context`/`integrations`/`sentAt` of the
 *   wrong kind) or breaks a size limit (an event over 32 KB, the batch over 500 KB): nothing is stored;
 * - in a batch, an event that breaks a per-event rule (no userId/anonymousId, a track without `event`, an
 *   unknown `type`, …) is rejected alone: the rest of the batch is accepted, and the rejected events are
 *   returned (`rejected`, each with its index and reason) and kept with their reason (the event rejects
 *   ledger). Segment's API also accepts such a batch and drops the bad events, but silently; client
 *   libraries do not resend a batch refused with a 400, so refusing it whole would lose its good events.
 * - a single-event route refuses a bad event with a 400: the caller holds that one event and its reason.
 */
import { randomUUID } from 'node:crypto';

export const EVENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
const TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);

export const MAX_EVENT_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;
const MAX_MESSAGE_ID = 200;

export interface Issue {
  readonly path: string;
  readonly message: string;
}

export interface NormalizedRequest {
  /** `writeKey` from the body, when the client put it there. */
  readonly writeKey: string | undefined;
  /** Each accepted event: its messageId and its JSON text, ready for the log. */
  readonly events: LogEntry[];
  /** Events of the batch rejected by a per-event rule, as sent. */
  readonly rejected: RejectedEvent[];
}

export interface RejectedEvent {
  /** Its index in the batch. */
  readonly index: number;
  /** `batch[3]`. */
  readonly path: string;
  /** Every problem, `batch[3].event: …; …`. */
  readonly reason: string;
  /** The event as the client sent it (any JSON value). */
  readonly event: unknown;
}

export type NormalizeResult = ({ readonly ok: true } & NormalizedRequest) | { readonly ok: false; readonly error: string; readonly issues: Issue[] };

type Json = Record<string, unknown>;

export interface LogEntry {
  readonly messageId: string;
  readonly json: string;
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * `route` is `batch` or an event type; `bytes` is the decompressed body's size. `body` is completed in
 * place (it must not be used afterwards); `reparse` gives a fresh parse of the body as sent, used only to
 * measure an event whose stored form is over 32 KB (default: a deep copy taken up front).
 */
export function normalizeRequest(route: 'batch' | EventType, body: unknown, bytes: number, receivedAt: Date = new Date(), reparse?: () => unknown): NormalizeResult {
  let pristine: unknown;
  // (a body of at most 32 KB holds no event over it: nothing to keep)
  const copy = reparse === undefined && bytes > MAX_EVENT_BYTES ? structuredClone(body) : undefined;
  const sent = reparse ?? (() => copy);
  /** Bytes of the event at `index` (or of the single event) as the client sent it. */
  const sentBytes = (index: number | undefined): number => {
    pristine ??= sent();
    const value = index === undefined ? pristine : (pristine as { batch: unknown[] }).batch[index];
    return Buffer.byteLength(JSON.stringify(value));
  };
  const received = receivedAt.toISOString();
  const receivedMs = receivedAt.getTime();
  if (route !== 'batch') {
    if (bytes > MAX_EVENT_BYTES) return refuse(`the event is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES} (32 KB)`, [{ path: 'body', message: 'over 32 KB' }]);
    if (!isObject(body)) return refuse('the body must be a JSON object (one event)', [{ path: 'body', message: 'not a JSON object' }]);
    const issues: Issue[] = [];
    const writeKey = stringOrUndefined(body.writeKey); // (taken before the event, completed in place, drops it)
    const entry = normalizeEvent(body, route, undefined, received, receivedMs, 'body', issues, () => sentBytes(undefined));
    if (issues.length > 0 || entry === undefined || entry === TOO_LARGE) return refuse(summary(issues), issues);
    return { ok: true, writeKey, events: [entry], rejected: [] };
  }
  if (bytes > MAX_BATCH_BYTES) return refuse(`the batch is ${bytes} bytes; the limit is ${MAX_BATCH_BYTES} (500 KB)`, [{ path: 'body', message: 'over 500 KB' }]);
  if (!isObject(body)) return refuse('the body must be a JSON object with a "batch" array', [{ path: 'body', message: 'not a JSON object' }]);
  const batch = body.batch;
  if (!Array.isArray(batch)) return refuse('the body must carry a "batch" array of events', [{ path: 'batch', message: 'required: an array of events' }]);
  const issues: Issue[] = [];
  const shared: Shared = {
    context: body.context,
    integrations: body.integrations,
    sentAt: body.sentAt,
    sentMs: timeOf(body.sentAt),
  };
  if (shared.context !== undefined && !isObject(shared.context)) issues.push({ path: 'context', message: 'must be an object' });
  if (shared.integrations !== undefined && !isObject(shared.integrations)) issues.push({ path: 'integrations', message: 'must be an object' });
  if (shared.sentAt !== undefined && shared.sentAt !== null && shared.sentMs === undefined) issues.push({ path: 'sentAt', message: 'must be an ISO 8601 date-time' });
  const events: LogEntry[] = [];
  const rejected: RejectedEvent[] = [];
  for (let index = 0; index < batch.length; index++) {
    const item: unknown = batch[index];
    const path = `batch[${index}]`;
    const problems: Issue[] = [];
    if (!isObject(item)) problems.push({ path, message: 'must be an event object' });
    else if (typeof item.type !== 'string' || !TYPES.has(item.type)) problems.push({ path: `${path}.type`, message: `must be one of ${EVENT_TYPES.join(', ')}` });
    else {
      const entry = normalizeEvent(item, item.type as EventType, shared, received, receivedMs, path, problems, () => sentBytes(index));
      if (entry === TOO_LARGE) {
        issues.push(...problems); // a limit: the request is refused
        continue;
      }
      if (entry !== undefined) events.push(entry);
    }
    if (problems.length > 0) {
      rejected.push({ index, path, reason: problems.map((problem) => `${problem.path}: ${problem.message}`).join('; '), event: item });
    }
  }
  if (issues.length > 0) return refuse(summary(issues), issues);
  return { ok: true, writeKey: stringOrUndefined(body.writeKey), events, rejected };
}

/** normalizeEvent's answer for an event over 32 KB: a limit, which refuses the whole request. */
const TOO_LARGE = Symbol('too large');

interface Shared {
  readonly context: unknown;
  readonly integrations: unknown;
  readonly sentAt: unknown;
  /** `sentAt` parsed, once per batch. */
  readonly sentMs: number | undefined;
}

function normalizeEvent(
  raw: Json,
  type: EventType,
  shared: Shared | undefined,
  received: string,
  receivedMs: number,
  path: string,
  issues: Issue[],
  sentBytes: () => number,
): LogEntry | typeof TOO_LARGE | undefined {
  const before = issues.length;
  if (!isId(raw.userId) && !isId(raw.anonymousId)) issues.push({ path, message: 'needs a userId or an anonymousId' });
  if (type === 'track' && !(typeof raw.event === 'string' && raw.event !== '')) issues.push({ path: `${path}.event`, message: 'a track event needs its name in "event"' });
  if (type === 'group' && !isId(raw.groupId)) issues.push({ path: `${path}.groupId`, message: 'a group call needs a groupId' });
  if (type === 'alias' && !isId(raw.previousId)) issues.push({ path: `${path}.previousId`, message: 'an alias call needs a previousId' });
  const messageId = raw.messageId;
  if (messageId !== undefined && messageId !== null && !(typeof messageId === 'string' && messageId !== '' && messageId.length <= MAX_MESSAGE_ID)) {
    issues.push({ path: `${path}.messageId`, message: `must be a non-empty string of at most ${MAX_MESSAGE_ID} characters` });
  }
  for (const key of ['context', 'integrations', 'properties', 'traits'] as const) {
    if (raw[key] !== undefined && raw[key] !== null && !isObject(raw[key])) issues.push({ path: `${path}.${key}`, message: 'must be an object' });
  }
  const original = raw.originalTimestamp ?? raw.timestamp;
  const originalMs = timeOf(original);
  if (original !== undefined && original !== null && originalMs === undefined) issues.push({ path: `${path}.timestamp`, message: 'must be an ISO 8601 date-time' });
  const own = raw.sentAt !== undefined && raw.sentAt !== null;
  const sentAt = own ? raw.sentAt : shared?.sentAt;
  const sentMs = own ? timeOf(sentAt) : shared?.sentMs;
  if (own && sentMs === undefined) issues.push({ path: `${path}.sentAt`, message: 'must be an ISO 8601 date-time' });
  if (issues.length > before) return undefined;

  // The parsed request is ours alone: the event is completed in place rather than copied (copying each
  // event and its context measured ~3× the cost of parsing the whole body).
  const event = raw;
  // (`delete` would turn the object slow for the stringify below: only when there is something to delete)
  if (Object.hasOwn(event, 'writeKey')) delete event.writeKey;
  const id = typeof messageId === 'string' ? messageId : randomUUID();
  event.type = type;
  event.messageId = id;
  const context = merge(shared?.context, raw.context);
  if (context !== undefined) event.context = context;
  const integrations = merge(shared?.integrations, raw.integrations);
  if (integrations !== undefined) event.integrations = integrations;
  if (original !== undefined && original !== null) event.originalTimestamp = original;
  if (sentAt !== undefined && sentAt !== null) event.sentAt = sentAt;
  event.receivedAt = received;
  event.timestamp =
    originalMs === undefined ? received : sentMs === undefined ? new Date(originalMs).toISOString() : new Date(receivedMs - (sentMs - originalMs)).toISOString();
  const json = JSON.stringify(event);
  if (json.length > MAX_EVENT_BYTES / 3) {
    // Checked on what the client sent; only a stored form that may be near the limit (UTF-8: up to 3 bytes
    // per UTF-16 unit) is measured, and only one over it has the original measured too.
    const stored = Buffer.byteLength(json);
    if (stored > MAX_EVENT_BYTES) {
      const sent = sentBytes();
      if (sent > MAX_EVENT_BYTES) {
        issues.push({ path, message: `the event is ${sent} bytes; the limit is ${MAX_EVENT_BYTES} (32 KB)` });
        return TOO_LARGE;
      }
    }
  }
  return { messageId: id, json };
}

/** The event's own object completed in place with the batch's keys it lacks (its own keys win). */
function merge(shared: unknown, own: unknown): Json | undefined {
  if (!isObject(shared)) return isObject(own) ? own : undefined;
  if (!isObject(own)) return shared;
  for (const key in shared) if (!Object.hasOwn(own, key)) own[key] = shared[key];
  return own;
}

function isId(value: unknown): boolean {
  return (typeof value === 'string' && value.trim() !== '') || (typeof value === 'number' && Number.isFinite(value));
}

/** Epoch ms of an ISO 8601 date-time (a Date serialised by JSON), or undefined. */
function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function refuse(error: string, issues: Issue[]): NormalizeResult {
  return { ok: false, error, issues };
}

function summary(issues: readonly Issue[]): string {
  const first = issues[0];
  if (first === undefined) return 'invalid event';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return `${first.path}: ${first.message}${more}`;
}
