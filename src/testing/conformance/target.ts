/**
 * What the destination checks write to: the object under test (named, or the first streaming one), the
 * parsed config, the batch limits the engine will apply, the sync mode, and a definition whose `write`
 * is observed — so a check can see every batch the engine hands over and every outcome that comes back.
 */
import { DEFAULT_BATCH } from '../../engine/run.ts';
import type { BatchLimits, DestinationDefinition, DestinationSyncMode, OutgoingRecord, StreamingObject } from '../../sdk/destination.ts';
import { isStreamingObject, resolvePerConfig } from '../../sdk/destination.ts';
import type { Outcome } from '../../sdk/outcome.ts';
import type { ConnectorContext } from '../../sdk/context.ts';
import { CheckFailed, resolveConfigInput } from '../checks.ts';
import type { ConfigScope, DestinationConformanceOptions, RawConfig } from '../types.ts';
import { parseOrFail } from './check.ts';

export interface Target {
  readonly objectName: string;
  readonly object: StreamingObject<unknown, unknown>;
  readonly raw: RawConfig;
  readonly config: unknown;
  readonly batch: BatchLimits;
  readonly syncMode: DestinationSyncMode;
}

/** The streaming object the suite writes to, by name or the first one. */
export function pickObject(definition: DestinationDefinition, name: string | undefined): { name: string; object: StreamingObject<unknown, unknown> } {
  const entries = Object.entries(definition.objects);
  const found = name === undefined ? entries.find(([, object]) => isStreamingObject(object)) : entries.find(([key]) => key === name);
  if (found === undefined) throw new CheckFailed(name === undefined ? 'the destination has no streaming object' : `no object named "${name}"`);
  const [objectName, object] = found;
  if (!isStreamingObject(object)) throw new CheckFailed(`object "${objectName}" is a bulk object; these checks need a streaming one`);
  return { name: objectName, object: object as StreamingObject<unknown, unknown> };
}

/** A resumed run must add to the first, so `append` is preferred when the object offers it. */
export function pickSyncMode(object: StreamingObject<unknown, unknown>, wanted: DestinationSyncMode | undefined): DestinationSyncMode {
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
  return {
    objectName: name,
    object,
    raw,
    config,
    batch: { ...DEFAULT_BATCH, ...resolvePerConfig(object.batch, config) },
    syncMode: pickSyncMode(object, options.syncMode),
  };
}

export interface WriteObserver {
  /** Called as a write starts; the write waits for a returned promise (so a check can hold it back). */
  before?(records: readonly OutgoingRecord[]): void | Promise<unknown>;
  after?(records: readonly OutgoingRecord[], outcomes: readonly Outcome[]): void;
  /** Called before the session closes; the close waits for a returned promise. */
  beforeClose?(): void | Promise<unknown>;
}

/** The same definition, with the named object's `write` (and the session's close) reporting to `observer`. */
export function observeWrites(definition: DestinationDefinition, objectName: string, observer: WriteObserver): DestinationDefinition {
  const object = definition.objects[objectName] as StreamingObject<unknown, unknown>;
  const write: StreamingObject<unknown, unknown>['write'] = async (records, ctx) => {
    await observer.before?.(records);
    const outcomes = await object.write(records, ctx);
    observer.after?.(records, outcomes);
    return outcomes;
  };
  const close = definition.close;
  return {
    ...definition,
    objects: { ...definition.objects, [objectName]: { ...object, write } },
    ...(close === undefined ? {} : { close: async (session: unknown, ctx: ConnectorContext, end: { readonly complete: boolean }) => {
      await observer.beforeClose?.();
      await close(session, ctx, end);
    } }),
  };
}
