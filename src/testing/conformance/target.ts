/**
 * What the destination checks write to: the object under test (named, or the first streaming one), the
 * parsed config, the batch limits the engine will apply, the sync mode, and a definition whose `write`
 * is observed — so a check can see every batch the engine hands over and every outcome that comes back.
 */
import { join } from 'node:path';
import { type BulkPlan, resolveBulkPlan } from '../../engine/bulk.ts';
import { MemoryBulkJobStore } from '../../engine/bulk-jobs.ts';
import { DEFAULT_BATCH } from '../../engine/run.ts';
import type { BulkRunOptions } from '../../engine/bulk.ts';
import type { JsonValue } from '../../protocol/json.ts';
import type { BatchLimits, BulkFile, BulkObject, DestinationDefinition, DestinationObject, DestinationSyncMode, OutgoingRecord, StreamingObject } from '../../sdk/destination.ts';
import { isStreamingObject, resolvePerConfig } from '../../sdk/destination.ts';
import type { Outcome } from '../../sdk/outcome.ts';
import type { ConnectorContext } from '../../sdk/context.ts';
import { CheckFailed, resolveConfigInput } from '../checks.ts';
import type { ConfigScope, DestinationConformanceOptions, RawConfig } from '../types.ts';
import { parseOrFail } from './check.ts';

export interface Target {
  readonly objectName: string;
  readonly object: DestinationObject<unknown, unknown>;
  /** Set for a bulk object: its file settings and job limits for the valid config. */
  readonly bulk: BulkPlan | undefined;
  readonly raw: RawConfig;
  readonly config: unknown;
  /** Batch limits; for a bulk object, its file limits (rows, bytes). */
  readonly batch: BatchLimits;
  readonly syncMode: DestinationSyncMode;
}

/** The object the suite writes to: by name, or the first streaming one, or else the first one. */
export function pickObject(definition: DestinationDefinition, name: string | undefined): { name: string; object: DestinationObject<unknown, unknown> } {
  const entries = Object.entries(definition.objects);
  const found = name === undefined ? (entries.find(([, object]) => isStreamingObject(object)) ?? entries[0]) : entries.find(([key]) => key === name);
  if (found === undefined) throw new CheckFailed(name === undefined ? 'the destination has no object' : `no object named "${name}"`);
  const [objectName, object] = found;
  return { name: objectName, object: object as DestinationObject<unknown, unknown> };
}

/** Where the suite's engine runs keep a bulk object's files and jobs: in the check's scratch directory, polling fast. */
export function bulkOptionsFor(dir: string): BulkRunOptions {
  return { dir: join(dir, 'bulk-files'), jobs: new MemoryBulkJobStore(), pollInitialMs: 50, pollMaxMs: 1000 };
}

/** A resumed run must add to the first, so `append` is preferred when the object offers it. */
export function pickSyncMode(object: DestinationObject<unknown, unknown>, wanted: DestinationSyncMode | undefined): DestinationSyncMode {
  if (wanted !== undefined) {
    if (!object.syncModes.includes(wanted)) throw new CheckFailed(`the object does not support sync mode ${wanted}`);
    return wanted;
  }
  return object.syncModes.includes('append') ? 'append' : (object.syncModes[0] ?? 'append');
}

export async function resolveTarget(definition: DestinationDefinition, options: DestinationConformanceOptions, scope: ConfigScope): Promise<Target> {
  const { name, object } = pickObject(definition, options.object);
  const raw = await resolveConfigInput(options.validConfig, scope);
  const config = parseOrFail(definition.spec, raw, 'valid');
  const bulk = isStreamingObject(object) ? undefined : resolveBulkPlan(object as BulkObject<unknown, unknown, JsonValue>, config);
  return {
    objectName: name,
    object,
    bulk,
    raw,
    config,
    batch:
      bulk === undefined
        ? { ...DEFAULT_BATCH, ...resolvePerConfig((object as StreamingObject<unknown, unknown>).batch, config) }
        : { maxRecords: bulk.file.maxRows, maxBytes: bulk.file.maxBytes, maxWaitMs: DEFAULT_BATCH.maxWaitMs },
    syncMode: pickSyncMode(object, options.syncMode),
  };
}

export interface WriteObserver {
  /** Called as a write starts; the write waits for a returned promise (so a check can hold it back). */
  before?(records: readonly OutgoingRecord[]): void | Promise<unknown>;
  after?(records: readonly OutgoingRecord[], outcomes: readonly Outcome[]): void;
  /** Called before the session closes; the close waits for a returned promise. */
  beforeClose?(): void | Promise<unknown>;
  /** Bulk objects: called as an upload starts; the upload waits for a returned promise. */
  beforeUpload?(file: BulkFile): void | Promise<unknown>;
}

/** The same definition, with the named object's `write` (and the session's close) reporting to `observer`. */
export function observeWrites(definition: DestinationDefinition, objectName: string, observer: WriteObserver): DestinationDefinition {
  const found = definition.objects[objectName] as DestinationObject<unknown, unknown>;
  let observed: DestinationObject<unknown, unknown>;
  if (isStreamingObject(found)) {
    const object = found;
    const write: StreamingObject<unknown, unknown>['write'] = async (records, ctx) => {
      await observer.before?.(records);
      const outcomes = await object.write(records, ctx);
      observer.after?.(records, outcomes);
      return outcomes;
    };
    observed = { ...object, write };
  } else {
    const object = found as BulkObject<unknown, unknown>;
    const upload: BulkObject<unknown, unknown>['upload'] = async (file, ctx) => {
      await observer.beforeUpload?.(file);
      return object.upload(file, ctx);
    };
    observed = { ...object, upload };
  }
  const close = definition.close;
  return {
    ...definition,
    objects: { ...definition.objects, [objectName]: observed },
    ...(close === undefined ? {} : { close: async (session: unknown, ctx: ConnectorContext, end: { readonly complete: boolean }) => {
      await observer.beforeClose?.();
      await close(session, ctx, end);
    } }),
  };
}
