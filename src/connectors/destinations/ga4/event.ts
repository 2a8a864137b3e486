/**
 * Records → Measurement Protocol events, and GA4's documented rules for them.
 *
 * A record is one event, flat or nested as the source has it:
 *
 *   { client_id | app_instance_id, user_id?, name, params?, timestamp_micros? | timestamp?,
 *     user_properties?, consent?, user_location?, device?, ip_override?, ...more params }
 *
 * `params` holds the event parameters (a Segment `properties` object maps to it whole); every other field
 * that is not one of the names above is an event parameter too, so a flat warehouse row maps field for
 * field (as Google's own Megalista does: "Any other column will be sent as an event parameter").
 * `timestamp` (an ISO 8601 date-time, or epoch milliseconds — Segment's `timestamp`) becomes the event's
 * `timestamp_micros`. `user_properties` values may be plain values (wrapped as `{ value }`) or GA4's own
 * `{ value, timestamp_micros? }`. Parameters and user properties that are `null` are left out.
 *
 * The identity and the request-level members (user_id, user_properties, consent, user_location, device,
 * ip_override) go on the request; events whose request-level members are the same can share one request.
 *
 * GA4 answers 2xx to anything and drops what breaks its rules, so every rule GA4 documents is checked here,
 * before sending, and a record that breaks one is rejected naming the field: the object's `fields` schema
 * runs these checks in the engine (dry runs too), and `prepareEvent` runs them again in `write`.
 * Sources: https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events
 * (limitations), .../ga4/reference (payload, reserved names), .../ga4/user-properties (reserved names).
 */
import { z } from 'zod';
import { type JsonObject, type JsonValue, LosslessNumber, stringifyJson } from '../../../protocol/json.ts';
import type { StreamKind } from './spec.ts';

/** GA4's documented limits ("Limitations" in Google's sending-events guide). */
export const LIMITS = {
  eventsPerRequest: 25,
  paramsPerEvent: 25,
  userPropertiesPerRequest: 25,
  eventNameLength: 40,
  paramNameLength: 40,
  userPropertyNameLength: 24,
  /** "The post body must be smaller than 130kB": kept under 130,000 bytes. */
  bodyBytes: 130_000,
  /** "Events can be backdated up to 72 hours" (the reference: "up to 3 calendar days"). */
  backdateMs: 72 * 3600_000,
} as const;

/** Event names GA4 reserves (Measurement Protocol reference, "Reserved names"). */
export const RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set([
  'ad_activeview',
  'ad_click',
  'ad_exposure',
  'ad_impression',
  'ad_query',
  'ad_reward',
  'adunit_exposure',
  'app_background',
  'app_clear_data',
  'app_exception',
  'app_remove',
  'app_store_refund',
  'app_store_subscription_cancel',
  'app_store_subscription_convert',
  'app_store_subscription_renew',
  'app_update',
  'app_upgrade',
  'dynamic_link_app_open',
  'dynamic_link_app_update',
  'dynamic_link_first_open',
  'error',
  'firebase_campaign',
  'first_open',
  'first_visit',
  'in_app_purchase',
  'notification_dismiss',
  'notification_foreground',
  'notification_open',
  'notification_receive',
  'os_update',
  'session_start',
  'session_start_with_rollout',
  'user_engagement',
]);
export const RESERVED_PARAM_NAMES: ReadonlySet<string> = new Set(['firebase_conversion']);
export const RESERVED_USER_PROPERTY_NAMES: ReadonlySet<string> = new Set(['first_open_time', 'first_visit_time', 'last_deep_link_referrer', 'user_id', 'first_open_after_install']);
/** Names of events, parameters and user properties may not start with these. */
export const RESERVED_PREFIXES: readonly string[] = ['google_', 'ga_', 'firebase_'];

/** "may only contain alpha-numeric characters and underscores, and must start with an alphabetic character". */
const NAME = /^\p{L}[\p{L}\p{N}_]*$/u;

