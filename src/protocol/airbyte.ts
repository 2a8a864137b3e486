/**
 * Airbyte protocol messages (https://docs.airbyte.com/understanding-airbyte/airbyte-protocol): envelopes
 * `{"type": …, "<type>": {…}}`, one per line. Pure: no I/O.
 *
 * A STATE message is kept whole (`message`): a destination echoes it verbatim — every field the source put
 * there, such as an `id` or `sourceStats`, survives — with only `destinationStats` added. Types are matched
 * case-insensitively; unknown types and fields are tolerated (`OTHER`), for the caller to log and skip; a
 * line that lacks what its type needs comes back as an error naming the line. Numbers stay exact.
 */
import { type JsonObject, type JsonValue, ExactDecimal, stringifyJson } from './json.ts';
import { memberText } from './json-scan.ts';
import { type LineError, isObject, lineError, parseJsonVerbatim, parseObjectLine } from './lines.ts';

export interface AirbyteRecord {
  readonly type: 'RECORD';
  readonly stream: string;
  readonly namespace?: string;
  readonly data: JsonObject;
  /** `data` as the line wrote it, when that text is exactly `data` (compact, no duplicate keys); see `memberText`. */
  readonly json?: string;
}
export type AirbyteStateType = 'LEGACY' | 'STREAM' | 'GLOBAL';
export interface AirbyteState {
  readonly type: 'STATE';
  readonly stateType: AirbyteStateType;
  /** The whole line as parsed, numbers kept as written. */
  readonly message: JsonObject;
}
export interface AirbyteLog {
  readonly type: 'LOG';
  readonly level: string;
  readonly message: string;
}
export interface AirbyteTrace {
  readonly type: 'TRACE';
  readonly traceType: string;
  readonly trace: JsonObject;
}
/** SPEC, CATALOG, CONNECTION_STATUS, CONTROL and types this version does not know. */
export interface AirbyteOther {
  readonly type: 'OTHER';
  readonly name: string;
}
export type AirbyteMessage = AirbyteRecord | AirbyteState | AirbyteLog | AirbyteTrace | AirbyteOther;

/** Where a RECORD keeps its data, for `scanJson`. */
const DATA_PATH = ['record', 'data'];

/** Parse one line; undefined for a blank line. `chunk` and `offset`: where the line lies in its input, if known (see `parseObjectLine`). */
export function parseAirbyteLine(text: string, line: number, chunk?: string, offset = 0): AirbyteMessage | LineError | undefined {
  const parsed = parseObjectLine(text, line, DATA_PATH, chunk, offset);
  if (parsed === undefined || 'reason' in parsed) return parsed;
  const { object, name } = parsed;
  switch (name) {
    case 'RECORD': {
      const record = object.record;
      if (!isObject(record)) return lineError(line, name, 'has no "record" object');
      if (typeof record.stream !== 'string') return lineError(line, name, 'has no "record.stream"');
      if (!isObject(record.data)) return lineError(line, name, 'has no "record.data" object');
      // The hot path: no closures, no spreads. The data's own text saves serializing it again.
      const json = memberText(chunk ?? text, parsed.scan, record.data);
      if (typeof record.namespace !== 'string') return { type: 'RECORD', stream: record.stream, data: record.data, json };
      return { type: 'RECORD', stream: record.stream, namespace: record.namespace, data: record.data, json };
    }
    case 'STATE': {
      const state = object.state;
      if (!isObject(state)) return lineError(line, name, 'has no "state" object');
      const declared = typeof state.type === 'string' ? state.type.toUpperCase() : 'LEGACY';
      if (declared !== 'LEGACY' && declared !== 'STREAM' && declared !== 'GLOBAL') return lineError(line, name, `has an unknown state type "${String(state.type)}"`);
      if (declared === 'STREAM' && !isObject(state.stream)) return lineError(line, name, 'of type STREAM has no "state.stream" object');
      if (declared === 'GLOBAL' && !isObject(state.global)) return lineError(line, name, 'of type GLOBAL has no "state.global" object');
      // Echoed verbatim by destinations: numbers kept as written (`"recordCount": 2.0` stays 2.0).
      return { type: 'STATE', stateType: declared, message: parseJsonVerbatim(text) as JsonObject };
    }
    case 'LOG': {
      const log = isObject(object.log) ? object.log : {};
      return { type: 'LOG', level: typeof log.level === 'string' ? log.level : 'INFO', message: typeof log.message === 'string' ? log.message : '' };
    }
    case 'TRACE': {
      const trace = isObject(object.trace) ? object.trace : {};
      return { type: 'TRACE', traceType: typeof trace.type === 'string' ? trace.type.toUpperCase() : 'UNKNOWN', trace };
    }
    default:
      return { type: 'OTHER', name };
  }
}

/** A stream's identity in records, catalogs and states: its name, qualified by its namespace if it has one. */
export function streamKey(name: string, namespace?: string | null): string {
  return namespace === undefined || namespace === null || namespace === '' ? name : `${namespace}.${name}`;
}

export function streamDescriptor(name: string, namespace?: string): JsonObject {
  return namespace === undefined ? { name } : { name, namespace };
}

// Serializing.

export function airbyteLine(message: JsonObject): string {
  return stringifyJson(message);
}

/** The constant start of a stream's RECORD lines; `airbyteRecordLine` finishes one. */
export function airbyteRecordPrefix(stream: string, namespace?: string): string {
  const ns = namespace === undefined ? '' : `,"namespace":${JSON.stringify(namespace)}`;
  return `{"type":"RECORD","record":{"stream":${JSON.stringify(stream)}${ns},"emitted_at":`;
}

export function airbyteRecordLine(prefix: string, emittedAt: number, data: JsonObject): string {
  return `${prefix}${emittedAt},"data":${stringifyJson(data)}}}`;
}

/**
 * A count as Airbyte's own connectors write it, `3.0` (the protocol types record counts as numbers, and
 * the Java and Python CDKs print doubles); kept exact through stringifyJson.
 */
export function airbyteCount(count: number): JsonValue {
  return new ExactDecimal(Number.isInteger(count) ? `${count}.0` : String(count));
}

/** The state message echoed by a destination: verbatim, plus `destinationStats.recordCount`. */
export function withDestinationStats(message: JsonObject, recordCount: number): JsonObject {
  const state = message.state as JsonObject;
  return { ...message, state: { ...state, destinationStats: { recordCount: airbyteCount(recordCount) } } };
}

export function logMessage(level: 'FATAL' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE', message: string): JsonObject {
  return { type: 'LOG', log: { level, message } };
}

export type StreamStatus = 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';

export function streamStatusTrace(descriptor: JsonObject, status: StreamStatus, emittedAt = Date.now()): JsonObject {
  return { type: 'TRACE', trace: { type: 'STREAM_STATUS', emitted_at: emittedAt, stream_status: { stream_descriptor: descriptor, status } } };
}

export type FailureType = 'config_error' | 'system_error' | 'transient_error';

export function errorTrace(message: string, failureType: FailureType, internalMessage?: string, emittedAt = Date.now()): JsonObject {
  const error: JsonObject = { message, failure_type: failureType };
  if (internalMessage !== undefined) error.internal_message = internalMessage;
  return { type: 'TRACE', trace: { type: 'ERROR', emitted_at: emittedAt, error } };
}

export function connectionStatus(ok: boolean, message?: string): JsonObject {
  const status: JsonObject = { status: ok ? 'SUCCEEDED' : 'FAILED' };
  if (message !== undefined) status.message = message;
  return { type: 'CONNECTION_STATUS', connectionStatus: status };
}
