/**
 * Triggering a run: the one way a run comes to exist, whether an API call, a schedule or the CLI asks.
 *
 * Promises:
 * - the activation must exist in the current config version; the run records that version's id, so it
 *   runs with the config it was triggered under even if a newer one is posted meanwhile;
 * - an Idempotency-Key names at most one run: asking again returns that run (`replayed`), or `key-reused`
 *   when the key was used for another activation;
 * - one active (queued or running) run per activation: another trigger gets `busy` with the active run;
 * - a new run is enqueued and audited. If the enqueue is lost (crash in between) the run stays `queued`
 *   and a worker's reaper enqueues it again (runs.ts `longQueuedRuns`).
 */
import { randomUUID } from 'node:crypto';
import { unwrapConfig } from '../config/load.ts';
import { audit } from '../store/audit.ts';
import { latestConfig } from '../store/configs.ts';
import type { Queryable } from '../store/db.ts';
import { type RunRecord, createRun } from '../store/runs.ts';
import type { Platform } from './context.ts';

export type RunTrigger = 'api' | 'schedule' | 'cli';

export interface TriggerRequest {
  readonly activation: string;
  readonly dryRun: boolean;
  /** Override the activation's max_change_ratio guard for this run. */
  readonly force?: boolean;
  readonly idempotencyKey?: string;
  readonly trigger: RunTrigger;
  /** Who asked: an API key name, `scheduler`, `cli`. Goes to the audit log. */
  readonly actor: string;
}

export type TriggerResult =
  | { readonly kind: 'created' | 'replayed'; readonly run: RunRecord }
  | { readonly kind: 'busy'; readonly run: RunRecord }
  | { readonly kind: 'key-reused'; readonly run: RunRecord }
  | { readonly kind: 'unknown-activation' }
  /** An event activation: it delivers events as they arrive, and has no runs. */
  | { readonly kind: 'event-activation' }
  | { readonly kind: 'no-config' };

/**
 * `platform.db` may be an open transaction (the scheduler creates runs inside the one that claims the
 * schedule); then `queue` should hold the enqueue until after it commits.
 */
export async function triggerRun(
  platform: { readonly db: Queryable; readonly queue: Pick<Platform['queue'], 'enqueue'> },
  request: TriggerRequest,
): Promise<TriggerResult> {
  const { db, queue } = platform;
  const config = await latestConfig(db);
  if (config === undefined) return { kind: 'no-config' };
  if (!activationNames(config.value).includes(request.activation)) return { kind: 'unknown-activation' };
  if (isEventActivation(config.value, request.activation)) return { kind: 'event-activation' };

  const result = await createRun(db, {
    id: randomUUID(),
    activation: request.activation,
    configId: config.id,
    trigger: request.trigger,
    dryRun: request.dryRun,
    force: request.force ?? false,
    ...(request.idempotencyKey === undefined ? {} : { idempotencyKey: request.idempotencyKey }),
  });
  if (result.kind !== 'created') return result;

  await queue.enqueue(result.run.id);
  await audit(db, {
    actor: request.actor,
    action: 'run.trigger',
    target: request.activation,
    detail: { run_id: result.run.id, trigger: request.trigger, dry_run: request.dryRun, force: request.force ?? false, config_id: config.id },
  });
  return result;
}

/** The activation names of a stored config value (bare or Tightlock-wrapped), without resolving it. */
export function activationNames(value: unknown): string[] {
  const inner = unwrapConfig(value);
  if (!isObject(inner) || !Array.isArray(inner.activations)) return [];
  return inner.activations.flatMap((activation: unknown) => (isObject(activation) && typeof activation.name === 'string' ? [activation.name] : []));
}

/** Whether the named activation's source has type `events` (it then has no runs). */
export function isEventActivation(value: unknown, name: string): boolean {
  const inner = unwrapConfig(value);
  if (!isObject(inner) || !Array.isArray(inner.activations) || !isObject(inner.sources)) return false;
  const entry: unknown = inner.activations.find((activation: unknown) => isObject(activation) && activation.name === name);
  const ref = isObject(entry) && isObject(entry.source) ? entry.source.$ref : undefined;
  if (typeof ref !== 'string' || !ref.startsWith('#/sources/')) return false;
  const source = inner.sources[ref.slice('#/sources/'.length)];
  return isObject(source) && source.type === 'events';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
