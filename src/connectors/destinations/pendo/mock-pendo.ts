/**
 * A local stand-in for Pendo's metadata API — a real node:http server for tests and benchmarks — that
 * behaves as Pendo documents it:
 *
 * - `POST /api/v1/metadata/{visitor|account}/{agent|custom}/value[?create=true]` takes a JSON array of
 *   `{ visitorId | accountId, values: { field: value } }` with `content-type: application/json` and
 *   `x-pendo-integration-key`, and answers 200 `{ total, updated, failed, missing: [ids], errors: [...] }`
 *   where total = updated + failed and failed = |missing| + |errors|. Ids it does not know are `missing`
 *   unless `?create=true`. A custom field must be declared (Settings > Data Mappings in Pendo) and hold a
 *   value of its type; an agent field is created by its first write, as Pendo's agent does.
 *   Sources: Pendo's API reference, https://engageapi.pendo.io/ (formerly developers.pendo.io/docs), whose
 *   status texts and count rules public Pendo clients quote word for word; `?create=true`:
 *   https://support.pendo.io/hc/en-us/community/posts/9320635116315; custom fields are added before
 *   they take values: https://support.pendo.io/hc/en-us/articles/19638682125595.
 * - 400 "The format is unacceptable due to malformed JSON or missing field mappings." for a body that is
 *   not such an array (or not sent as JSON); 408 "The call took too long and timed out." for a call Pendo
 *   ends — Pendo allows any number of records but limits a call to five minutes (`slow` simulates it).
 * - `GET /api/v1/metadata/schema/{visitor|account}`: the fields of each group, `{ group: { field: { Type,
 *   DisplayName } } }` — the read Syncari's and other Pendo clients use to list fields.
 * - 429 with Retry-After past a configured rate. Pendo throttles with 429 (leaky bucket, per DataGrail's
 *   integration notes; 100 calls/s per endpoint per Hevo's); that it sends Retry-After is an assumption.
 * - A wrong or missing key gets 403 with an empty body (as observed against Pendo by other integrators);
 *   `authFailure` sets another status and body, e.g. a 401.
 * - `maxRecords` / `maxBytes` (413 when exceeded) are the mock's own, for proving a client keeps to its limits:
 *   Pendo publishes no record cap.
 *
 * What the exact wording of Pendo's per-record `errors` is, is not published: the mock writes strings
 * that name the id (`visitor v7: …`), or, with `unattributedErrors`, strings that name none.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockHttpServer } from '../../../testing/mock-http-server.ts';

export type MockKind = 'visitor' | 'account';
export type MockGroup = 'agent' | 'custom';
/** Pendo's metadata types as its schema names them; `time` takes epoch milliseconds or a date string. */
export type MockFieldType = 'string' | 'number' | 'boolean' | 'time';
type Values = Record<string, unknown>;

export interface MockPendoOptions {
  /** The key that is accepted; default `mock-pendo-integration-key`. */
  readonly integrationKey?: string;
  /** Visitor and account ids Pendo knows; others are `missing` (unless the call asks to create them). */
  readonly visitors?: Iterable<string>;
  readonly accounts?: Iterable<string>;
  /** Custom fields declared in Data Mappings, per kind: name → type. */
  readonly customFields?: Partial<Record<MockKind, Record<string, MockFieldType>>>;
  /** Largest call accepted, in elements and in bytes; larger ones get 413. Default: no limit, like Pendo. */
  readonly maxRecords?: number;
  readonly maxBytes?: number;
  /** Calls Pendo ends with 408: the next `calls` updates, and/or every update of at least `minRecords`, after `delayMs`. */
  readonly slow?: { readonly calls?: number; readonly minRecords?: number; readonly delayMs?: number };
  /** More than `requests` calls within `windowMs` get 429 with Retry-After (`retryAfterSeconds`, else when a slot frees). */
  readonly rateLimit?: { readonly requests: number; readonly windowMs: number; readonly retryAfterSeconds?: number };
  /** Status and body for a wrong or missing key; default 403 with an empty body. */
  readonly authFailure?: { readonly status: number; readonly body?: (sentKey: string) => string };
  /** Per-record error messages that name no id. */
  readonly unattributedErrors?: boolean;
}

export interface MockCall {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Elements in an update call's body, and the id of the first (to follow a batch through retries). */
  readonly records: number;
  readonly firstId: string | undefined;
  readonly bytes: number;
  readonly contentType: string | undefined;
  /** When the request arrived (epoch ms). */
  readonly at: number;
}

const BAD_FORMAT = 'The format is unacceptable due to malformed JSON or missing field mappings.';
const TIMED_OUT = 'The call took too long and timed out.';
const DEFAULT_KEY = 'mock-pendo-integration-key';