/** Fields of a record that are not event parameters. */
const EVENT_FIELDS = new Set(['name', 'params', 'timestamp_micros', 'timestamp']);
const REQUEST_FIELDS = ['client_id', 'app_instance_id', 'user_id', 'user_properties', 'consent', 'user_location', 'device', 'ip_override'] as const;
const NOT_PARAMS: ReadonlySet<string> = new Set([...EVENT_FIELDS, ...REQUEST_FIELDS]);
const CONSENT_VALUES = new Set(['GRANTED', 'DENIED']);

export interface Problem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** An event ready to send: its request-level members (which decide the request it goes in) and its own JSON. */
export interface PreparedEvent {
  /** `"client_id":"…","user_id":"…",…` — the request's members other than `events`, serialized. */
  readonly requestMembers: string;
  /** `{"name":"…","params":{…}[,"timestamp_micros":…]}`. */
  readonly eventJson: string;
  /** When the event happened (ms), if the record says; for the backdating limit. */
  readonly timestampMs: number | undefined;
}

export type Prepared = { readonly ok: true; readonly event: PreparedEvent } | { readonly ok: false; readonly reason: string };

/** Every documented rule a record breaks. `stream` unknown (the object's schema, config-free): either identity will do. */
export function eventProblems(data: JsonObject, stream?: StreamKind): Problem[] {
  const problems: Problem[] = [];
  const add = (path: readonly (string | number)[], message: string) => problems.push({ path, message });

  // Identity.
  const identityFields = stream === undefined ? (['client_id', 'app_instance_id'] as const) : stream === 'web' ? (['client_id'] as const) : (['app_instance_id'] as const);
  const identity = identityFields.find((name) => data[name] !== undefined && data[name] !== null);
  if (identity === undefined) {
    if (stream === undefined) add(['client_id'], 'a record needs `client_id` (web stream) or `app_instance_id` (app stream)');
    else if (stream === 'web') add(['client_id'], 'a web stream (measurement_id) needs `client_id` on every record');
    else add(['app_instance_id'], 'an app stream (firebase_app_id) needs `app_instance_id` on every record');
  } else if (idText(data[identity]) === undefined) add([identity], 'must be a non-empty string (or an integer, sent as its text)');
  for (const name of ['user_id', 'ip_override'] as const) {
    const value = data[name];
    if (value !== undefined && value !== null && idText(value) === undefined) add([name], 'must be a non-empty string (or an integer, sent as its text)');
  }

  // Name.
  const name = data.name;
  if (typeof name !== 'string' || name === '') add(['name'], 'the event name is required, as a string');
  else {
    const problem = nameProblem(name, LIMITS.eventNameLength, 'an event name');
    if (problem !== undefined) add(['name'], problem);
    else if (RESERVED_EVENT_NAMES.has(name)) add(['name'], `"${name}" is an event name GA4 reserves`);
  }

  // Timestamp.
  if (data.timestamp_micros !== undefined && data.timestamp_micros !== null && data.timestamp !== undefined && data.timestamp !== null) {
    add(['timestamp'], 'give `timestamp_micros` or `timestamp`, not both');
  } else if (data.timestamp_micros !== undefined && data.timestamp_micros !== null && micros(data.timestamp_micros) === undefined) {
    add(['timestamp_micros'], 'must be a positive integer: Unix time in microseconds');
  } else if (data.timestamp !== undefined && data.timestamp !== null && millisOf(data.timestamp) === undefined) {
    add(['timestamp'], 'must be an ISO 8601 date-time (or Unix time in milliseconds)');
  }

  // Parameters.
  const params = data.params;
  if (params !== undefined && params !== null && !isPlainObject(params)) add(['params'], 'must be an object of event parameters');
  const count = { value: 0 };
  if (isPlainObject(params)) {
    for (const [key, value] of Object.entries(params as JsonObject)) {
      if (Object.hasOwn(data, key) && !NOT_PARAMS.has(key)) add(['params', key], `the parameter "${key}" is given twice: in \`params\` and as a field of the record`);
      paramProblems(['params', key], key, value, count, add);
    }
  }
  for (const [key, value] of Object.entries(data)) if (!NOT_PARAMS.has(key)) paramProblems([key], key, value, count, add);
  if (count.value > LIMITS.paramsPerEvent) add(['params'], `${count.value} event parameters: GA4 takes at most ${LIMITS.paramsPerEvent} per event`);

  // User properties.
  const properties = data.user_properties;
  if (properties !== undefined && properties !== null) {
    if (!isPlainObject(properties)) add(['user_properties'], 'must be an object: user property name → value (or { value, timestamp_micros })');
    else {
      let set = 0;
      for (const [key, entry] of Object.entries(properties as JsonObject)) {
        const path = ['user_properties', key];
        const problem = nameProblem(key, LIMITS.userPropertyNameLength, 'a user property name');
        if (problem !== undefined) add(path, problem);
        else if (RESERVED_USER_PROPERTY_NAMES.has(key) || hasReservedPrefix(key)) add(path, `"${key}" is a user property name GA4 reserves`);
        const wrapped = isPlainObject(entry);
        const value = wrapped ? (entry as JsonObject).value : entry;
        if (wrapped) {
          for (const member of Object.keys(entry as JsonObject)) if (member !== 'value' && member !== 'timestamp_micros') add([...path, member], 'a user property is { value, timestamp_micros? }');
          const at = (entry as JsonObject).timestamp_micros;
          if (at !== undefined && at !== null && micros(at) === undefined) add([...path, 'timestamp_micros'], 'must be a positive integer: Unix time in microseconds');
        }
        if (value === undefined || value === null) continue;
        set++;
        if (!isScalar(value)) add(wrapped ? [...path, 'value'] : path, 'a user property value is text, a number or a boolean');
      }
      if (set > LIMITS.userPropertiesPerRequest) add(['user_properties'], `${set} user properties: GA4 takes at most ${LIMITS.userPropertiesPerRequest}`);
    }
  }

  // Request-level objects passed through.
  const consent = data.consent;
  if (consent !== undefined && consent !== null) {
    if (!isPlainObject(consent)) add(['consent'], 'must be an object such as { ad_user_data: "GRANTED", ad_personalization: "DENIED" }');
    else for (const [key, value] of Object.entries(consent as JsonObject)) if (typeof value !== 'string' || !CONSENT_VALUES.has(value)) add(['consent', key], 'must be "GRANTED" or "DENIED"');
  }
  for (const key of ['user_location', 'device'] as const) {
    const value = data[key];
    if (value !== undefined && value !== null && !isPlainObject(value)) add([key], 'must be an object');
  }
  return problems;
}

