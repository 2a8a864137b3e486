/**
 * The destination contract: `spec` → `check` → objects that records are written to.
 *
 * An object is what a destination can write (a Pendo `visitor`, a GA4 `event`, an HTTP endpoint's
 * `records`). A streaming object implements `write(records) → outcomes`: exactly one outcome per record,
 * in order — never throw for one bad record; throw only when the whole batch failed, with a SluiceError
 * whose retry class says whether to retry (the engine then applies that to every record of the batch).
 *
 * A bulk object (upload → poll → results, for Marketo-style imports and file drops) has its own shape,
 * `BulkObject`; the engine writes its files and runs its jobs (src/engine/bulk.ts, docs/connector-contract.md).
 */
import type { z } from 'zod';
import type { JsonObject, JsonValue } from '../protocol/json.ts';
import type { CheckResult, ConnectorContext } from './context.ts';
import type { Outcome } from './outcome.ts';
import type { JsonSchema } from './spec.ts';

export type DestinationSyncMode = 'append' | 'overwrite' | 'insert' | 'update' | 'upsert' | 'mirror' | 'all';

export interface BatchLimits {
  readonly maxRecords: number;
  /** Serialized JSON bytes of the records in one batch. */
  readonly maxBytes: number;
  /** A partly filled batch is sent after this long, so slow sources still deliver promptly. */
  readonly maxWaitMs: number;
}

export interface RateLimits {
  /** Requests per second across the run; 0 or absent means unlimited. */
  readonly requestsPerSecond?: number;
  /** Batches in flight at once. */
  readonly concurrency?: number;
}

/** A record on its way out: its source stream, its mapped data, and that data serialized once, exactly. */
export interface OutgoingRecord {
  readonly stream: string;
  readonly data: JsonObject;
  readonly json: string;
  /**
   * With the diff-based sync modes (insert, update, upsert, mirror, all): what the record is to the
   * destination compared with what was last delivered. A `delete` (mirror mode only) carries just the
   * primary key fields of a record that vanished from the source. Undefined for append and overwrite, and
   * when the run keeps no fingerprints (protocol targets): treat it as an upsert then. Apply `create`
   * idempotently too: after a crash, a delivered record may be sent again.
   */
  readonly op?: 'create' | 'update' | 'delete';
}

/** What the records of a run look like as they arrive (after mapping): for destinations that create tables. */
export interface OutgoingStream {
  readonly name: string;
  /** JSON Schema of a mapped record (derived from the source stream's schema and the mapping). */
  readonly jsonSchema: JsonSchema;
  /** The primary key as mapped field names, when the source or the activation names one. */
  readonly primaryKey?: readonly string[];
}

export interface WriteContext<Config, Session> extends ConnectorContext {
  readonly config: Config;
  readonly session: Session;
  readonly object: string;
  readonly syncMode: DestinationSyncMode;
  /** Stable across retries of the same batch, so a receiver can drop a repeat. */
  readonly idempotencyKey: string;
  /** 1 on the first attempt. */
  readonly attempt: number;
  readonly stream: OutgoingStream;
}

type PerConfig<Config, T> = T | ((config: Config) => T);

export interface StreamingObject<Config = unknown, Session = unknown> {
  readonly title?: string;
  readonly description?: string;
  /** What a mapped record must carry; records that fail are rejected before sending, naming the field. */
  readonly fields?: z.ZodType;
  readonly syncModes: readonly DestinationSyncMode[];
  readonly batch?: PerConfig<Config, Partial<BatchLimits>>;
  write(records: readonly OutgoingRecord[], ctx: WriteContext<Config, Session>): Promise<readonly Outcome[]>;
}

/** A file the engine wrote for a bulk object: mapped records, one per row, in the order they were read. */
export interface BulkFile {
  /** Local path of the finished file (under SLUICE_HOME; removed once its results are in). */
  readonly path: string;
  /** A name for the remote side, from the object's file-name template (or `<activation>-<run>-<index>.<ext>`). */
  readonly name: string;
  /** 0-based number of the file within its run. */
  readonly index: number;
  readonly format: 'csv' | 'jsonl';
  readonly gzip: boolean;
  readonly rows: number;
  readonly bytes: number;
  /** CSV: the header's columns, in order. */
  readonly columns?: readonly string[];
}

