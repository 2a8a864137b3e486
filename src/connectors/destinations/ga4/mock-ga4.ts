/**
 * A local stand-in for GA4's Measurement Protocol — a real node:http server for tests and benchmarks —
 * that behaves as Google documents it. Its rules are written here from the documentation, separately from
 * the destination's own checks (event.ts), so a test against it is a test of both.
 *
 * - `POST /mp/collect?measurement_id=…&api_secret=…` (web stream) or `?firebase_app_id=…&api_secret=…`
 *   (app stream), a JSON body `{ client_id | app_instance_id, user_id?, timestamp_micros?, user_properties?,
 *   consent?, events: [{ name, params?, timestamp_micros? }], … }`. It always answers 2xx (204, no body):
 *   "The Measurement Protocol always returns a 2xx status code if the HTTP request was received. The
 *   Measurement Protocol does not return an error code if the payload data was malformed, or if the data in
 *   the payload was incorrect or was not processed by Google Analytics."
 *   (https://developers.google.com/analytics/devguides/collection/protocol/ga4/reference). What GA4 would
 *   keep is kept (`events`); what it would drop is listed in `dropped`, with why — which GA4 never says.
 * - A wrong or missing api_secret, or a stream id other than the mock's: answered 2xx like any request,
 *   every event dropped. The real endpoint gives no sign either, and neither does its validator: "The
 *   validation server does not validate api_secret or firebase_app_id"
 *   (https://developers.google.com/analytics/devguides/collection/protocol/ga4/validating-events).
 * - `POST /debug/mp/collect` with the same query and body: nothing is kept; the answer is 200
 *   `{ "validationMessages": [ { fieldPath, description, validationCode } ] }`, empty when valid, with the
 *   documented codes VALUE_INVALID, VALUE_REQUIRED, NAME_INVALID, NAME_RESERVED, VALUE_OUT_OF_BOUNDS,
 *   EXCEEDED_MAX_ENTITIES, NAME_DUPLICATED (same page).
 * - The rules, from Google's "Limitations" (…/ga4/sending-events) and "Reserved names" (…/ga4/reference,
 *   …/ga4/user-properties): at most 25 events a request, 25 parameters an event, 25 user properties; event
 *   and parameter names at most 40 characters, user property names 24, each starting with a letter and
 *   holding only letters, digits and underscores; reserved event, parameter and user property names and the
 *   prefixes google_, ga_, firebase_; a body smaller than 130 kB; events backdated at most 72 hours. Value
 *   lengths (parameter values 100 characters, user property values 36) are flagged only when the request
 *   asks for `validation_behavior: "ENFORCE_RECOMMENDATIONS"` ("RELAXED only rejects malformed requests").
 * - Messages as GA4 words them where Google or its clients quote them: `events` + "Event at index: [0] has
 *   invalid name [_badEventName]. Names must start with an alphabetic character." (NAME_INVALID, Google's
 *   example); `client_id` + "Measurement requires a client_id." (VALUE_REQUIRED, quoted by a public client's
 *   tests). The other descriptions are the mock's own wording; their field paths follow the same scheme
 *   (`events` with "Event at index: [i]" for event names, `events[i].params.<name>` for parameters).
 * - Assumed, not documented: that GA4 keeps the valid events of a request and drops only the faulty ones,
 *   and drops the whole request when a request-level field (identity, user properties, size) is at fault.
 * - 429/5xx: GA4 documents none; `failNext` makes the next requests answer one (with Retry-After), to test
 *   that a client retries.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockHttpServer } from '../../../testing/mock-http-server.ts';

export type MockEndpoint = 'collect' | 'debug';

export interface MockGa4Options {
  /** The secret the stream accepts; default `mock-ga4-api-secret`. */
  readonly apiSecret?: string;
  readonly measurementId?: string;
  readonly firebaseAppId?: string;
}

export interface MockValidationMessage {
  readonly fieldPath: string;
  readonly description: string;
  readonly validationCode: string;
}

export interface MockRequest {
  readonly endpoint: MockEndpoint | 'other';
  readonly method: string;
  readonly query: Readonly<Record<string, string>>;
  readonly status: number;
  readonly body: string;
  readonly contentType: string | undefined;
  /** Events in the body (0 when it is not a request with events). */
  readonly events: number;
  /** The identity the body names (client_id or app_instance_id), to follow a user's requests. */
  readonly identity: string | undefined;
  readonly at: number;
}

/** An event GA4 would keep, with the request-level fields it came with. */
export interface MockEvent {
  readonly stream: string;
  readonly client_id?: string;
  readonly app_instance_id?: string;
  readonly user_id?: string;
  readonly name: string;
  readonly params: Record<string, unknown>;
  readonly timestamp_micros?: unknown;
  readonly user_properties?: Record<string, unknown>;
  readonly consent?: Record<string, unknown>;
}

