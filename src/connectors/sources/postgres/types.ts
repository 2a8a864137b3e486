/**
 * PostgreSQL column types → JSON Schema and exact JSON values, from the text the server sends:
 * - int2/int4/oid → integer; int8 → integer, a bigint beyond 2^53; numeric → number, an ExactDecimal when
 *   a double cannot hold it exactly (`NaN`/`Infinity` stay strings); float4/8 → number (non-finite: string);
 * - bool → boolean; text, varchar, char, uuid, enums and anything else → its text;
 * - date → `YYYY-MM-DD`; timestamp → ISO 8601 without an offset; timestamptz → ISO 8601 with the offset the
 *   session's TimeZone gives (`2024-01-01 10:00:00+02` → `2024-01-01T10:00:00+02:00`); `infinity`, BC dates
 *   and years past 9999 keep PostgreSQL's text;
 * - json/jsonb → the value, long numbers exact; bytea → base64; arrays (of any of these) → arrays;
 * - domains are their base type.
 * Types are resolved once per read from pg_type; the parsers run per value, inside the driver's row loop.
 */
import type { JsonSchema } from '../../../sdk/spec.ts';
import { exactNumber, parseJson } from '../../../protocol/json.ts';
import type { JsonValue } from '../../../protocol/json.ts';
import { nullable } from '../../sql-source/columns.ts';
import { parsePgArray } from './array.ts';

export type Parse = (text: string) => JsonValue;

export interface PgType {
  /** The JSON Schema of a non-null value. */
  readonly schema: JsonSchema;
  readonly parse: Parse;
}

/** One row of pg_type, as `resolveTypes` reads it. */
export interface PgTypeRow {
  readonly oid: number;
  readonly name: string;
  /** true for types in pg_catalog. */
  readonly builtin: boolean;
  /** pg_type.typtype: b base, d domain, e enum, c composite, r range, m multirange, p pseudo. */
  readonly kind: string;
  readonly elem: number;
  readonly base: number;
  readonly category: string;
  readonly delim: string;
}

const identity: Parse = (text) => text;

function parseInt8(text: string): JsonValue {
  if (text.length < 16) return Number(text);
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : BigInt(text);
}

function parseNumeric(text: string): JsonValue {
  const first = text.charCodeAt(0);
  // NaN, Infinity, -Infinity: JSON has no such numbers.
  if (first === 78 || first === 73 || (first === 45 && text.charCodeAt(1) === 73)) return text;
  return exactNumber(text);
}

function parseFloat8(text: string): JsonValue {
  const value = Number(text);
  return Number.isFinite(value) ? value : text;
}

function parseBool(text: string): JsonValue {
  return text === 't';
}

function parseBytea(text: string): JsonValue {
  // bytea_output = hex is set for the session: \x followed by two hex digits per byte.
  if (text.charCodeAt(0) === 92 && text.charCodeAt(1) === 120) return Buffer.from(text.slice(2), 'hex').toString('base64');
  return Buffer.from(text, 'latin1').toString('base64');
}

/** `2024-01-01 10:00:00.5` → `2024-01-01T10:00:00.5`; other forms (infinity, BC, year > 9999) unchanged. */
export function isoTimestamp(text: string): JsonValue {
  if (text.length < 19 || text.charCodeAt(10) !== 32 || text.endsWith(' BC')) return text;
  return `${text.slice(0, 10)}T${text.slice(11)}`;
}

/** `2024-01-01 10:00:00+02` → `2024-01-01T10:00:00+02:00`; `+05:30` and `+05:53:28` are kept as they are. */
export function isoTimestamptz(text: string): JsonValue {
  if (text.length < 22 || text.charCodeAt(10) !== 32 || text.endsWith(' BC')) return text;
  let sign = text.length - 1;
  while (sign >= 19) {
    const code = text.charCodeAt(sign);
    if (code === 43 || code === 45) break;
    sign--;
  }
  if (sign < 19) return `${text.slice(0, 10)}T${text.slice(11)}`;
  const offset = text.length - sign === 3 ? `${text.slice(sign)}:00` : text.slice(sign);
  return `${text.slice(0, 10)}T${text.slice(11, sign)}${offset}`;
}

const INTEGER: PgType = { schema: { type: 'integer' }, parse: Number };
const STRING: PgType = { schema: { type: 'string' }, parse: identity };

/** Built-in scalar types by name (pg_catalog). Anything not here is read as its text. */
const BUILTIN: Readonly<Record<string, PgType>> = {
  int2: INTEGER,
  int4: INTEGER,
  oid: INTEGER,
  int8: { schema: { type: 'integer' }, parse: parseInt8 },
  numeric: { schema: { type: 'number' }, parse: parseNumeric },
  float4: { schema: { type: 'number' }, parse: parseFloat8 },
  float8: { schema: { type: 'number' }, parse: parseFloat8 },
  bool: { schema: { type: 'boolean' }, parse: parseBool },
  text: STRING,
  varchar: STRING,
  bpchar: STRING,
  name: STRING,
  char: STRING,
  uuid: { schema: { type: 'string', format: 'uuid' }, parse: identity },
  date: { schema: { type: 'string', format: 'date' }, parse: identity },
  timestamp: { schema: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' }, parse: isoTimestamp },
  timestamptz: { schema: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' }, parse: isoTimestamptz },
  time: { schema: { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' }, parse: identity },
  timetz: { schema: { type: 'string', format: 'time', airbyte_type: 'time_with_timezone' }, parse: identity },
  json: { schema: {}, parse: parseJson },
  jsonb: { schema: {}, parse: parseJson },
  bytea: { schema: { type: 'string', contentEncoding: 'base64' }, parse: parseBytea },
};

/** The type of each OID, from pg_type rows (domains followed to their base, arrays to their elements). */
export function typeOf(oid: number, rows: ReadonlyMap<number, PgTypeRow>, depth = 0): PgType {
  const row = rows.get(oid);
  if (row === undefined || depth > 8) return STRING;
  if (row.kind === 'd') return typeOf(row.base, rows, depth + 1);
  if (row.category === 'A' && row.elem !== 0) {
    const element = typeOf(row.elem, rows, depth + 1);
    const delim = row.delim === '' ? ',' : row.delim;
    const parseElement = element.parse;
    return {
      schema: { type: 'array', items: nullable(element.schema) },
      parse: (text) => parsePgArray(text, parseElement, delim),
    };
  }
  if (row.builtin) return BUILTIN[row.name] ?? STRING;
  return STRING;
}

/** The OIDs `typeOf` needs rows for beyond these (array elements, domain bases), to fetch next. */
export function missingOids(oids: Iterable<number>, rows: ReadonlyMap<number, PgTypeRow>): number[] {
  const missing = new Set<number>();
  const visit = (oid: number, depth: number): void => {
    if (depth > 8) return;
    const row = rows.get(oid);
    if (row === undefined) {
      missing.add(oid);
      return;
    }
    if (row.kind === 'd') visit(row.base, depth + 1);
    else if (row.category === 'A' && row.elem !== 0) visit(row.elem, depth + 1);
  };
  for (const oid of oids) visit(oid, 0);
  return [...missing];
}