/** The event for a record, or why it cannot be sent. */
export function prepareEvent(data: JsonObject, stream: StreamKind): Prepared {
  const problems = eventProblems(data, stream);
  if (problems.length > 0) return { ok: false, reason: describeProblems(problems) };

  const identityField = stream === 'web' ? 'client_id' : 'app_instance_id';
  const members: string[] = [`${JSON.stringify(identityField)}:${JSON.stringify(idText(data[identityField]))}`];
  const userId = data.user_id;
  if (userId !== undefined && userId !== null) members.push(`"user_id":${JSON.stringify(idText(userId))}`);
  const properties = userProperties(data.user_properties);
  if (properties !== undefined) members.push(`"user_properties":${stringifyJson(properties)}`);
  for (const key of ['consent', 'user_location', 'device'] as const) {
    const value = data[key];
    if (value !== undefined && value !== null) members.push(`${JSON.stringify(key)}:${stringifyJson(value)}`);
  }
  if (data.ip_override !== undefined && data.ip_override !== null) members.push(`"ip_override":${JSON.stringify(idText(data.ip_override))}`);

  const params: JsonObject = {};
  const given = data.params;
  if (isPlainObject(given)) for (const [key, value] of Object.entries(given as JsonObject)) if (value !== null) params[key] = value;
  for (const [key, value] of Object.entries(data)) if (!NOT_PARAMS.has(key) && value !== null) params[key] = value;

  const stampMicros = data.timestamp_micros !== undefined && data.timestamp_micros !== null ? micros(data.timestamp_micros) : undefined;
  const stampMs = data.timestamp !== undefined && data.timestamp !== null ? millisOf(data.timestamp) : undefined;
  const at = stampMicros ?? (stampMs === undefined ? undefined : BigInt(Math.round(stampMs)) * 1000n);
  const eventJson = `{"name":${JSON.stringify(data.name)},"params":${stringifyJson(params)}${at === undefined ? '' : `,"timestamp_micros":${at}`}}`;
  return { ok: true, event: { requestMembers: members.join(','), eventJson, timestampMs: at === undefined ? undefined : Number(at / 1000n) } };
}

