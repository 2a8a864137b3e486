/**
 * The engine's vocabulary: a resolved activation (what to run), run options (where state, fingerprints and
 * rejects go) and the run summary (what happened, with counters that always add up: read = delivered
 * + rejected + unchanged + unsettled, and unsettled is 0 unless the run failed or was interrupted).
 */
import type { JsonObject } from '../protocol/json.ts';
import type { DestinationDefinition, DestinationSyncMode } from '../sdk/destination.ts';
import type { Logger } from '../sdk/context.ts';
import type { SourceDefinition, State } from '../sdk/source.ts';
import type { RetryPolicy } from './backoff.ts';
import type { BulkRunOptions } from './bulk.ts';
import type { SchemaDrift } from './drift.ts';
import type { EventFilterConfig } from './event-filter.ts';
import type { FingerprintStore } from './fingerprints.ts';
import type { RejectLedger } from './ledger.ts';
import type { Mapping } from './mapping.ts';
import type { StateStore } from './state-store.ts';

export interface ActivationPlan {
  readonly name: string;
  readonly source: { readonly definition: SourceDefinition; readonly config: unknown; readonly stream?: string };
  readonly destination: { readonly definition: DestinationDefinition; readonly config: unknown; readonly object?: string };
  readonly mapping?: Mapping;
  readonly syncMode?: DestinationSyncMode;
  readonly retry?: Partial<RetryPolicy>;
  /** Source field names that identify a record (diff modes); defaults to the stream's own primary key. */
  readonly primaryKey?: readonly string[];
  /** Diff modes: stop before sending when the plan changes more than this share (0..1) of the rows last delivered. */
  readonly maxChangeRatio?: number;
  /** What a change in the source stream's columns does: `continue` (recorded on the run; default) or `fail`. */
  readonly onSchemaChange?: 'continue' | 'fail';
  /** Event activations (an `events` source): which events to deliver. */
  readonly filter?: EventFilterConfig;
}

export interface RunOptions {
  readonly activation: ActivationPlan;
  readonly stateStore: StateStore;
  readonly ledger: RejectLedger;
  readonly runId?: string;
  readonly dryRun?: boolean;
  /**
   * Where the activation's fingerprints (what was last delivered) live. Without it a run keeps none: the
   * diff modes then send every record (op unset), and schema drift is not detected.
   */
  readonly fingerprints?: FingerprintStore;
  /**
   * Bulk objects: the activation's directory for files (each run writes under `<dir>/<run id>/`) and the
   * store of its jobs, so a restart resumes polling instead of uploading again. Without it, files go to a
   * temporary directory and jobs are kept in memory (nothing survives the process).
   */
  readonly bulk?: BulkRunOptions;
  /** Run even when the plan exceeds `maxChangeRatio`, or the schema changed under `onSchemaChange: fail`. */
  readonly force?: boolean;
  readonly logger?: Logger;
  /** Abort to stop reading, drain in-flight batches and save state (SIGINT, cancel). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (counters: Readonly<RunCounters>) => void;
  /**
   * Called for every committed state, in order, as soon as every record before it has settled, with the
   * number of records between it and the previous state (protocol targets echo states from here).
   * Not called in dry runs. The state store still receives the newest state, coalesced.
   */
  readonly onStateCommitted?: (state: State, recordCount: number) => void;
}

export interface RunCounters {
  /** Records (and malformed inputs) read from the source. */
  read: number;
  delivered: number;
  /**
   * Refused records, in the ledger. Mirror's deletes are not records read: a refused delete counts here
   * too, so then read + deletes sent = delivered + deleted + rejected + unchanged + unsettled.
   */
  rejected: number;
  /** Diff modes: records read but not sent — identical to what was last delivered, or a change the mode does not send. */
  unchanged: number;
  /** Mirror: deletes delivered (keys that vanished from the source). */
  deleted: number;
  /** Record re-sends after a transient failure. */
  retried: number;
  /** Write calls made (requests, for HTTP destinations). */
  batches: number;
}

export interface DryRunPlan {
  readonly object: string;
  readonly syncMode: DestinationSyncMode;
  /** Records that would be sent (deletes included). */
  readonly records: number;
  readonly batches: number;
  /** The first records that would be sent, of any kind. */
  readonly samples: readonly JsonObject[];
  /** New keys to send (append, overwrite and runs without fingerprints: every record). */
  readonly creates: number;
  /** Changed keys to send. */
  readonly updates: number;
  /** Mirror: keys gone from the source, to delete. */
  readonly deletes: number;
  /** Records identical to what was last delivered, or changes the mode does not send (mode `all` sends them anyway). */
  readonly unchanged: number;
  /** Up to three payloads of each kind. */
  readonly samplesByKind: {
    readonly creates: readonly JsonObject[];
    readonly updates: readonly JsonObject[];
    readonly deletes: readonly JsonObject[];
  };
}

export type RunStatus = 'succeeded' | 'failed' | 'interrupted';

export interface RunSummary {
  readonly runId: string;
  readonly activation: string;
  readonly status: RunStatus;
  readonly dryRun: boolean;
  readonly counters: Readonly<RunCounters>;
  /** Records that ended neither delivered nor rejected (only when failed or interrupted: resent next run). */
  readonly unsettled: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly recordsPerSecond: number;
  readonly state: State | undefined;
  readonly error?: string;
  /** Dry runs, and runs stopped by max_change_ratio: what would be sent. */
  readonly plan?: DryRunPlan;
  /** The source stream's columns changed since the fingerprints were last saved. */
  readonly drift?: SchemaDrift;
}
