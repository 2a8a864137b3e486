/**
 * Event delivery in a worker process (`sluice serve`, `sluice worker`): one loop (loop.ts) per event
 * activation of the newest config version, started, restarted and stopped as configs change; and the
 * log's housekeeping.
 *
 * Promises:
 * - the newest config is checked every `configCheckMs`; an activation whose entry, source or destination
 *   changed gets a new loop (the old one stops first: batches in flight finish, the cursor stays where
 *   its settled events put it); a removed activation's loop stops; its cursor and dead letters stay;
 * - an activation with config problems (or a destination whose `${VAR}` is unset) does not start, and
 *   says why in the log once per config version;
 * - with several workers on one PostgreSQL each activation is delivered by one of them at a time (the
 *   cursor's lease); the embedded store has one process, which takes every cursor at once on start;
 * - events older than the retention (SLUICE_EVENT_RETENTION_HOURS, default 168, at least 24 — so message
 *   ids are deduplicated over at least 24 h) that every current activation of their source has passed are
 *   deleted, hourly;
 * - stop() ends every loop (a second stop waits for the first); timers never throw.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { unwrapConfig } from '../../config/load.ts';
import { resolveConfig } from '../../config/resolve.ts';
import type { RetryPolicy } from '../../engine/backoff.ts';
import { stringifyJson, type JsonValue } from '../../protocol/json.ts';
import { describeError } from '../../sdk/errors.ts';
import { decryptConfigSecrets } from '../../store/config-secrets.ts';
import { latestConfig } from '../../store/configs.ts';
import { pruneEvents } from '../../store/events.ts';
import type { Platform } from '../context.ts';
import { configRedactor } from '../run-logger.ts';
import { type Loop, startLoop } from './loop.ts';

export interface EventDeliveryOptions {
  /** Recorded as the cursors' owner; default `<hostname>:<pid>:<random>`. */
  readonly workerId?: string;
  /** A worker that stops renewing loses its activations after this; default 30 (SLUICE_RUN_LEASE_SECONDS). */
  readonly leaseSeconds?: number;
  /** How often an idle loop looks for new events; default 200 ms. */
  readonly pollMs?: number;
  /** How often the newest config is checked; default 2000 ms. */
  readonly configCheckMs?: number;
  /** Events read per chunk; default 2000. */
  readonly chunkSize?: number;
  /** Overrides of the activations' retry policy (tests shorten the backoff). */
  readonly retry?: Partial<RetryPolicy>;
  readonly metrics?: { eventsSettled?(activation: string, outcome: 'delivered' | 'dead_lettered', count: number): void };
  /** Default: SLUICE_EVENT_RETENTION_HOURS or 168. */
  readonly retentionHours?: number;
}

