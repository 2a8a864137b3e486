/**
 * Where a bulk object's jobs are recorded between a file's upload and its results, so that a run killed
 * at any point is finished by the next one instead of uploading again: a job is recorded `uploading`
 * before the upload starts, `polling` (with the remote job) once it is accepted, and removed once its
 * rows have settled and the state after them is saved.
 *
 * One store per activation. The CLI keeps a JSON file next to the state file (written atomically: temp
 * file, fsync, rename); the server keeps a table (`sluice.bulk_jobs`, src/store/bulk-jobs.ts).
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type JsonValue, parseJson, stringifyJson } from '../protocol/json.ts';
import type { BulkFile } from '../sdk/destination.ts';
import type { State } from '../sdk/source.ts';

export interface BulkJobRecord {
  readonly runId: string;
  /** 0-based number of the file within its run. */
  readonly fileIndex: number;
  /** `uploading`: the upload may or may not have reached the destination; `polling`: it did, `job` says which. */
  readonly status: 'uploading' | 'polling';
  readonly file: BulkFile;
  readonly job?: JsonValue;
  /** 1, or 2 for the one re-upload after a failed job. */
  readonly attempt: number;
  /**
   * The newest source state seen when the file was cut: once this file and every earlier file of its run
   * have settled, no record before it is pending, so it may be committed.
   */
  readonly stateAfter?: State;
  /** When the file's first record was written to the store (ISO); orders runs. */
  readonly createdAt: string;
}

export interface BulkJobStore {
  /** The activation's recorded jobs: oldest run first, then by file index. */
  list(): Promise<BulkJobRecord[]>;
  /** Insert or replace (by run and file index). Durable when it resolves. */
  put(record: BulkJobRecord): Promise<void>;
  remove(runId: string, fileIndex: number): Promise<void>;
}

function ordered(iterable: Iterable<BulkJobRecord>): BulkJobRecord[] {
  const records = [...iterable];
  const firstSeen = new Map<string, string>();
  for (const record of records) {
    const seen = firstSeen.get(record.runId);
    if (seen === undefined || record.createdAt < seen) firstSeen.set(record.runId, record.createdAt);
  }
  return records.sort((a, b) => {
    const runA = firstSeen.get(a.runId)!;
    const runB = firstSeen.get(b.runId)!;
    if (runA !== runB) return runA < runB ? -1 : 1;
    if (a.runId !== b.runId) return a.runId < b.runId ? -1 : 1;
    return a.fileIndex - b.fileIndex;
  });
}

const keyOf = (runId: string, fileIndex: number) => `${runId}#${fileIndex}`;

export class MemoryBulkJobStore implements BulkJobStore {
  readonly records = new Map<string, BulkJobRecord>();

  async list(): Promise<BulkJobRecord[]> {
    return ordered(this.records.values());
  }

  async put(record: BulkJobRecord): Promise<void> {
    this.records.set(keyOf(record.runId, record.fileIndex), record);
  }

  async remove(runId: string, fileIndex: number): Promise<void> {
    this.records.delete(keyOf(runId, fileIndex));
  }
}

/** A JSON file holding every recorded job; each change rewrites it atomically, one write at a time. */
export class FileBulkJobStore implements BulkJobStore {
  private records: Map<string, BulkJobRecord> | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  private async load(): Promise<Map<string, BulkJobRecord>> {
    if (this.records !== undefined) return this.records;
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const list = text.trim() === '' ? [] : ((parseJson(text) as unknown as { jobs?: BulkJobRecord[] }).jobs ?? []);
    this.records = new Map(list.map((record) => [keyOf(record.runId, record.fileIndex), record]));
    return this.records;
  }

  async list(): Promise<BulkJobRecord[]> {
    return ordered((await this.load()).values());
  }

  put(record: BulkJobRecord): Promise<void> {
    return this.change((records) => records.set(keyOf(record.runId, record.fileIndex), record));
  }

  remove(runId: string, fileIndex: number): Promise<void> {
    return this.change((records) => records.delete(keyOf(runId, fileIndex)));
  }

  private change(apply: (records: Map<string, BulkJobRecord>) => void): Promise<void> {
    const next = this.queue.then(async () => {
      const records = await this.load();
      apply(records);
      await this.write(records);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async write(records: Map<string, BulkJobRecord>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${process.pid}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(`${stringifyJson({ jobs: ordered(records.values()) })}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path);
  }
}