export interface MockDrop {
  readonly reason: string;
  readonly event: unknown;
}

const DEFAULT_SECRET = 'mock-ga4-api-secret';
const MAX_BODY_BYTES = 130_000;
const BACKDATE_MS = 72 * 3600_000;
const NAME = /^\p{L}[\p{L}\p{N}_]*$/u;
const RESERVED_EVENTS = new Set([
  'ad_activeview', 'ad_click', 'ad_exposure', 'ad_impression', 'ad_query', 'ad_reward', 'adunit_exposure', 'app_background', 'app_clear_data',
  'app_exception', 'app_remove', 'app_store_refund', 'app_store_subscription_cancel', 'app_store_subscription_convert', 'app_store_subscription_renew',
  'app_update', 'app_upgrade', 'dynamic_link_app_open', 'dynamic_link_app_update', 'dynamic_link_first_open', 'error', 'firebase_campaign',
  'first_open', 'first_visit', 'in_app_purchase', 'notification_dismiss', 'notification_foreground', 'notification_open', 'notification_receive',
  'os_update', 'session_start', 'session_start_with_rollout', 'user_engagement',
]);
const RESERVED_PARAMS = new Set(['firebase_conversion']);
const RESERVED_USER_PROPERTIES = new Set(['first_open_time', 'first_visit_time', 'last_deep_link_referrer', 'user_id', 'first_open_after_install']);
const RESERVED_PREFIX = /^(google_|ga_|firebase_)/;

interface Failure {
  readonly status: number;
  count: number;
  readonly endpoint: MockEndpoint | 'any';
  readonly retryAfterSeconds: number | undefined;
  readonly body: string;
}

export class MockGa4 extends MockHttpServer {
  readonly requests: MockRequest[] = [];
  /** Events GA4 would keep, in the order they arrived. */
  readonly events: MockEvent[] = [];
  /** Events GA4 would drop without a word, and why. */
  readonly dropped: MockDrop[] = [];
  readonly apiSecret: string;
  readonly measurementId: string;
  readonly firebaseAppId: string;
  private readonly failures: Failure[] = [];

  constructor(options: MockGa4Options = {}) {
    super();
    this.apiSecret = options.apiSecret ?? DEFAULT_SECRET;
    this.measurementId = options.measurementId ?? 'G-MOCK123456';
    this.firebaseAppId = options.firebaseAppId ?? '1:1234567890:android:0123456789abcdef';
  }


  /** Answer the next `count` requests (to one endpoint, or either) with `status`, as an overloaded GA4 might. */
  failNext(status: number, options: { count?: number; endpoint?: MockEndpoint | 'any'; retryAfterSeconds?: number; body?: string } = {}): void {
    this.failures.push({ status, count: options.count ?? 1, endpoint: options.endpoint ?? 'any', retryAfterSeconds: options.retryAfterSeconds, body: options.body ?? '' });
  }

