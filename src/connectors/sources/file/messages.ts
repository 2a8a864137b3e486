/**
 * What every format reader shares: the file it reads (as a `FileTarget`), the shape of a reader, and the
 * one way an unreadable line becomes an `invalid` message whose reason names the file and line.
 */
import type { ConnectorContext } from '../../../sdk/context.ts';
import type { SourceMessage } from '../../../sdk/source.ts';
import type { JsonSchema } from '../../../sdk/spec.ts';
import { LosslessNumber } from '../../../protocol/json.ts';
import type { JsonObject, JsonValue } from '../../../protocol/json.ts';
import type { FileConfig } from './spec.ts';

export interface FileTarget {
  /** The path as configured or matched; it appears in origins and reasons, so users recognise it. */
  readonly file: string;
  readonly stream: string;
  readonly config: FileConfig;
  readonly ctx: ConnectorContext;
}

/**
 * A format reader yields messages in batches (one per chunk read), so the per-record cost is one loop step
 * rather than one async-generator round trip per layer.
 */
export interface FormatReader {
  read(target: FileTarget): AsyncGenerator<SourceMessage[]>;
  /** The stream's JSON Schema when the format knows it without sampling records (CSV header, Parquet schema). */
  schema?(target: FileTarget): Promise<JsonSchema>;
}

// The ledger keeps `raw`; a runaway line (an unclosed quote) must not put megabytes in it.
const RAW_MAX_CHARS = 64 * 1024;

export function invalidMessage(target: FileTarget, line: number, problem: string, raw: string): SourceMessage {
  return {
    type: 'invalid',
    stream: target.stream,
    reason: `${target.file} line ${line}: ${problem}`,
    raw: raw.length > RAW_MAX_CHARS ? `${raw.slice(0, RAW_MAX_CHARS)}…` : raw,
    origin: { file: target.file, line },
  };
}

/** A record must be a JSON object: not an array, a scalar, or a long number kept exact. */
export function isJsonObject(value: JsonValue): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof LosslessNumber);
}

export function describeJsonKind(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  return 'a number';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
