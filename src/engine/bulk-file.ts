/**
 * The files of a bulk object: records → lines (CSV rows or JSON Lines), written in constant memory, and
 * rows read back from a finished file (to put a rejected row in the ledger).
 *
 * - JSONL: each line is the record's exact JSON, as serialized once by the pipeline.
 * - CSV: a header, then one row per record (RFC 4180: a field holding the delimiter, a quote or a line
 *   break is quoted, quotes doubled). A null is an empty field, an empty string `""`; numbers keep every
 *   digit; nested values are exact JSON. The columns are the configured ones, or the fields of the first
 *   record of the run (the same for every file of the run); with inferred columns, a record with a field
 *   outside them is rejected rather than cut short.
 * - gzip (optional): through zlib, so the file on disk is compressed; the size limit counts the
 *   uncompressed bytes (what the destination unpacks), `BulkFile.bytes` the file's size on disk.
 *
 * Writes are gathered into chunks of about 64 KB, and the writer reports backpressure (`congested`) until
 * the stream drains: the pipeline stops reading meanwhile, so memory stays flat whatever the file size.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { type JsonObject, type JsonValue, LosslessNumber, parseJson, stringifyJson } from '../protocol/json.ts';
import type { BulkFile } from '../sdk/destination.ts';

const CHUNK_BYTES = 64 * 1024;
const NEEDS_QUOTES = /[",\r\n]/;

function csvCell(value: JsonValue | undefined): string {
  if (value === null || value === undefined) return '';
  let text: string;
  if (typeof value === 'string') {
    if (value === '') return '""';
    text = value;
  } else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || value instanceof LosslessNumber) {
    return String(value);
  } else text = stringifyJson(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(cells: readonly string[]): string {
  return `${cells.map((cell) => (NEEDS_QUOTES.test(cell) || cell === '' ? `"${cell.replaceAll('"', '""')}"` : cell)).join(',')}\n`;
}

/** Turns mapped records into lines; one per run, so every file of the run has the same CSV columns. */
export class LineEncoder {
  private known: ReadonlySet<string> | undefined;
  private cols: readonly string[] | undefined;
  /** Explicit columns select fields; inferred ones must hold every field of every record. */
  private readonly selecting: boolean;

  constructor(
    readonly format: 'csv' | 'jsonl',
    columns: readonly string[] | undefined,
  ) {
    this.cols = columns;
    this.known = columns === undefined ? undefined : new Set(columns);
    this.selecting = columns !== undefined;
  }

  get columns(): readonly string[] | undefined {
    return this.cols;
  }

  /** The header line of a CSV file ('' for JSONL, or before the columns are known). */
  header(): string {
    return this.format === 'csv' && this.cols !== undefined ? csvLine(this.cols) : '';
  }

  /** The record's line, or why it cannot be written. */
  encode(data: JsonObject, json: string): string | { readonly reject: string } {
    if (this.format === 'jsonl') return `${json}\n`;
    let columns = this.cols;
    if (columns === undefined) {
      columns = this.cols = Object.keys(data);
      this.known = new Set(columns);
    }
    if (!this.selecting) {
      const known = this.known!;
      for (const key in data) {
        if (!known.has(key)) {
          return { reject: `field "${key}" is not a column of this CSV file (${columns.join(', ')}); list every column in \`columns\` to choose them` };
        }
      }
    }
    let line = '';
    for (let index = 0; index < columns.length; index++) {
      const column = columns[index]!;
      if (index > 0) line += ',';
      line += csvCell(Object.hasOwn(data, column) ? data[column] : undefined);
    }
    return `${line}\n`;
  }
}

/** One file being written. `rows` counts rows, `bytes` the uncompressed bytes (header included). */
export class BulkFileWriter {
  rows = 0;
  bytes = 0;
  private chunk = '';
  private readonly out: WriteStream;
  private readonly head: Writable;
  private readonly gzip: Gzip | undefined;
  private waitingForDrain = false;
  private failure: Error | undefined;

