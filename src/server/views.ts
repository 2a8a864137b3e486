/**
 * How stored things look in API responses — the one place that maps them, so every route shows a config,
 * an activation or a run the same way. Every config value, and every activation taken from one, passes
 * through maskConfigSecrets: no response shows a stored secret, encrypted or not.
 */
import { maskConfigSecrets } from '../store/config-secrets.ts';
import { type StoredConfig, getConfig } from '../store/configs.ts';
import type { Queryable } from '../store/db.ts';
import { type RunRecord, lastRuns } from '../store/runs.ts';
import { scheduleTimes } from '../store/schedules.ts';

/** Tightlock's config shape. */
export function configView(config: StoredConfig) {
  return { id: config.id, create_date: config.create_date, label: config.label, value: maskConfigSecrets(config.value) };
}

export function runView(run: RunRecord) {
  return run;
}

/** The answer to a trigger: the run, led by Tightlock-style `run_id`. */
export function triggeredView(run: RunRecord) {
  return { run_id: run.id, ...runView(run) };
}

/** An activation as written in a config (masked), e.g. `{ name, source: { $ref }, destination: { $ref }, schedule }`. */
export interface ActivationEntry {
  readonly name: string;
  readonly source?: { readonly $ref?: string };
  readonly destination?: { readonly $ref?: string };
  readonly schedule?: string | null;
  readonly [key: string]: unknown;
}

/** The activations of a stored config, secrets masked. */
export function activationsOf(config: StoredConfig | undefined): ActivationEntry[] {
  if (config === undefined) return [];
  const list = (maskConfigSecrets(config.value) as { activations?: unknown }).activations;
  if (!Array.isArray(list)) return [];
  return list.filter((item): item is ActivationEntry => item !== null && typeof item === 'object' && typeof (item as { name?: unknown }).name === 'string');
}

/** Activations of the current config with their last run and next scheduled time (only `name`, when given). */
export async function activationViews(db: Queryable, config: StoredConfig | undefined, name?: string) {
  const activations = activationsOf(config).filter((activation) => name === undefined || activation.name === name);
  const names = activations.map((activation) => activation.name);
  const [last, schedules] = await Promise.all([lastRuns(db, names), scheduleTimes(db, names)]);
  return activations.map((activation) => {
    const run = last.get(activation.name);
    return { ...activation, last_run: run === undefined ? null : runView(run), next_run_at: schedules.get(activation.name)?.next_at ?? null };
  });
}

/** Airflow's run states, which Tightlock reports. */
const TIGHTLOCK_STATE: Readonly<Record<RunRecord['status'], string>> = {
  queued: 'queued',
  running: 'running',
  succeeded: 'success',
  failed: 'failed',
  interrupted: 'failed',
  cancelled: 'failed',
};

/** A run as Tightlock's `runs:batchGet` lists it; `activation` is its entry in the config version the run used. */
export function runLogView(run: RunRecord, activation: ActivationEntry | undefined) {
  return {
    activation_name: run.activation,
    connection_name: run.activation,
    source_name: refName(activation?.source?.$ref, '#/sources/'),
    destination_name: refName(activation?.destination?.$ref, '#/destinations/'),
    schedule: activation?.schedule ?? null,
    state: TIGHTLOCK_STATE[run.status],
    status: run.status,
    run_at: run.finished_at ?? run.started_at ?? run.created_at,
    run_type: run.trigger === 'schedule' ? 'scheduled' : 'manual',
    run_result: {
      successful_hits: run.counters.delivered,
      failed_hits: run.counters.rejected,
      error_messages: run.error === null ? [] : [run.error],
      dry_run: run.dry_run,
    },
    run_id: run.id,
  };
}

function refName(ref: string | undefined, prefix: string): string | null {
  return ref !== undefined && ref.startsWith(prefix) ? ref.slice(prefix.length) : null;
}

/**
 * The activations of config versions by id. Versions never change once stored, so this keeps them (a
 * bounded number) for the life of the server: listing runs then costs no config reads.
 */
export class ConfigActivations {
  private readonly cache = new Map<number, Map<string, ActivationEntry>>();

  constructor(private readonly limit = 100) {}

  async of(db: Queryable, configIds: Iterable<number>): Promise<Map<number, Map<string, ActivationEntry>>> {
    const out = new Map<number, Map<string, ActivationEntry>>();
    for (const id of new Set(configIds)) {
      let activations = this.cache.get(id);
      if (activations === undefined) {
        activations = new Map(activationsOf(await getConfig(db, id)).map((activation) => [activation.name, activation]));
        if (this.cache.size >= this.limit) this.cache.clear();
        this.cache.set(id, activations);
      }
      out.set(id, activations);
    }
    return out;
  }
}
