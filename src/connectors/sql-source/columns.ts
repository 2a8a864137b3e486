/**
 * From a result's columns to the stream `discover` returns: one JSON Schema property per column (nullable
 * columns also allow null), the primary key (configured, else the catalog's), the cursor field and sync
 * modes. Configured columns that the result lacks are refused here, naming them.
 */
import { SluiceError } from '../../sdk/errors.ts';
import type { StreamDescriptor } from '../../sdk/source.ts';
import type { JsonSchema } from '../../sdk/spec.ts';
import { assertUniqueColumns } from './read.ts';
import type { SqlSourceConfig } from './spec.ts';

export interface ColumnInfo {
  readonly name: string;
  /** The JSON Schema of a non-null value. */
  readonly schema: JsonSchema;
  readonly nullable: boolean;
}

/** Throws CONFIG_INVALID when cursor_field or a primary_key column is not among the columns. */
export function assertConfiguredColumns(config: SqlSourceConfig, columns: readonly string[], what: string): void {
  assertUniqueColumns(columns);
  const known = new Set(columns);
  const list = columns.length > 12 ? `${columns.slice(0, 12).join(', ')}, …` : columns.join(', ');
  if (config.cursor_field !== undefined && !known.has(config.cursor_field)) {
    throw new SluiceError('CONFIG_INVALID', `cursor_field: ${what} has no column named ${config.cursor_field} (its columns: ${list})`);
  }
  for (const column of config.primary_key ?? []) {
    if (!known.has(column)) throw new SluiceError('CONFIG_INVALID', `primary_key: ${what} has no column named ${column} (its columns: ${list})`);
  }
}

export function nullable(schema: JsonSchema): JsonSchema {
  const type = schema.type;
  if (type === undefined) return schema;
  if (Array.isArray(type)) return type.includes('null') ? schema : { ...schema, type: [...type, 'null'] };
  return { ...schema, type: [type, 'null'] };
}

export function streamDescriptor(config: SqlSourceConfig, stream: string, columns: readonly ColumnInfo[], catalogKey: readonly string[] | undefined, what: string): StreamDescriptor {
  assertConfiguredColumns(
    config,
    columns.map((column) => column.name),
    what,
  );
  const properties: Record<string, JsonSchema> = {};
  for (const column of columns) properties[column.name] = column.nullable ? nullable(column.schema) : column.schema;
  const key = config.primary_key ?? (catalogKey !== undefined && catalogKey.length > 0 ? catalogKey : undefined);
  return {
    name: stream,
    jsonSchema: { type: 'object', properties },
    ...(key === undefined ? {} : { primaryKey: key.map((column) => [column]) }),
    ...(config.cursor_field === undefined ? {} : { cursorField: [config.cursor_field] }),
    syncModes: config.cursor_field === undefined ? ['full_refresh'] : ['full_refresh', 'incremental'],
  };
}
