/**
 * The one table from format to reader. Parquet is imported on first use: it loads DuckDB's native
 * binding, which CSV and JSON runs should not pay for.
 */
import { csvReader } from './csv.ts';
import { jsonArrayReader } from './json-array.ts';
import { jsonlReader } from './jsonl.ts';
import type { FormatReader } from './messages.ts';
import type { Format } from './spec.ts';

const READERS: Readonly<Record<Format, () => Promise<FormatReader>>> = {
  csv: async () => csvReader,
  jsonl: async () => jsonlReader,
  json: async () => jsonArrayReader,
  parquet: async () => (await import('./parquet.ts')).parquetReader,
};

export function readerFor(format: Format): Promise<FormatReader> {
  return READERS[format]();
}
