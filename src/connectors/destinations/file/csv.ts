/**
 * Records → CSV rows, quoted by csv-stringify (RFC 4180: a field with the delimiter, a quote or a line
 * break is quoted, quotes doubled). Numbers keep every digit: bigint and exact decimals are written as
 * their digits, nested values as exact JSON. A null is an empty field and an empty string is `""`, so
 * readers that tell them apart (DuckDB, Postgres COPY) get back what was sent.
 *
 * The column set is fixed once — by `columns`, by the header of a file being appended to, or by the first
 * record — and a record with a field outside an inferred set is rejected rather than silently cut short.
 */
import { stringify } from 'csv-stringify/sync';
import type { Options as StringifyOptions } from 'csv-stringify/sync';
import { parse } from 'csv-parse/sync';
import { LosslessNumber, stringifyJson } from '../../../protocol/json.ts';
import type { JsonObject, JsonValue } from '../../../protocol/json.ts';
import type { OutgoingRecord } from '../../../sdk/destination.ts';
import { delivered, rejected } from '../../../sdk/outcome.ts';
import type { Outcome } from '../../../sdk/outcome.ts';

export interface CsvOptions {
  readonly columns?: readonly string[];
  readonly delimiter: string;
  readonly header: boolean;
}

export interface Encoded {
  readonly chunk: string;
  readonly outcomes: readonly Outcome[];
}

type Cell = string | null;

function stringifyOptions(delimiter: string): StringifyOptions {
  return {
    delimiter,
    record_delimiter: 'unix',
    // Also quote a lone \r: with an explicit record delimiter csv-stringify would quote only \n, and many
    // readers take a bare \r for the end of a row.
    quote_record_delimiter: true,
    // Quote empty strings (only strings are ever ''), leaving null as a bare empty field.
    quoted_match: /^$/,
  };
}

export class CsvEncoder {
  private columns: readonly string[] | undefined;
  private known: ReadonlySet<string>;
  /** Explicit columns select fields; inferred ones must hold every field of every record. */
  private readonly selecting: boolean;
  private headerDue: boolean;
  private readonly options: CsvOptions;
  private readonly stringifyOptions: StringifyOptions;

  constructor(options: CsvOptions) {
    this.options = options;
    this.stringifyOptions = stringifyOptions(options.delimiter);
    this.columns = options.columns;
    this.known = new Set(options.columns);
    this.selecting = options.columns !== undefined;
    this.headerDue = options.header;
  }

  /** Appending to a file with content: keep its header's columns (unless given) and never repeat the header. */
  continueFile(firstLine: string | undefined): void {
    this.headerDue = false;
    if (this.columns === undefined && this.options.header && firstLine !== undefined) {
      const header = parseHeader(firstLine, this.options.delimiter);
      if (header !== undefined) this.setColumns(header);
    }
  }

  encode(records: readonly OutgoingRecord[]): Encoded {
    const first = records[0];
    if (first === undefined) return { chunk: '', outcomes: [] };
    const columns = this.columns ?? this.setColumns(Object.keys(first.data));
    const known = this.known;
    const rows: Cell[][] = [];
    if (this.headerDue) {
      rows.push([...columns]);
      this.headerDue = false;
    }
    const outcomes = records.map((record): Outcome => {
      const stray = this.selecting ? undefined : Object.keys(record.data).find((key) => !known.has(key));
      if (stray !== undefined) {
        return rejected(`field "${stray}" is not a column of this CSV file (${columns.join(', ')}); list every column in \`columns\` to choose them`);
      }
      rows.push(toRow(record.data, columns));
      return delivered();
    });
    const chunk = rows.length === 0 ? '' : stringify(rows, this.stringifyOptions);
    return { chunk, outcomes };
  }

  private setColumns(columns: readonly string[]): readonly string[] {
    this.columns = columns;
    this.known = new Set(columns);
    return columns;
  }
}

function toRow(data: JsonObject, columns: readonly string[]): Cell[] {
  return columns.map((column) => toCell(Object.hasOwn(data, column) ? data[column] : undefined));
}

function toCell(value: JsonValue | undefined): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  // String() of a bigint or a LosslessNumber is its exact digits; of a double, the shortest exact form.
  if (typeof value !== 'object' || value instanceof LosslessNumber) return String(value);
  return stringifyJson(value);
}

function parseHeader(line: string, delimiter: string): string[] | undefined {
  const rows = parse(line, { delimiter, relax_column_count: true }) as string[][];
  const header = rows[0];
  return header !== undefined && header.length > 0 ? header : undefined;
}