export class MockPendo extends MockHttpServer {
  readonly calls: MockCall[] = [];
  /** The body of the last request, as sent. */
  lastBody = '';
  /** Counters: calls answered 200, values set, 408s and 429s sent. */
  readonly stats = { updates: 0, valuesSet: 0, timedOut: 0, rateLimited: 0 };
  private readonly key: string;
  private readonly known: Record<MockKind, Set<string>>;
  private readonly stored: Record<MockKind, Map<string, Record<MockGroup, Values>>> = { visitor: new Map(), account: new Map() };
  private readonly agentFields: Record<MockKind, Map<string, MockFieldType>> = { visitor: new Map(), account: new Map() };
  private readonly recent: number[] = [];
  private slowCallsLeft: number;

  constructor(private readonly options: MockPendoOptions = {}) {
    super();
    this.key = options.integrationKey ?? DEFAULT_KEY;
    this.known = { visitor: new Set(options.visitors ?? []), account: new Set(options.accounts ?? []) };
    this.slowCallsLeft = options.slow?.calls ?? 0;
  }

  get integrationKey(): string {
    return this.key;
  }


  /** What is set on one visitor or account, per group; undefined when nothing was ever set on it. */
  valuesOf(kind: MockKind, id: string): Record<MockGroup, Values> | undefined {
    return this.stored[kind].get(id);
  }

  /** Every visitor or account with values set, and its values of one group. */
  all(kind: MockKind, group: MockGroup = 'custom'): Array<{ id: string; values: Values }> {
    return [...this.stored[kind]].map(([id, groups]) => ({ id, values: groups[group] }));
  }

  /** Make an id known, as if the agent had seen it. */
  addKnown(kind: MockKind, id: string): void {
    this.known[kind].add(id);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://mock');
    const method = req.method ?? 'GET';
    const body = await readBody(req, this.options.maxBytes);
    this.lastBody = body.text;
    const record = (status: number, elements?: readonly Element[]) => {
      const peeked = elements ?? (method === 'POST' ? peekElements(body.text) : undefined);
      const firstId = peeked?.[0]?.id;
      this.calls.push({ method, path: url.pathname + url.search, status, records: peeked?.length ?? 0, firstId, bytes: body.bytes, contentType: req.headers['content-type'], at });
    };

    const wait = this.throttle();
    if (wait !== undefined) {
      this.stats.rateLimited++;
      record(429);
      res.writeHead(429, { 'retry-after': String(wait), 'content-type': 'text/plain' }).end('Too Many Requests');
      return;
    }
    const sentKey = header(req, 'x-pendo-integration-key');
    if (sentKey !== this.key) {
      const failure = this.options.authFailure ?? { status: 403 };
      record(failure.status);
      res.writeHead(failure.status, { 'content-type': 'text/plain' }).end(failure.body?.(sentKey ?? '') ?? '');
      return;
    }

    const schema = /^\/api\/v1\/metadata\/schema\/(visitor|account)$/.exec(url.pathname);
    if (method === 'GET' && schema !== null) {
      record(200);
      json(res, 200, this.schemaOf(schema[1] as MockKind));
      return;
    }
    const update = /^\/api\/v1\/metadata\/(visitor|account)\/(agent|custom)\/value$/.exec(url.pathname);
    if (method !== 'POST' || update === null) {
      record(404);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
      return;
    }
    if (body.tooLarge) {
      record(413);
      res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end(`Payload Too Large: more than ${this.options.maxBytes} bytes`);
      return;
    }
    const elements = parseElements(body.text, header(req, 'content-type'), update[1] as MockKind);
    if (elements === undefined) {
      record(400);
      res.writeHead(400, { 'content-type': 'text/plain' }).end(BAD_FORMAT);
      return;
    }
    if (this.options.maxRecords !== undefined && elements.length > this.options.maxRecords) {
      record(413, elements);
      res.writeHead(413, { 'content-type': 'text/plain' }).end(`Payload Too Large: more than ${this.options.maxRecords} records`);
      return;
    }
    if (this.isSlow(elements.length)) {
      await sleep(this.options.slow?.delayMs ?? 20);
      this.stats.timedOut++;
      record(408, elements);
      res.writeHead(408, { 'content-type': 'text/plain' }).end(TIMED_OUT);
      return;
    }
    record(200, elements);
    this.stats.updates++;
    json(res, 200, this.apply(update[1] as MockKind, update[2] as MockGroup, url.searchParams.get('create') === 'true', elements));
  }

  /** Seconds to wait when this request is over the rate, else undefined (and the request is counted). */
  private throttle(): number | undefined {
    const limit = this.options.rateLimit;
    if (limit === undefined) return undefined;
    const now = Date.now();
    while (this.recent.length > 0 && this.recent[0]! <= now - limit.windowMs) this.recent.shift();
    if (this.recent.length >= limit.requests) return limit.retryAfterSeconds ?? Math.max(1, Math.ceil((this.recent[0]! + limit.windowMs - now) / 1000));
    this.recent.push(now);
    return undefined;
  }