/** What a poll learns: still working, done (results can be fetched), or the whole job failed. */
export type BulkPoll =
  | { readonly status: 'in_progress'; readonly message?: string }
  | { readonly status: 'succeeded' }
  | { readonly status: 'failed'; readonly reason: string };

export interface BulkFileSettings {
  readonly format: 'csv' | 'jsonl';
  readonly maxBytes: number;
  readonly maxRows: number;
  readonly gzip?: boolean;
  /** CSV columns, in order; default: the fields of the first record. */
  readonly columns?: readonly string[];
  /** Remote file name; `{activation}`, `{run}`, `{index}`, `{date}`, `{ext}` are filled in. */
  readonly nameTemplate?: string;
}

/**
 * Upload → poll → results (Marketo/Eloqua-style imports), or upload only (plain file drops: done when
 * uploaded). The engine writes files in constant memory, records each job in its store before and after
 * upload (a restart resumes polling instead of uploading again), polls with backoff, and maps results back
 * to records. `Job` must be JSON: it is stored.
 */
export interface BulkObject<Config = unknown, Session = unknown, Job extends JsonValue = JsonValue> {
  readonly title?: string;
  readonly description?: string;
  readonly fields?: z.ZodType;
  readonly syncModes: readonly DestinationSyncMode[];
  readonly file: PerConfig<Config, BulkFileSettings>;
  /** Jobs in flight at once (uploading or being polled). Default 2. */
  readonly maxJobs?: PerConfig<Config, number>;
  /** Give up polling a job after this long (then its rows are retried next run). Default 1 hour. */
  readonly jobTimeoutMs?: PerConfig<Config, number>;
  upload(file: BulkFile, ctx: WriteContext<Config, Session>): Promise<Job>;
  /** Absent: the job is done when `upload` resolves, and every row is delivered. */
  poll?(job: Job, ctx: WriteContext<Config, Session>): Promise<BulkPoll>;
  /** One outcome per row of the file, in row order. Absent: a succeeded job delivered every row. */
  results?(job: Job, file: BulkFile, ctx: WriteContext<Config, Session>): Promise<readonly Outcome[]>;
}

export type DestinationObject<Config = unknown, Session = unknown> = StreamingObject<Config, Session> | BulkObject<Config, Session>;

export interface DestinationDefinition<Spec extends z.ZodType = z.ZodType, Session = unknown> {
  readonly kind: 'destination';
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly spec: Spec;
  check(config: z.output<Spec>, ctx: ConnectorContext): Promise<CheckResult>;
  /** Open connections or files once per run; the result is passed to every write as `ctx.session`. */
  open?(config: z.output<Spec>, ctx: ConnectorContext): Promise<Session>;
  /**
   * Flush and release what `open` acquired; called once after the last write, even on failure.
   * `complete` is false when the run failed or was interrupted: a destination that stages content (an
   * overwrite that swaps a table or file in at the end) MUST then discard the staged content.
   */
  close?(session: Session, ctx: ConnectorContext, end: { readonly complete: boolean }): Promise<void>;
  readonly objects: { readonly [name: string]: DestinationObject<z.output<Spec>, Session> };
  readonly limits?: PerConfig<z.output<Spec>, RateLimits>;
}

/** Identity helper: gives a destination definition its types without ceremony. */
export function defineDestination<Spec extends z.ZodType, Session = undefined>(
  definition: Omit<DestinationDefinition<Spec, Session>, 'kind'>,
): DestinationDefinition<Spec, Session> {
  return { kind: 'destination', ...definition };
}

export function isStreamingObject<C, S>(object: DestinationObject<C, S>): object is StreamingObject<C, S> {
  return 'write' in object;
}

/** Resolve a value that may be given per config. */
export function resolvePerConfig<Config, T>(value: PerConfig<Config, T> | undefined, config: Config): T | undefined {
  return typeof value === 'function' ? (value as (config: Config) => T)(config) : value;
}
