/**
 * Pure helpers of the postgres destination: quoting identifiers, choosing a column type from a JSON Schema
 * (or, for a field the schema does not describe, from the values of a batch), and encoding values as
 * COPY text-format fields — exact numbers, JSON for jsonb, and the escapes COPY needs.
 */
import { LosslessNumber, stringifyJson } from '../../../protocol/json.ts';
import type { JsonObject, JsonValue } from '../../../protocol/json.ts';
import type { JsonSchema } from '../../../sdk/spec.ts';
import { MAX_IDENTIFIER_BYTES } from './spec.ts';

/** A safely quoted identifier: `"my ""odd"" name"`. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."table"`. */
export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** A string literal, for the few statements that cannot take parameters. */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Cut a name to the bytes PostgreSQL keeps, never inside a UTF-8 character. */
export function truncateIdentifier(name: string, maxBytes = MAX_IDENTIFIER_BYTES): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  let out = '';
  let bytes = 0;
  for (const char of name) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}

/** The table an overwrite run fills before swapping it in: `<table>__sluice_<run id, short>`. */
export function overwriteTableName(table: string, runId: string): string {
  const suffix = `__sluice_${shortRunId(runId)}`;
  return truncateIdentifier(table, MAX_IDENTIFIER_BYTES - suffix.length) + suffix;
}

/** Whether `name` is an overwrite table of `table` (one left behind by a killed run, say). */
export function isOverwriteTableOf(name: string, table: string): boolean {
  const match = /^(.*)__sluice_[a-z0-9]{1,8}$/.exec(name);
  return match !== null && match[1] === truncateIdentifier(table, MAX_IDENTIFIER_BYTES - 17);
}

function shortRunId(runId: string): string {
  const letters = runId.toLowerCase().replace(/[^a-z0-9]/g, '');
  return letters.slice(0, 8) || 'run';
}

/** The column types the destination creates. */
export type ColumnType = 'bigint' | 'numeric' | 'boolean' | 'timestamptz' | 'date' | 'text' | 'jsonb';

/** The column type for one JSON Schema property: undefined when the schema says nothing usable. */
export function columnTypeForSchema(schema: unknown): ColumnType | undefined {
  if (schema === true || schema === undefined || schema === null || typeof schema !== 'object') return undefined;
  const types = new Set<string>();
  const formats = new Set<string>();
  collectTypes(schema as JsonSchema, types, formats, 0);
  types.delete('null');
  if (types.size === 0) return undefined;
  if (types.size === 1) {
    const [only] = types;
    switch (only) {
      case 'integer':
        return 'bigint';
      case 'number':
        return 'numeric';
      case 'boolean':
        return 'boolean';
      case 'string':
        if (formats.size === 1 && formats.has('date-time')) return 'timestamptz';
        if (formats.size === 1 && formats.has('date')) return 'date';
        return 'text';
      case 'object':
      case 'array':
        return 'jsonb';
      default:
        return undefined;
    }
  }
  if (types.size === 2 && types.has('integer') && types.has('number')) return 'numeric';
  return 'jsonb';
}

function collectTypes(schema: JsonSchema, types: Set<string>, formats: Set<string>, depth: number): void {
  if (depth > 8) return;
  const type = schema.type;
  if (typeof type === 'string') types.add(type);
  else if (Array.isArray(type)) for (const item of type) if (typeof item === 'string') types.add(item);
  if (typeof schema.format === 'string' && (type === 'string' || (Array.isArray(type) && type.includes('string')))) formats.add(schema.format);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (Array.isArray(branches)) {
      for (const branch of branches) if (branch !== null && typeof branch === 'object') collectTypes(branch as JsonSchema, types, formats, depth + 1);
    }
  }
}

/** The property schemas of a stream's JSON Schema (empty when it declares none). */
export function schemaProperties(schema: JsonSchema | undefined): Record<string, unknown> {
  const properties = schema?.properties;
  return properties !== null && typeof properties === 'object' && !Array.isArray(properties) ? (properties as Record<string, unknown>) : {};
}

/**
 * A column type for a field the stream schema does not describe, from the values one batch holds:
 * integers → bigint, other numbers → numeric, booleans, strings → text (never guessed to be dates),
 * objects and arrays → jsonb; a mix → jsonb; only nulls → text.
 */
export function columnTypeForValues(values: Iterable<JsonValue | undefined>): ColumnType {
  let kind: ColumnType | undefined;
  const merge = (next: ColumnType): void => {
    if (kind === undefined || kind === next) kind = next;
    else if ((kind === 'bigint' && next === 'numeric') || (kind === 'numeric' && next === 'bigint')) kind = 'numeric';
    else kind = 'jsonb';
  };
  for (const value of values) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'boolean') merge('boolean');
    else if (typeof value === 'bigint') merge('bigint');
    else if (typeof value === 'number') merge(Number.isInteger(value) ? 'bigint' : 'numeric');
    else if (value instanceof LosslessNumber) merge(/^-?\d+$/.test(value.value) ? 'bigint' : 'numeric');
    else if (typeof value === 'string') merge('text');
    else merge('jsonb');
    if (kind === 'jsonb') break;
  }
  return kind ?? 'text';
}

/** How a value is turned into a column's text: jsonb columns take JSON, every other type its plain text. */
export type ValueKind = 'json' | 'plain';

/** `jsonb` and `json` columns take JSON text; every other type takes the value's text. */
export function valueKindOf(sqlType: string): ValueKind {
  return sqlType === 'jsonb' || sqlType === 'json' ? 'json' : 'plain';
}

/**
 * The text PostgreSQL parses for a value, or null for SQL NULL. Numbers keep every digit (bigint and
 * LosslessNumber/ExactDecimal write their own text); objects and arrays in a non-JSON column are their
 * JSON text, so the server refuses or stores them visibly rather than as `[object Object]`.
 */
export function valueText(value: JsonValue | undefined, kind: ValueKind): string | null {
  if (value === null || value === undefined) return null;
  if (kind === 'json') return stringifyJson(value);
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return String(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return value instanceof LosslessNumber ? value.value : stringifyJson(value);
  }
}

const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPES = /[\\\n\r\t]/g;
const ESCAPE_OF: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One field of COPY text format: `\N` for NULL, backslash, newline, carriage return and tab escaped. */
export function copyField(text: string | null): string {
  if (text === null) return '\\N';
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPES, (char) => ESCAPE_OF[char]!) : text;
}

/** A record's fields, as the COPY field for each column (in order). */
export function copyRow(data: JsonObject, columns: readonly string[], kinds: readonly ValueKind[], extra: string): string {
  let row = extra;
  for (let index = 0; index < columns.length; index++) {
    row += '\t' + copyField(valueText(data[columns[index]!], kinds[index]!));
  }
  return row + '\n';
}
