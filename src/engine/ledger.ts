/**
 * The ledger of rejects: every record that ends `rejected` is written here with its reason, the record
 * itself, the attempt count and where it came from, so users can see why and replay it. The CLI keeps it
 * as a JSONL file next to the state file; the server keeps it in its store.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { type JsonValue, stringifyJson } from '../protocol/json.ts';
import type { Origin } from '../sdk/source.ts';
import type { ErrorCode } from '../sdk/errors.ts';

export interface RejectEntry {
  readonly runId: string;
  readonly activation: string;
  readonly stream: string;
  readonly object?: string;
  readonly code: ErrorCode;
  readonly reason: string;
  readonly attempts: number;
  /** The mapped record when it got that far, else the source record or raw line. */
  readonly record: JsonValue;
  readonly origin?: Origin;
}

export interface RejectLedger {
  add(entry: RejectEntry): void;
  close(): Promise<void>;
}

/** Appends one JSON line per reject; durable once `close` resolves. */
export class JsonlLedger implements RejectLedger {
  private stream: WriteStream | undefined;

  constructor(readonly path: string) {}

  add(entry: RejectEntry): void {
    if (this.stream === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.stream = createWriteStream(this.path, { flags: 'a' });
    }
    this.stream.write(`${stringifyJson({ at: new Date().toISOString(), ...entry })}\n`);
  }

  async close(): Promise<void> {
    if (this.stream === undefined) return;
    this.stream.end();
    await once(this.stream, 'finish');
    this.stream = undefined;
  }
}

/** Keeps rejects in memory: for tests and dry runs. */
export class MemoryLedger implements RejectLedger {
  readonly entries: RejectEntry[] = [];
  add(entry: RejectEntry): void {
    this.entries.push(entry);
  }
  async close(): Promise<void> {}
}
