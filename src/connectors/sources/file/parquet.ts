/**
 * Parquet files, read through DuckDB one chunk (2048 rows) at a time, so memory stays flat whatever the
 * file size. Values are converted by duckdb-values.ts (exact BIGINT and DECIMAL, ISO timestamps). A record's
 * origin line is its 1-based row number in the file. A file DuckDB cannot read fails with SOURCE_FAILED.
 *
 * This module loads DuckDB's native binding; the reader table imports it lazily so CSV and JSON runs
 * never pay for that.
 */
import { DuckDBInstance, DuckDBTypeId } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBDataChunk, DuckDBResult, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { SluiceError } from '../../../sdk/errors.ts';
import type { SourceMessage } from '../../../sdk/source.ts';
import type { JsonSchema } from '../../../sdk/spec.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import { type ToJson, converterFor } from './duckdb-values.ts';
import { type FileTarget, type FormatReader, errorMessage } from './messages.ts';

const SELECT = 'SELECT * FROM read_parquet($1)';

interface Session {
  readonly connection: DuckDBConnection;
  close(): void;
}

/** A private in-memory DuckDB per file: nothing is shared between runs, and closing frees everything. */
async function connect(): Promise<Session> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

function failed(target: FileTarget, error: unknown): SluiceError {
  // DuckDB messages carry the SQL on later lines; users need only the first.
  const message = errorMessage(error).split('\n')[0];
  return new SluiceError('SOURCE_FAILED', `cannot read ${target.file} as Parquet: ${message}`, { cause: error });
}

async function open(connection: DuckDBConnection, target: FileTarget, sql: string): Promise<DuckDBResult> {
  try {
    return await connection.stream(sql, [target.file]);
  } catch (error) {
    throw failed(target, error);
  }
}

async function* readParquet(target: FileTarget): AsyncGenerator<SourceMessage[]> {
  const session = await connect();
  try {
    const result = await open(session.connection, target, SELECT);
    const names = result.deduplicatedColumnNames();
    const converters = result.columnTypes().map(converterFor);
    const width = names.length;
    const { stream, file } = target;
    let row = 0;
    for (;;) {
      // Cancelled: stop quietly, as text.ts explains.
      if (target.ctx.signal.aborted) return;
      let chunk: DuckDBDataChunk | null;
      try {
        chunk = await result.fetchChunk();
      } catch (error) {
        throw failed(target, error);
      }
      if (chunk === null || chunk.rowCount === 0) return;
      const count = chunk.rowCount;
      const columns: DuckDBValue[][] = [];
      for (let c = 0; c < width; c++) columns.push(chunk.getColumnValues(c));
      const batch: SourceMessage[] = [];
      for (let r = 0; r < count; r++) {
        const data: JsonObject = {};
        for (let c = 0; c < width; c++) {
          const convert = converters[c] as ToJson;
          data[names[c] as string] = convert((columns[c] as DuckDBValue[])[r] as DuckDBValue);
        }
        batch.push({ type: 'record', stream, data, origin: { file, line: ++row } });
      }
      yield batch;
    }
  } finally {
    session.close();
  }
}

function jsonType(type: DuckDBType): string {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return 'boolean';
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.UHUGEINT:
      return 'integer';
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.DECIMAL:
      return 'number';
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return 'array';
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
      return 'object';
    default:
      return 'string';
  }
}

/** The stream schema from the Parquet schema itself: no rows are read. Every column may be null. */
async function parquetSchema(target: FileTarget): Promise<JsonSchema> {
  const session = await connect();
  try {
    const result = await open(session.connection, target, `${SELECT} LIMIT 0`);
    const types = result.columnTypes();
    const properties: Record<string, JsonSchema> = {};
    result.deduplicatedColumnNames().forEach((name, i) => {
      properties[name] = { type: [jsonType(types[i] as DuckDBType), 'null'] };
    });
    return { type: 'object', properties };
  } finally {
    session.close();
  }
}

export const parquetReader: FormatReader = { read: readParquet, schema: parquetSchema };
