/**
 * A run's hold on its output file: encodes each batch (JSONL or CSV) and appends it, one batch at a time
 * and in call order, so concurrent writes can never interleave lines or race the CSV header.
 *
 * The file opens in `open` when the config fixes the mode, else at the first write, where the activation's
 * sync mode is known.
 */
import { open } from 'node:fs/promises';
import type { DestinationSyncMode, OutgoingRecord } from '../../../sdk/destination.ts';
import { allOutcomes, delivered } from '../../../sdk/outcome.ts';
import type { Outcome } from '../../../sdk/outcome.ts';
import { CsvEncoder } from './csv.ts';
import type { Encoded } from './csv.ts';
import { FileSink } from './sink.ts';
import type { FileMode } from './sink.ts';
import { resolveFormat } from './spec.ts';
import type { FileConfig } from './spec.ts';

export class FileSession {
  readonly sink: FileSink;
  private readonly config: FileConfig;
  private readonly csv: CsvEncoder | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(config: FileConfig, path: string) {
    this.config = config;
    this.sink = new FileSink(path);
    this.csv =
      resolveFormat(config) === 'csv'
        ? new CsvEncoder({ columns: config.columns, delimiter: config.delimiter, header: config.header })
        : undefined;
  }

  /** Open now if the config says how; otherwise wait for the first write's sync mode. */
  async start(): Promise<void> {
    if (this.config.mode !== undefined) await this.openAs(this.config.mode);
  }

  write(records: readonly OutgoingRecord[], syncMode: DestinationSyncMode): Promise<readonly Outcome[]> {
    const next = this.queue.then(() => this.writeNow(records, syncMode));
    // The queue only orders writes; each caller sees its own failure through `next`.
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** `complete: false` (a failed or interrupted run) leaves an overwritten file as it was. */
  async close(complete = true): Promise<void> {
    await this.queue;
    await this.sink.close(complete);
  }

  private async writeNow(records: readonly OutgoingRecord[], syncMode: DestinationSyncMode): Promise<readonly Outcome[]> {
    if (!this.sink.isOpen) await this.openAs(syncMode === 'append' ? 'append' : 'overwrite');
    const { chunk, outcomes } = this.encode(records);
    if (chunk !== '') await this.sink.write(chunk);
    return outcomes;
  }

  private encode(records: readonly OutgoingRecord[]): Encoded {
    if (this.csv !== undefined) return this.csv.encode(records);
    if (records.length === 0) return { chunk: '', outcomes: [] };
    // `json` is the record serialized once, exactly, by the engine: written as is, never re-stringified.
    // One join with a last empty line gives the final newline: appending it would copy the chunk again.
    const lines = new Array<string>(records.length + 1);
    for (let index = 0; index < records.length; index++) lines[index] = records[index]!.json;
    lines[records.length] = '';
    return { chunk: lines.join('\n'), outcomes: allOutcomes(records.length, delivered()) };
  }

  private async openAs(mode: FileMode): Promise<void> {
    const size = await this.sink.open(mode);
    if (size === 0) return;
    const existing = await inspect(this.sink.path, size);
    this.csv?.continueFile(existing.firstLine);
    // A file cut off mid-line (an editor, a crash) must not glue its last line to our first.
    if (!existing.endsWithNewline) await this.sink.write('\n');
  }
}

/** The header line of an existing file; a header longer than this is not one Sluice wrote. */
const MAX_HEADER_BYTES = 64 * 1024;

/** What appending needs to know of a file that already has content. */
async function inspect(path: string, size: number): Promise<{ firstLine: string | undefined; endsWithNewline: boolean }> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, MAX_HEADER_BYTES));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const text = head.subarray(0, bytesRead).toString('utf8');
    const end = text.indexOf('\n');
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    const firstLine = end !== -1 ? text.slice(0, end) : bytesRead === size ? text : undefined;
    return { firstLine: firstLine?.replace(/\r$/, ''), endsWithNewline: last[0] === 0x0a };
  } finally {
    await handle.close();
  }
}