  /** The validation messages GA4 documents for a request body sent to a stream of this kind. */
  validate(text: string, kind: 'web' | 'app'): MockValidationMessage[] {
    return validateRequest(text, kind, Date.now());
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://mock');
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const endpoint: MockEndpoint | 'other' = url.pathname.endsWith('/debug/mp/collect') ? 'debug' : url.pathname.endsWith('/mp/collect') ? 'collect' : 'other';
    const peeked = peek(body);
    const log = (status: number) => this.requests.push({ endpoint, method, query, status, body, contentType: req.headers['content-type'], events: peeked.events, identity: peeked.identity, at });

    if (endpoint === 'other' || method !== 'POST') {
      log(404);
      res.writeHead(404, { 'content-type': 'text/html' }).end('<!DOCTYPE html><title>Error 404 (Not Found)</title>');
      return;
    }
    const failure = this.failures.find((candidate) => candidate.count > 0 && (candidate.endpoint === 'any' || candidate.endpoint === endpoint));
    if (failure !== undefined) {
      failure.count--;
      log(failure.status);
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (failure.retryAfterSeconds !== undefined) headers['retry-after'] = String(failure.retryAfterSeconds);
      res.writeHead(failure.status, headers).end(failure.body);
      return;
    }
    const kind = query.firebase_app_id !== undefined && query.measurement_id === undefined ? 'app' : 'web';
    const messages = validateRequest(body, kind, at);
    if (endpoint === 'debug') {
      log(200);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ validationMessages: messages }));
      return;
    }
    log(204);
    res.writeHead(204).end();
    this.keep(body, query, kind, messages);
  }

  /** What GA4 would do with a collected request: keep its valid events, drop the rest. */
  private keep(body: string, query: Readonly<Record<string, string>>, kind: 'web' | 'app', messages: readonly MockValidationMessage[]): void {
    const request = parseObject(body);
    const events = Array.isArray(request?.events) ? (request.events as unknown[]) : [];
    const dropAll = (reason: string) => {
      if (events.length === 0) this.dropped.push({ reason, event: undefined });
      for (const event of events) this.dropped.push({ reason, event });
    };
    const stream = kind === 'web' ? query.measurement_id : query.firebase_app_id;
    if (query.api_secret !== this.apiSecret) return dropAll('api_secret is missing or is not a secret of the stream');
    if (stream !== (kind === 'web' ? this.measurementId : this.firebaseAppId)) return dropAll(`no such stream: ${stream ?? '(none)'}`);
    const faulty = new Map<number, string>();
    for (const found of messages) {
      const reason = `${found.validationCode}${found.fieldPath === '' ? '' : ` ${found.fieldPath}`}: ${found.description}`;
      const index = indexOf(found);
      if (index === undefined) return dropAll(reason);
      faulty.set(index, reason);
    }
    events.forEach((raw, index) => {
      const reason = faulty.get(index);
      if (reason !== undefined) {
        this.dropped.push({ reason, event: raw });
        return;
      }
      const event = raw as Record<string, unknown>;
      const properties = request?.user_properties as Record<string, unknown> | undefined;
      this.events.push({
        stream: stream as string,
        ...(typeof request?.client_id === 'string' ? { client_id: request.client_id } : {}),
        ...(typeof request?.app_instance_id === 'string' ? { app_instance_id: request.app_instance_id } : {}),
        ...(typeof request?.user_id === 'string' ? { user_id: request.user_id } : {}),
        name: event.name as string,
        params: (event.params ?? {}) as Record<string, unknown>,
        ...(event.timestamp_micros !== undefined ? { timestamp_micros: event.timestamp_micros } : request?.timestamp_micros !== undefined ? { timestamp_micros: request.timestamp_micros } : {}),
        ...(properties !== undefined ? { user_properties: properties } : {}),
        ...(request?.consent !== undefined ? { consent: request.consent as Record<string, unknown> } : {}),
      });
    });
  }
}

/** Start a mock GA4 on a free loopback port. */
export function startMockGa4(options: MockGa4Options = {}): Promise<MockGa4> {
  return new MockGa4(options).start();
}

function message(fieldPath: string, validationCode: string, description: string): MockValidationMessage {
  return { fieldPath, description, validationCode };
}

