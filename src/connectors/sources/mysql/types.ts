/**
 * MySQL / MariaDB column types → JSON Schema and exact JSON values. The driver is asked for strings
 * wherever a JavaScript number or Date would lose something (BIGINT, DECIMAL, dates, JSON), and this
 * module turns them into exact values:
 * - TINYINT/SMALLINT/MEDIUMINT/INT/YEAR → integer; BIGINT (signed or not) → integer, a bigint beyond 2^53;
 *   DECIMAL → number, an ExactDecimal when a double cannot hold it exactly; FLOAT/DOUBLE → number;
 * - TINYINT(1) (what BOOLEAN is) and BIT(1) → boolean; wider BITs → integer;
 * - DATE → `YYYY-MM-DD`; DATETIME → ISO 8601 without an offset; TIMESTAMP → ISO 8601 in UTC (`+00:00`: the
 *   session's time zone is set to UTC); zero dates (`0000-00-00`) → null; TIME → its text;
 * - JSON (and MariaDB's JSON, a LONGTEXT with a json_valid check) → the value, long numbers exact;
 * - binary strings (BINARY, VARBINARY, BLOB) → base64; other strings, ENUM and SET → text.
 * A converter is chosen once per column; columns the driver already gets right pay nothing per value.
 */
import type { JsonSchema } from '../../../sdk/spec.ts';
import { exactNumber, parseJson } from '../../../protocol/json.ts';
import type { JsonValue } from '../../../protocol/json.ts';

/** What the driver tells about a column (mysql2's FieldPacket). */
export interface FieldInfo {
  readonly name: string;
  readonly columnType?: number | undefined;
  readonly flags?: number | readonly string[] | undefined;
  readonly characterSet?: number | undefined;
  readonly columnLength?: number | undefined;
}

export type Convert = (value: unknown) => JsonValue;

export interface MysqlType {
  readonly schema: JsonSchema;
  /** undefined when the driver's value is already the JSON value. */
  readonly convert: Convert | undefined;
}

// Column types, as the protocol numbers them.
export const T = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

const NOT_NULL_FLAG = 1;
/** The `binary` character set: the column holds bytes, not text. */
const BINARY_CHARSET = 63;

export function isNotNull(field: FieldInfo): boolean {
  return typeof field.flags === 'number' ? (field.flags & NOT_NULL_FLAG) !== 0 : (field.flags?.includes('NOT_NULL') ?? false);
}

function toInteger(value: unknown): JsonValue {
  const text = value as string;
  if (typeof value !== 'string') return value as JsonValue;
  if (text.length < 16) return Number(text);
  const number = Number(text);
  return Number.isSafeInteger(number) ? number : BigInt(text);
}

function toDecimal(value: unknown): JsonValue {
  return typeof value === 'string' ? exactNumber(value) : (value as JsonValue);
}

function toBoolean(value: unknown): JsonValue {
  return value !== 0;
}

function bitToBoolean(value: unknown): JsonValue {
  return Buffer.isBuffer(value) ? value.some((byte) => byte !== 0) : Boolean(value);
}

function bitToInteger(value: unknown): JsonValue {
  if (!Buffer.isBuffer(value)) return value as JsonValue;
  let out = 0n;
  for (const byte of value) out = (out << 8n) | BigInt(byte);
  return out <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(out) : out;
}

function toDate(value: unknown): JsonValue {
  return value === '0000-00-00' ? null : (value as JsonValue);
}

function isZeroDate(text: string): boolean {
  return text.startsWith('0000-00-00');
}

/** `2024-01-01 10:00:00.5` → `2024-01-01T10:00:00.5`. */
function toDatetime(value: unknown): JsonValue {
  const text = value as string;
  if (typeof value !== 'string' || text.charCodeAt(10) !== 32) return value as JsonValue;
  if (isZeroDate(text)) return null;
  return `${text.slice(0, 10)}T${text.slice(11)}`;
}

/** A TIMESTAMP read in a UTC session: `2024-01-01 10:00:00` → `2024-01-01T10:00:00+00:00`. */
function toTimestamp(value: unknown): JsonValue {
  const text = value as string;
  if (typeof value !== 'string' || text.charCodeAt(10) !== 32) return value as JsonValue;
  if (isZeroDate(text)) return null;
  return `${text.slice(0, 10)}T${text.slice(11)}+00:00`;
}

function toJson(value: unknown): JsonValue {
  if (typeof value === 'string') return parseJson(value);
  if (Buffer.isBuffer(value)) return parseJson(value.toString('utf8'));
  return value as JsonValue;
}

function toBase64(value: unknown): JsonValue {
  return Buffer.isBuffer(value) ? value.toString('base64') : (value as JsonValue);
}

/** For types not named here: bytes become base64, everything else passes. */
const generic: Convert = (value) => (Buffer.isBuffer(value) ? value.toString('base64') : (value as JsonValue));

const DATE_TIME_WITHOUT_ZONE: JsonSchema = { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' };
const DATE_TIME_WITH_ZONE: JsonSchema = { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' };

/** The column's type; `json` says the column holds JSON text (MariaDB's JSON columns, found in the catalog). */
export function typeOf(field: FieldInfo, json = false): MysqlType {
  const binary = field.characterSet === BINARY_CHARSET;
  switch (field.columnType) {
    case T.TINY:
      return field.columnLength === 1 ? { schema: { type: 'boolean' }, convert: toBoolean } : { schema: { type: 'integer' }, convert: undefined };
    case T.SHORT:
    case T.LONG:
    case T.INT24:
    case T.YEAR:
      return { schema: { type: 'integer' }, convert: undefined };
    case T.LONGLONG:
      return { schema: { type: 'integer' }, convert: toInteger };
    case T.DECIMAL:
    case T.NEWDECIMAL:
      return { schema: { type: 'number' }, convert: toDecimal };
    case T.FLOAT:
    case T.DOUBLE:
      return { schema: { type: 'number' }, convert: undefined };
    case T.BIT:
      return field.columnLength === 1 ? { schema: { type: 'boolean' }, convert: bitToBoolean } : { schema: { type: 'integer' }, convert: bitToInteger };
    case T.DATE:
    case T.NEWDATE:
      return { schema: { type: 'string', format: 'date' }, convert: toDate };
    case T.DATETIME:
      return { schema: DATE_TIME_WITHOUT_ZONE, convert: toDatetime };
    case T.TIMESTAMP:
      return { schema: DATE_TIME_WITH_ZONE, convert: toTimestamp };
    case T.TIME:
      return { schema: { type: 'string' }, convert: undefined };
    case T.JSON:
      return { schema: {}, convert: toJson };
    case T.NULL:
      return { schema: {}, convert: undefined };
    case T.GEOMETRY:
      return { schema: {}, convert: generic };
    case T.VARCHAR:
    case T.VAR_STRING:
    case T.STRING:
    case T.ENUM:
    case T.SET:
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB:
      if (json && !binary) return { schema: {}, convert: toJson };
      return binary ? { schema: { type: 'string', contentEncoding: 'base64' }, convert: toBase64 } : { schema: { type: 'string' }, convert: undefined };
    default:
      return { schema: {}, convert: generic };
  }
}
