/**
 * DuckDB values (as read from Parquet) to JSON values, losing nothing that JSON can carry:
 * - integers stay numbers while safe, else bigint; DECIMAL keeps its digits (number when a double holds
 *   it exactly, ExactDecimal otherwise); NaN and ±Infinity become strings, since JSON has no such numbers;
 * - timestamps become ISO 8601 strings at their full precision, with `Z` when the column is UTC-adjusted
 *   (TIMESTAMP WITH TIME ZONE) and without a zone when it is a naive local time; dates `YYYY-MM-DD`;
 * - BLOBs become base64; lists, structs and maps become arrays and objects; anything else its text form.
 * The converter is chosen once per column, so plain columns pay nothing per value.
 */
import {
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  DuckDBUnionValue,
} from '@duckdb/node-api';
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { exactNumber, stringifyJson } from '../../../protocol/json.ts';
import type { JsonObject, JsonValue } from '../../../protocol/json.ts';
import { isoFromMicros, isoFromUnits } from './iso-time.ts';

export type ToJson = (value: DuckDBValue) => JsonValue;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Numbers, strings and booleans of these types are already JSON. */
const PLAIN: ReadonlySet<DuckDBTypeId> = new Set([
  DuckDBTypeId.BOOLEAN,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.VARCHAR,
  DuckDBTypeId.SQLNULL,
]);

export function converterFor(type: DuckDBType): ToJson {
  return PLAIN.has(type.typeId) ? plain : toJson;
}

function plain(value: DuckDBValue): JsonValue {
  return value as JsonValue;
}

export function toJson(value: DuckDBValue): JsonValue {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;
  }
  if (value instanceof DuckDBDecimalValue) return exactNumber(value.toString());
  // ±infinity timestamps fall outside Date's range and keep DuckDB's text ('infinity').
  if (value instanceof DuckDBTimestampTZValue) {
    const iso = isoFromMicros(value.micros);
    return iso === undefined ? value.toString() : `${iso}Z`;
  }
  if (value instanceof DuckDBTimestampValue) return isoFromMicros(value.micros) ?? value.toString();
  if (value instanceof DuckDBTimestampMillisecondsValue) return isoFromUnits(value.millis, 1000n, 3) ?? value.toString();
  if (value instanceof DuckDBTimestampSecondsValue) return isoFromUnits(value.seconds, 1n, 0) ?? value.toString();
  if (value instanceof DuckDBTimestampNanosecondsValue) return isoFromUnits(value.nanos, 1_000_000_000n, 9) ?? value.toString();
  if (value instanceof DuckDBBlobValue) return Buffer.from(value.bytes).toString('base64');
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) return value.items.map(toJson);
  if (value instanceof DuckDBStructValue) {
    const out: JsonObject = {};
    for (const [key, entry] of Object.entries(value.entries)) out[key] = toJson(entry);
    return out;
  }
  if (value instanceof DuckDBMapValue) {
    const out: JsonObject = {};
    for (const { key, value: entry } of value.entries) {
      const name = toJson(key);
      out[typeof name === 'string' ? name : stringifyJson(name)] = toJson(entry);
    }
    return out;
  }
  if (value instanceof DuckDBUnionValue) return toJson(value.value);
  // Dates, times, intervals, UUIDs, bit strings: DuckDB's text form is the standard one.
  return String(value);
}