  private isSlow(records: number): boolean {
    const slow = this.options.slow;
    if (slow === undefined) return false;
    if (this.slowCallsLeft > 0) {
      this.slowCallsLeft--;
      return true;
    }
    return slow.minRecords !== undefined && records >= slow.minRecords;
  }

  private apply(kind: MockKind, group: MockGroup, create: boolean, elements: readonly Element[]) {
    const missing: string[] = [];
    const errors: string[] = [];
    let updated = 0;
    for (const { id, values } of elements) {
      if (!this.known[kind].has(id)) {
        if (!create) {
          missing.push(id);
          continue;
        }
        this.known[kind].add(id);
      }
      const problem = this.problemWith(kind, group, values);
      if (problem !== undefined) {
        errors.push(this.options.unattributedErrors ? problem : `${kind} ${id}: ${problem}`);
        continue;
      }
      const stored = this.stored[kind].get(id) ?? { agent: {}, custom: {} };
      Object.assign(stored[group], values);
      this.stored[kind].set(id, stored);
      if (group === 'agent') for (const [name, value] of Object.entries(values)) if (!this.agentFields[kind].has(name)) this.agentFields[kind].set(name, typeOf(value));
      this.stats.valuesSet += Object.keys(values).length;
      updated++;
    }
    return { total: elements.length, updated, failed: missing.length + errors.length, missing, errors };
  }

  /** Why these values cannot be set, or undefined. The first problem only, as one message. */
  private problemWith(kind: MockKind, group: MockGroup, values: Values): string | undefined {
    for (const [name, value] of Object.entries(values)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `field "${name}" is not a valid metadata field name`;
      if (group === 'agent') continue;
      const type = this.options.customFields?.[kind]?.[name];
      if (type === undefined) return `field "${name}" is not a custom ${kind} field (add it under Settings > Data Mappings)`;
      if (value !== null && !fits(type, value)) return `value for field "${name}" must be of type ${type}`;
    }
    return undefined;
  }

  private schemaOf(kind: MockKind) {
    const describe = (fields: Iterable<[string, MockFieldType]>) =>
      Object.fromEntries([...fields].map(([name, type]) => [name, { Type: type, DisplayName: name, isPerApp: false }]));
    return {
      auto: describe([['id', 'string'], ['lastvisit', 'time']]),
      agent: describe(this.agentFields[kind]),
      custom: describe(Object.entries(this.options.customFields?.[kind] ?? {})),
    };
  }
}

/** Start a mock Pendo on a free loopback port. */
export function startMockPendo(options: MockPendoOptions = {}): Promise<MockPendo> {
  return new MockPendo(options).start();
}

interface Element {
  readonly id: string;
  readonly values: Values;
}

/** The elements of an update body, or undefined when it is not what Pendo takes (→ 400). */
function parseElements(text: string, contentType: string | undefined, kind: MockKind): Element[] | undefined {
  if (!/^application\/json\b/i.test(contentType ?? '')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const idField = kind === 'visitor' ? 'visitorId' : 'accountId';
  const elements: Element[] = [];
  for (const item of parsed) {
    if (item === null || typeof item !== 'object') return undefined;
    const { [idField]: id, values } = item as Record<string, unknown>;
    if (typeof id !== 'string' || id === '' || values === null || typeof values !== 'object' || Array.isArray(values)) return undefined;
    elements.push({ id, values: values as Values });
  }
  return elements;
}

/** Best effort, for the call log only: the elements of a body that was not (or not yet) parsed properly. */
function peekElements(text: string): Array<{ id: string }> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return undefined;
    return parsed.map((item) => {
      const { visitorId, accountId } = (item ?? {}) as Record<string, unknown>;
      return { id: String(visitorId ?? accountId ?? '') };
    });
  } catch {
    return undefined;
  }
}

function fits(type: MockFieldType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'time':
      return typeof value === 'number' || (typeof value === 'string' && !Number.isNaN(Date.parse(value)));
  }
}

function typeOf(value: unknown): MockFieldType {
  return typeof value === 'number' ? 'number' : typeof value === 'boolean' ? 'boolean' : 'string';
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

/** The request body, read up to `maxBytes` (beyond it the rest is drained unread and `tooLarge` set). */
async function readBody(req: IncomingMessage, maxBytes: number | undefined): Promise<{ text: string; bytes: number; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    if (maxBytes === undefined || bytes <= maxBytes) chunks.push(buffer);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), bytes, tooLarge: maxBytes !== undefined && bytes > maxBytes };
}
