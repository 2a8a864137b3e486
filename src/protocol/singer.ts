/**
 * Singer messages (https://hub.meltano.com/singer/spec): one JSON object per line — SCHEMA, RECORD, STATE,
 * ACTIVATE_VERSION and the Singer SDK's BATCH. Pure: no I/O.
 *
 * Parsing is tolerant where the spec is loose and strict where data would be lost: the `type` is matched
 * case-insensitively (`record`, `Record`), unknown fields are ignored, unknown types come back as
 * `UNKNOWN` for the caller to log and skip; a line that is not JSON, or lacks what its type needs, comes
 * back as an error naming the line. Numbers stay exact (`parseJson`).
 */
import { type JsonObject, type JsonValue, stringifyJson } from './json.ts';
import { memberText } from './json-scan.ts';
import { type LineError, isObject, lineError, parseJsonVerbatim, parseObjectLine } from './lines.ts';

export interface SingerSchema {
  readonly type: 'SCHEMA';
  readonly stream: string;
  readonly schema: JsonObject;
  readonly keyProperties: readonly string[];
  readonly bookmarkProperties?: readonly string[];
}
export interface SingerRecord {
  readonly type: 'RECORD';
  readonly stream: string;
  readonly record: JsonObject;
  /** `record` as the line wrote it, when that text is exactly `record` (compact, no duplicate keys); see `memberText`. */
  readonly json?: string;
  readonly version?: JsonValue;
}
/** `message` is the whole line, so nothing a tap put there is lost; numbers are kept as written (`1.0`). */
export interface SingerState {
  readonly type: 'STATE';
  readonly value: JsonValue;
  readonly message: JsonObject;
}
export interface SingerActivateVersion {
  readonly type: 'ACTIVATE_VERSION';
  readonly stream: string;
  readonly version: JsonValue;
}
/** Singer SDK batch: records of a stream in files listed by `manifest` (URLs). */
export interface SingerBatch {
  readonly type: 'BATCH';
  readonly stream: string;
  readonly format: string;
  readonly compression: string | undefined;
  readonly manifest: readonly string[];
}
export interface SingerUnknown {
  readonly type: 'UNKNOWN';
  readonly name: string;
}
export type SingerMessage = SingerSchema | SingerRecord | SingerState | SingerActivateVersion | SingerBatch | SingerUnknown;

/** Where a RECORD keeps its record, for `scanJson`. */
const RECORD_PATH = ['record'];

/** Parse one line; undefined for a blank line. `chunk` and `offset`: where the line lies in its input, if known (see `parseObjectLine`). */
export function parseSingerLine(text: string, line: number, chunk?: string, offset = 0): SingerMessage | LineError | undefined {
  const parsed = parseObjectLine(text, line, RECORD_PATH, chunk, offset);
  if (parsed === undefined || 'reason' in parsed) return parsed;
  const { object, name } = parsed;
  const stream = object.stream;
  switch (name) {
    case 'RECORD': {
      // The hot path: no closures, no spreads.
      if (typeof stream !== 'string') return lineError(line, name, 'has no "stream"');
      const record = object.record;
      if (!isObject(record)) return lineError(line, name, 'has no "record" object');
      // The record's own text saves serializing it again (and keeps its numbers as written).
      const json = memberText(chunk ?? text, parsed.scan, record);
      if (object.version === undefined) return { type: 'RECORD', stream, record, json };
      return { type: 'RECORD', stream, record, json, version: object.version };
    }
    case 'SCHEMA':
      if (typeof stream !== 'string') return lineError(line, name, 'has no "stream"');
      if (!isObject(object.schema)) return lineError(line, name, 'has no "schema" object');
      return {
        type: 'SCHEMA',
        stream,
        schema: object.schema,
        keyProperties: strings(object.key_properties),
        ...(Array.isArray(object.bookmark_properties) ? { bookmarkProperties: strings(object.bookmark_properties) } : {}),
      };
    case 'STATE': {
      if (!('value' in object)) return lineError(line, name, 'has no "value"');
      // Echoed by targets: numbers kept as written.
      const verbatim = parseJsonVerbatim(text) as JsonObject;
      return { type: 'STATE', value: verbatim.value as JsonValue, message: verbatim };
    }
    case 'ACTIVATE_VERSION':
      if (typeof stream !== 'string') return lineError(line, name, 'has no "stream"');
      if (object.version === undefined) return lineError(line, name, 'has no "version"');
      return { type: 'ACTIVATE_VERSION', stream, version: object.version };
    case 'BATCH': {
      if (typeof stream !== 'string') return lineError(line, name, 'has no "stream"');
      const encoding = isObject(object.encoding) ? object.encoding : {};
      if (!Array.isArray(object.manifest)) return lineError(line, name, 'has no "manifest" list');
      return {
        type: 'BATCH',
        stream,
        format: typeof encoding.format === 'string' ? encoding.format.toLowerCase() : 'jsonl',
        compression: typeof encoding.compression === 'string' ? encoding.compression.toLowerCase() : undefined,
        manifest: strings(object.manifest),
      };
    }
    default:
      return { type: 'UNKNOWN', name };
  }
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

// Serializing. Record lines are built by concatenation: the stream prefix is the same for every record.

export function singerRecordPrefix(stream: string): string {
  return `{"type":"RECORD","stream":${JSON.stringify(stream)},"record":`;
}

export function singerRecordLine(prefix: string, record: JsonObject): string {
  return `${prefix}${stringifyJson(record)}}`;
}

export function singerSchemaLine(stream: string, schema: JsonValue, keyProperties: readonly string[], bookmarkProperties?: readonly string[]): string {
  const message: Record<string, unknown> = { type: 'SCHEMA', stream, schema, key_properties: keyProperties };
  if (bookmarkProperties !== undefined && bookmarkProperties.length > 0) message.bookmark_properties = bookmarkProperties;
  return stringifyJson(message);
}

export function singerStateLine(value: JsonValue): string {
  return stringifyJson({ type: 'STATE', value });
}

/** A Singer metrics line (singer-python's format), for stderr. */
export function singerMetricLine(metric: string, value: number, tags: Readonly<Record<string, string>>): string {
  return `INFO METRIC: ${JSON.stringify({ type: 'counter', metric, value, tags })}`;
}

/** A Singer catalog (`--discover` output, `--catalog`/`--properties` input). */
export interface SingerCatalogEntry {
  readonly tap_stream_id: string;
  readonly stream?: string;
  readonly schema: JsonObject;
  readonly key_properties?: readonly string[];
  readonly replication_key?: string;
  readonly replication_method?: string;
  readonly metadata?: readonly SingerMetadata[];
}
export interface SingerMetadata {
  readonly breadcrumb: readonly string[];
  readonly metadata: { readonly [key: string]: JsonValue };
}
export interface SingerCatalog {
  readonly streams: readonly SingerCatalogEntry[];
}
