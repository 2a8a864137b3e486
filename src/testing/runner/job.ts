/**
 * What the parent hands the child runner (a JSON file) and what the child reports back (JSON lines on
 * stdout): each write as it starts, each committed state, and the run's end.
 */
import type { JsonObject } from '../../protocol/json.ts';
import type { DestinationSyncMode } from '../../sdk/destination.ts';

export interface ChildJob {
  /** URL or absolute path of the module whose default export is the destination definition. */
  readonly module: string;
  readonly config: Record<string, unknown>;
  readonly object: string;
  readonly syncMode: DestinationSyncMode;
  readonly statePath: string;
  readonly count: number;
  readonly stateEvery: number;
  readonly tag: string;
  readonly record?: JsonObject | undefined;
  readonly pace?: { readonly every: number; readonly ms: number } | undefined;
}

export type ChildEvent =
  | { readonly event: 'write'; readonly records: number }
  | { readonly event: 'state'; readonly last_id: number }
  | { readonly event: 'done'; readonly status: string; readonly delivered: number; readonly error?: string };