/** GA4's documented rules, applied to a request body; `now` for the backdating limit. */
export function validateRequest(text: string, kind: 'web' | 'app', now: number): MockValidationMessage[] {
  if (Buffer.byteLength(text) >= MAX_BODY_BYTES) return [message('', 'VALUE_OUT_OF_BOUNDS', 'Post body must be smaller than 130kB.')];
  const request = parseObject(text);
  if (request === undefined) return [message('', 'VALUE_INVALID', 'Unable to parse Measurement Protocol JSON payload.')];
  const out: MockValidationMessage[] = [];
  const enforce = request.validation_behavior === 'ENFORCE_RECOMMENDATIONS';
  const identity = kind === 'web' ? 'client_id' : 'app_instance_id';
  if (typeof request[identity] !== 'string' || request[identity] === '') {
    out.push(message(identity, 'VALUE_REQUIRED', kind === 'web' ? 'Measurement requires a client_id.' : 'Measurement requires an app_instance_id.'));
  }
  if (request.user_id !== undefined && typeof request.user_id !== 'string') out.push(message('user_id', 'VALUE_INVALID', 'user_id must be a string.'));
  if (request.timestamp_micros !== undefined && tooOld(request.timestamp_micros, now)) {
    out.push(message('timestamp_micros', 'VALUE_OUT_OF_BOUNDS', 'Measurement timestamp_micros is more than 72 hours in the past.'));
  }

  const properties = request.user_properties;
  if (properties !== undefined) {
    if (!isObject(properties)) out.push(message('user_properties', 'VALUE_INVALID', 'user_properties must be an object.'));
    else {
      const names = Object.keys(properties);
      if (names.length > 25) out.push(message('user_properties', 'EXCEEDED_MAX_ENTITIES', `A maximum of 25 user properties can be specified per request; found ${names.length}.`));
      for (const name of names) {
        const path = `user_properties.${name}`;
        if ([...name].length > 24) out.push(message(path, 'VALUE_OUT_OF_BOUNDS', `User property name [${name}] exceeds the maximum length of 24.`));
        else if (!NAME.test(name)) out.push(message(path, 'NAME_INVALID', `User property name [${name}] is invalid. Names must start with an alphabetic character and contain only alphanumeric characters and underscores.`));
        else if (RESERVED_USER_PROPERTIES.has(name) || RESERVED_PREFIX.test(name)) out.push(message(path, 'NAME_RESERVED', `User property name [${name}] is reserved.`));
        const entry = properties[name];
        if (!isObject(entry) || !('value' in entry)) out.push(message(path, 'VALUE_INVALID', `User property [${name}] must be an object with a value.`));
        else if (enforce && typeof entry.value === 'string' && [...entry.value].length > 36) out.push(message(`${path}.value`, 'VALUE_OUT_OF_BOUNDS', `User property [${name}] has a value longer than 36 characters.`));
      }
    }
  }

  const events = request.events;
  if (!Array.isArray(events) || events.length === 0) {
    out.push(message('events', 'VALUE_REQUIRED', 'Measurement requires at least one event.'));
    return out;
  }
  if (events.length > 25) out.push(message('events', 'EXCEEDED_MAX_ENTITIES', `A maximum of 25 events can be specified per request; found ${events.length}.`));
  events.forEach((event: unknown, index) => {
    if (!isObject(event)) {
      out.push(message(`events[${index}]`, 'VALUE_INVALID', `Event at index: [${index}] must be an object.`));
      return;
    }
    const name = event.name;
    if (typeof name !== 'string' || name === '') out.push(message('events', 'VALUE_REQUIRED', `Event at index: [${index}] has no name.`));
    else if (!/^\p{L}/u.test(name)) out.push(message('events', 'NAME_INVALID', `Event at index: [${index}] has invalid name [${name}]. Names must start with an alphabetic character.`));
    else if (!NAME.test(name)) out.push(message('events', 'NAME_INVALID', `Event at index: [${index}] has invalid name [${name}]. Only alphanumeric characters and underscores are allowed.`));
    else if ([...name].length > 40) out.push(message('events', 'VALUE_OUT_OF_BOUNDS', `Event at index: [${index}] has name [${name}] which exceeds the maximum length of 40.`));
    else if (RESERVED_EVENTS.has(name) || RESERVED_PREFIX.test(name)) out.push(message('events', 'NAME_RESERVED', `Event at index: [${index}] has reserved name [${name}].`));
    if (event.timestamp_micros !== undefined && tooOld(event.timestamp_micros, now)) {
      out.push(message(`events[${index}].timestamp_micros`, 'VALUE_OUT_OF_BOUNDS', `Event at index: [${index}] has a timestamp more than 72 hours in the past.`));
    }
    const params = event.params;
    if (params === undefined) return;
    if (!isObject(params)) {
      out.push(message(`events[${index}].params`, 'VALUE_INVALID', `Event at index: [${index}] has params that are not an object.`));
      return;
    }
    const names = Object.keys(params);
    if (names.length > 25) out.push(message(`events[${index}].params`, 'EXCEEDED_MAX_ENTITIES', `Event at index: [${index}] has ${names.length} parameters; the maximum is 25.`));
    for (const key of names) {
      const path = `events[${index}].params.${key}`;
      if ([...key].length > 40) out.push(message(path, 'VALUE_OUT_OF_BOUNDS', `Parameter name [${key}] exceeds the maximum length of 40.`));
      else if (!NAME.test(key)) out.push(message(path, 'NAME_INVALID', `Parameter name [${key}] is invalid. Names must start with an alphabetic character and contain only alphanumeric characters and underscores.`));
      else if (RESERVED_PARAMS.has(key) || RESERVED_PREFIX.test(key)) out.push(message(path, 'NAME_RESERVED', `Parameter name [${key}] is reserved.`));
      const value = params[key];
      if (key === 'items') {
        if (!Array.isArray(value) || !value.every(isObject)) out.push(message(path, 'VALUE_INVALID', 'items must be an array of objects.'));
      } else if (value !== null && typeof value === 'object') out.push(message(path, 'VALUE_INVALID', `Parameter [${key}] must be a string, a number or a boolean.`));
      else if (enforce && typeof value === 'string' && [...value].length > 100) out.push(message(path, 'VALUE_OUT_OF_BOUNDS', `Parameter [${key}] has a value longer than 100 characters.`));
    }
  });
  return out;
}

function tooOld(value: unknown, now: number): boolean {
  const micros = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined;
  return micros !== undefined && micros / 1000 < now - BACKDATE_MS;
}

function indexOf(found: MockValidationMessage): number | undefined {
  const byPath = /^events\[(\d+)\]/.exec(found.fieldPath);
  if (byPath !== null) return Number(byPath[1]);
  const byDescription = /^Event at index: \[(\d+)\]/.exec(found.description);
  return byDescription === null ? undefined : Number(byDescription[1]);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function peek(text: string): { events: number; identity: string | undefined } {
  const request = parseObject(text);
  const identity = request?.client_id ?? request?.app_instance_id;
  return { events: Array.isArray(request?.events) ? request.events.length : 0, identity: typeof identity === 'string' ? identity : undefined };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