export interface EventDelivery {
  readonly id: string;
  /** The activations with a running loop. */
  active(): string[];
  /** Checks the newest config now (tests; a posted config is otherwise seen within configCheckMs). */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

interface Running {
  readonly fingerprint: string;
  readonly loop: Loop;
}

export function startEventDelivery(platform: Platform, options: EventDeliveryOptions = {}): EventDelivery {
  const { db, logger } = platform;
  const log = platform.eventLog ?? db;
  const id = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const leaseSeconds = options.leaseSeconds ?? positive(platform.env.SLUICE_RUN_LEASE_SECONDS) ?? 30;
  const retentionHours = Math.max(24, options.retentionHours ?? positive(platform.env.SLUICE_EVENT_RETENTION_HOURS) ?? 168);
  const loops = new Map<string, Running>();
  let configId: number | undefined;
  let eventActivations: { name: string; source: string }[] = [];
  let stopped = false;
  let syncing: Promise<void> = Promise.resolve();

  async function syncNow(): Promise<void> {
    const { rows } = await db.query<{ id: string | null }>('select max(id) as id from sluice.configs');
    const newest = rows[0]?.id == null ? undefined : Number(rows[0].id);
    if (newest === configId) return;
    const config = newest === undefined ? undefined : await latestConfig(db);
    const wanted = new Map<string, { fingerprint: string; start: (startAt: string | undefined) => Loop }>();
    const names: { name: string; source: string }[] = [];
    if (config !== undefined) {
      let decrypted: unknown;
      try {
        decrypted = decryptConfigSecrets(unwrapConfig(config.value), platform.secretKey);
      } catch (error) {
        logger.error({ configId: config.id, error: describeError(error) }, 'event delivery: cannot decrypt the config');
        configId = newest;
        return;
      }
      const raw = decrypted as { sources?: Record<string, { type?: unknown }>; destinations?: Record<string, unknown>; activations?: unknown[] };
      const resolved = await resolveConfig(decrypted, platform.env);
      const redact = configRedactor(config.value, platform.secretKey, platform.env);
      const entries = Array.isArray(raw.activations) ? raw.activations : [];
      entries.forEach((entry, index) => {
        if (entry === null || typeof entry !== 'object') return;
        const activation = entry as { name?: unknown; source?: { $ref?: unknown }; destination?: { $ref?: unknown } };
        const sourceName = refName(activation.source?.$ref, 'sources');
        const destinationName = refName(activation.destination?.$ref, 'destinations');
        if (typeof activation.name !== 'string' || sourceName === undefined || raw.sources?.[sourceName]?.type !== 'events') return;
        const name = activation.name;
        names.push({ name, source: sourceName });
        const plan = resolved.activations.find((candidate) => candidate.name === name);
        const prefixes = [`activations[${index}]`, `sources.${sourceName}`, `destinations.${destinationName}`];
        const issues = resolved.issues.filter((issue) => prefixes.some((prefix) => issue.path === prefix || issue.path.startsWith(`${prefix}.`) || issue.path.startsWith(`${prefix}[`)));
        if (plan === undefined || issues.length > 0 || destinationName === undefined) {
          logger.error(
            { activation: name, configId: config.id, issues: issues.map((issue) => redact(`${issue.path}: ${issue.message}`)) },
            'event activation not started: its config has problems',
          );
          return;
        }
        const fingerprint = stringifyJson({ entry, source: raw.sources?.[sourceName], destination: raw.destinations?.[destinationName] } as JsonValue);
        wanted.set(name, {
          fingerprint,
          start: (startAt) =>
            startLoop({
              db: log,
              plan,
              sourceName,
              destinationName,
              owner: id,
              leaseSeconds,
              takeOver: log.kind === 'pglite',
              ...(startAt === undefined ? {} : { startAt }),
              pollMs: options.pollMs ?? 200,
              chunkSize: options.chunkSize ?? 2000,
              ...(options.retry === undefined ? {} : { retry: options.retry }),
              logger,
              redact,
              onSettled: (outcome, count) => options.metrics?.eventsSettled?.(name, outcome, count),
            }),
        });
      });
    }
    for (const [name, running] of [...loops]) {
      if (wanted.get(name)?.fingerprint === running.fingerprint) continue;
      loops.delete(name);
      await running.loop.stop();
    }
    if (stopped) return;
    for (const [name, want] of wanted) {
      if (loops.has(name)) continue;
      try {
        loops.set(name, { fingerprint: want.fingerprint, loop: want.start(await postedAt(name)) });
      } catch (error) {
        logger.error({ activation: name, error: describeError(error) }, 'event activation not started');
      }
    }
    eventActivations = names;
    configId = newest;
  }

  /** When the first config version that has this activation was posted (where a new cursor starts). */
  async function postedAt(name: string): Promise<string | undefined> {
    const { rows } = await db.query<{ at: unknown }>(
      `select min(created_at) as at from sluice.configs where value->'activations' @> jsonb_build_array(jsonb_build_object('name', $1::text))`,
      [name],
    );
    const at = rows[0]?.at;
    return at == null ? undefined : at instanceof Date ? at.toISOString() : new Date(String(at)).toISOString();
  }

  function sync(): Promise<void> {
    syncing = syncing.then(() => (stopped ? undefined : syncNow())).catch((error: unknown) => {
      logger.error({ worker: id, error: describeError(error) }, 'event delivery: config check failed');
    });
    return syncing;
  }

  async function prune(): Promise<void> {
    const deleted = await pruneEvents(log, new Date(Date.now() - retentionHours * 3_600_000), eventActivations);
    if (deleted > 0) logger.info({ deleted, retentionHours }, 'event log pruned');
  }

  void sync();
  const configTimer = setInterval(() => void sync(), options.configCheckMs ?? 2000);
  const pruneTimer = setInterval(() => {
    prune().catch((error: unknown) => logger.warn({ error: describeError(error) }, 'event log pruning failed'));
  }, 3_600_000);
  configTimer.unref();
  pruneTimer.unref();

  let stopping: Promise<void> | undefined;
  return {
    id,
    active: () => [...loops.keys()],
    sync,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearInterval(configTimer);
        clearInterval(pruneTimer);
        await syncing;
        await Promise.all([...loops.values()].map((running) => running.loop.stop()));
        loops.clear();
      })();
      return stopping;
    },
  };
}

function refName(ref: unknown, section: 'sources' | 'destinations'): string | undefined {
  const prefix = `#/${section}/`;
  return typeof ref === 'string' && ref.startsWith(prefix) ? ref.slice(prefix.length) : undefined;
}

function positive(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return value > 0 ? value : undefined;
}