/** The object's `fields` schema: the engine rejects records that break a rule, naming the field, before sending. */
export const eventFields: z.ZodType = z.looseObject({}).superRefine((record, ctx) => {
  for (const problem of eventProblems(record as JsonObject)) ctx.addIssue({ code: 'custom', path: [...problem.path], message: problem.message });
});

export function describeProblems(problems: readonly Problem[]): string {
  return problems
    .slice(0, 5)
    .map((problem) => `${problem.path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('')}: ${problem.message}`)
    .join('; ');
}

function paramProblems(path: readonly string[], key: string, value: JsonValue, count: { value: number }, add: (path: readonly (string | number)[], message: string) => void): void {
  if (value === null) return;
  count.value++;
  const problem = nameProblem(key, LIMITS.paramNameLength, 'a parameter name');
  if (problem !== undefined) add(path, problem);
  else if (RESERVED_PARAM_NAMES.has(key) || hasReservedPrefix(key)) add(path, `"${key}" is a parameter name GA4 reserves`);
  if (key === 'items') {
    if (!Array.isArray(value) || !value.every((item) => isPlainObject(item) && Object.values(item as JsonObject).every((member) => member === null || isScalar(member)))) {
      add(path, '`items` must be an array of objects of text, numbers and booleans (the e-commerce items)');
    }
    return;
  }
  if (!isScalar(value)) add(path, 'a GA4 parameter value is text, a number or a boolean (only `items` holds a list of objects): map the fields you need on their own');
}

function nameProblem(name: string, maxLength: number, what: string): string | undefined {
  if ([...name].length > maxLength) return `${what} must be ${maxLength} characters or fewer ("${name.slice(0, 50)}" has ${[...name].length})`;
  if (!NAME.test(name)) return `${what} must start with a letter and hold only letters, digits and underscores ("${name.slice(0, 50)}")`;
  return undefined;
}

function hasReservedPrefix(name: string): boolean {
  return RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** GA4 ids are strings; integers (as warehouses keep them) are sent as their decimal text. */
function idText(value: JsonValue | undefined): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))) return String(value);
  if (value instanceof LosslessNumber && /^-?\d+$/.test(value.toString())) return value.toString();
  return undefined;
}

/** A positive integer number of microseconds, from a number, a bigint or a string of digits. */
function micros(value: JsonValue): bigint | undefined {
  let text: string | undefined;
  if (typeof value === 'bigint') text = value.toString();
  else if (typeof value === 'number' && Number.isSafeInteger(value)) text = String(value);
  else if (typeof value === 'string' || value instanceof LosslessNumber) text = value.toString().trim();
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const parsed = BigInt(text);
  return parsed > 0n ? parsed : undefined;
}

/** Epoch milliseconds from an ISO 8601 date-time (with a time zone or `Z`) or a number of milliseconds. */
function millisOf(value: JsonValue): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return undefined;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** `user_properties` as GA4 takes them: `{ name: { value[, timestamp_micros] } }`, nulls left out. */
function userProperties(value: JsonValue | undefined): JsonObject | undefined {
  if (!isPlainObject(value)) return undefined;
  const out: JsonObject = {};
  for (const [key, entry] of Object.entries(value as JsonObject)) {
    if (isPlainObject(entry)) {
      const { value: inner, timestamp_micros: at } = entry as JsonObject;
      if (inner === undefined || inner === null) continue;
      const stamp = at === undefined || at === null ? undefined : micros(at);
      out[key] = stamp === undefined ? { value: inner } : { value: inner, timestamp_micros: stamp };
    } else if (entry !== null) out[key] = { value: entry };
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function isScalar(value: JsonValue): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value instanceof LosslessNumber;
}

function isPlainObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof LosslessNumber);
}
