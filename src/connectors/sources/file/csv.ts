/**
 * CSV files: records keyed by the header (or `column_names`), strings unless `types` says otherwise,
 * unquoted `null_values` as null. A row with the wrong number of fields, an uncastable typed value or an
 * open quote becomes an `invalid` message naming the file and line; reading goes on with the next row.
 */
import type { SourceMessage } from '../../../sdk/source.ts';
import type { JsonSchema } from '../../../sdk/spec.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import { type Cast, castFor, describeType } from './csv-cast.ts';
import { CsvTokenizer, type CsvRowSink } from './csv-tokenizer.ts';
import { type FileTarget, type FormatReader, invalidMessage } from './messages.ts';
import type { ColumnType } from './spec.ts';
import { readText } from './text.ts';

class CsvRecords implements CsvRowSink {
  out: SourceMessage[] = [];
  private readonly target: FileTarget;
  private columns: string[] | undefined;
  private casts: (Cast | undefined)[] = [];
  private headerPending: boolean;
  // One null value (the default, '') is compared directly; a Set only when there are several.
  private readonly nullValue: string | undefined;
  private readonly nullSet: ReadonlySet<string> | undefined;

  constructor(target: FileTarget) {
    this.target = target;
    const { header, column_names: names, null_values: nulls } = target.config;
    this.headerPending = header;
    if (names !== undefined) this.useColumns(uniqueNames(names));
    this.nullValue = nulls.length === 1 ? nulls[0] : undefined;
    this.nullSet = nulls.length > 1 ? new Set(nulls) : undefined;
  }

  take(): SourceMessage[] {
    const batch = this.out;
    this.out = [];
    return batch;
  }

  row(fields: string[], quoted: readonly boolean[] | undefined, line: number, text: string, start: number, end: number): void {
    if (this.headerPending) {
      this.headerPending = false;
      if (this.columns === undefined) this.useColumns(uniqueNames(fields));
      return;
    }
    if (this.columns === undefined) this.useColumns(fields.map((_, i) => `column_${i + 1}`));
    const columns = this.columns as string[];
    if (fields.length !== columns.length) {
      this.out.push(invalidMessage(this.target, line, `expected ${columns.length} fields, found ${fields.length}`, text.slice(start, end)));
      return;
    }
    const { casts, nullValue, nullSet } = this;
    const data: JsonObject = {};
    for (let i = 0; i < columns.length; i++) {
      const value = fields[i] as string;
      const name = columns[i] as string;
      if ((quoted === undefined || !quoted[i]) && (value === nullValue || (nullSet !== undefined && nullSet.has(value)))) {
        data[name] = null;
        continue;
      }
      const cast = casts[i];
      if (cast === undefined) {
        data[name] = value;
        continue;
      }
      const typed = cast(value);
      if (typed === undefined) {
        const type = this.target.config.types[name] as ColumnType;
        const problem = `column ${name}: ${JSON.stringify(value)} is not ${describeType(type)}`;
        this.out.push(invalidMessage(this.target, line, problem, text.slice(start, end)));
        return;
      }
      data[name] = typed;
    }
    this.out.push({ type: 'record', stream: this.target.stream, data, origin: { file: this.target.file, line } });
  }

  malformed(line: number, problem: string, raw: string): void {
    this.out.push(invalidMessage(this.target, line, problem, raw));
  }

  private useColumns(columns: string[]): void {
    this.columns = columns;
    const types = this.target.config.types;
    this.casts = columns.map((name) => {
      const type = types[name];
      return type === undefined ? undefined : castFor(type);
    });
    const unknown = Object.keys(types).filter((name) => !columns.includes(name));
    if (unknown.length > 0) {
      this.target.ctx.logger.warn({ file: this.target.file, columns: unknown }, 'types names columns that the CSV file does not have');
    }
  }
}

/** Header names as keys: blanks get positional names and repeats a suffix, so no column is lost. */
export function uniqueNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.map((raw, i) => {
    let name = raw === '' ? `column_${i + 1}` : raw;
    for (let n = 2; seen.has(name); n++) name = `${raw === '' ? `column_${i + 1}` : raw}_${n}`;
    seen.add(name);
    return name;
  });
}

async function* readCsv(target: FileTarget): AsyncGenerator<SourceMessage[]> {
  const records = new CsvRecords(target);
  const tokenizer = new CsvTokenizer(target.config.delimiter, records);
  for await (const chunk of readText(target.file, target.config.encoding, target.ctx.signal)) {
    tokenizer.write(chunk);
    if (records.out.length > 0) yield records.take();
  }
  tokenizer.end();
  if (records.out.length > 0) yield records.take();
}

/** Captures the first record only: discovery needs the header, not the file. */
class FirstRow implements CsvRowSink {
  fields: string[] | undefined;
  row(fields: string[]): void {
    this.fields ??= fields;
  }
  malformed(): void {}
}

async function csvColumns(target: FileTarget): Promise<string[]> {
  const { header, column_names: names, delimiter, encoding } = target.config;
  if (names !== undefined) return uniqueNames(names);
  const first = new FirstRow();
  const tokenizer = new CsvTokenizer(delimiter, first);
  for await (const chunk of readText(target.file, encoding, target.ctx.signal)) {
    tokenizer.write(chunk);
    if (first.fields !== undefined) break;
  }
  if (first.fields === undefined) tokenizer.end();
  const fields = first.fields ?? [];
  return header ? uniqueNames(fields) : fields.map((_, i) => `column_${i + 1}`);
}

const JSON_TYPES: Readonly<Record<ColumnType, string>> = { string: 'string', integer: 'integer', number: 'number', boolean: 'boolean' };

async function csvSchema(target: FileTarget): Promise<JsonSchema> {
  const properties: Record<string, JsonSchema> = {};
  for (const name of await csvColumns(target)) {
    // Every column can be null: an empty field (or another null value) reads as null.
    properties[name] = { type: [JSON_TYPES[target.config.types[name] ?? 'string'], 'null'] };
  }
  return { type: 'object', properties };
}

export const csvReader: FormatReader = { read: readCsv, schema: csvSchema };
