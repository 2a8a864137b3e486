/**
 * The engine's vocabulary: a resolved activation (what to run), run options (where state and rejects go)
 * and the run summary (what happened, with counters that always add up: read = delivered + rejected
 * + unsettled, and unsettled is 0 unless the run failed or was interrupted).
 */
import type { JsonObject } from '../protocol/json.ts';
import type { DestinationDefinition, DestinationSyncMode } from '../sdk/destination.ts';
import type { Logger } from '../sdk/context.ts';
import type { SourceDefinition, State } from '../sdk/source.ts';
import type { RetryPolicy } from './backoff.ts';
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
}

export interface RunOptions {
  readonly activation: ActivationPlan;
  readonly stateStore: StateStore;
  readonly ledger: RejectLedger;
  readonly runId?: string;
  readonly dryRun?: boolean;
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
  rejected: number;
  /** Record re-sends after a transient failure. */
  retried: number;
  /** Write calls made (requests, for HTTP destinations). */
  batches: number;
}

export interface DryRunPlan {
  readonly object: string;
  readonly syncMode: DestinationSyncMode;
  /** Records that would be sent. */
  readonly records: number;
  readonly batches: number;
  readonly samples: readonly JsonObject[];
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
  readonly plan?: DryRunPlan;
}