  constructor(
    readonly path: string,
    compress: boolean,
    header: string,
    private readonly onDrain: () => void,
  ) {
    this.out = createWriteStream(path);
    this.out.on('error', (error) => (this.failure ??= error));
    if (compress) {
      this.gzip = createGzip();
      this.gzip.on('error', (error) => (this.failure ??= error));
      this.gzip.pipe(this.out);
      this.head = this.gzip;
    } else this.head = this.out;
    this.chunk = header;
    this.bytes = Buffer.byteLength(header);
    this.head.on('drain', () => {
      this.waitingForDrain = false;
      this.onDrain();
    });
  }

  /** The stream's buffer is full: stop appending until it drains (`onDrain`). */
  get congested(): boolean {
    return this.waitingForDrain;
  }

  append(line: string, bytes: number): void {
    this.chunk += line;
    this.rows++;
    this.bytes += bytes;
    if (this.chunk.length >= CHUNK_BYTES) this.writeChunk();
  }

  private writeChunk(): void {
    if (this.chunk === '') return;
    const ok = this.head.write(this.chunk);
    this.chunk = '';
    if (!ok) this.waitingForDrain = true;
  }

  /** Flush, close and fsync-free finish; returns the size on disk. */
  async finish(): Promise<number> {
    this.writeChunk();
    this.head.end();
    if (!this.out.writableFinished) await once(this.out, 'close');
    if (this.failure !== undefined) throw this.failure;
    return (await stat(this.path)).size;
  }

  /** Give up on the file (the run stopped before it was complete). */
  async discard(): Promise<void> {
    this.head.destroy();
    this.out.destroy();
    await unlink(this.path).catch(() => undefined);
  }
}

/**
 * The rows of a finished file, in order, with their 0-based row index: JSONL lines parsed exactly, CSV rows
 * as objects of strings keyed by the file's columns. `wanted` picks the rows to parse (others are skipped).
 */
export async function* readBulkRows(file: BulkFile, wanted: (index: number) => boolean = () => true): AsyncGenerator<{ index: number; row: JsonValue }> {
  let input: Readable = createReadStream(file.path);
  if (file.gzip) input = input.pipe(createGunzip());
  try {
    if (file.format === 'jsonl') {
      let index = 0;
      for await (const line of createInterface({ input, crlfDelay: Infinity })) {
        if (line === '') continue;
        if (wanted(index)) yield { index, row: parseJson(line) };
        index++;
      }
      return;
    }
    const parser = input.pipe(parse({ from_line: file.columns === undefined ? 1 : 2, relax_column_count: true }));
    let index = 0;
    for await (const cells of parser as AsyncIterable<string[]>) {
      if (wanted(index)) {
        const row: JsonObject = {};
        (file.columns ?? cells.map((_, position) => `column_${position + 1}`)).forEach((column, position) => {
          row[column] = cells[position] ?? null;
        });
        yield { index, row };
      }
      index++;
    }
  } finally {
    input.destroy();
  }
}

/** The file name's extension for a format: `csv`, `jsonl`, with `.gz` when compressed. */
export function bulkExtension(format: 'csv' | 'jsonl', gzip: boolean): string {
  return gzip ? `${format}.gz` : format;
}

/** Fills a file-name template: `{activation}`, `{run}`, `{index}`, `{date}` (UTC, YYYYMMDD), `{time}` (HHMMSS), `{ext}`. */
export function bulkFileName(template: string | undefined, values: { activation: string; run: string; index: number; ext: string; at: Date }): string {
  const iso = values.at.toISOString();
  const date = iso.slice(0, 10).replaceAll('-', '');
  const time = iso.slice(11, 19).replaceAll(':', '');
  const safe = (text: string) => text.replace(/[^\w.-]/g, '_');
  const pattern = template ?? '{activation}-{run}-{index}.{ext}';
  return pattern.replace(/\{(activation|run|index|date|time|ext)\}/g, (_, key: string) => {
    switch (key) {
      case 'activation':
        return safe(values.activation);
      case 'run':
        return safe(values.run);
      case 'index':
        return String(values.index).padStart(5, '0');
      case 'date':
        return date;
      case 'time':
        return time;
      default:
        return values.ext;
    }
  });
}
