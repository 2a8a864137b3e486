/**
 * Building the Platform that `sluice serve` and `sluice worker` share, from the environment:
 * - the store: PostgreSQL at DATABASE_URL, or else the embedded PGlite under SLUICE_HOME (the caller holds
 *   the home lock: see store/home-lock.ts); migrated before use;
 * - the secret key (SLUICE_SECRET_KEY; required with DATABASE_URL, else the embedded key file);
 * - the run queue (pg-boss in the same database);
 * - embedded only: the event log's own PGlite in a worker thread (store/event-log.ts);
 * - SLUICE_WEBHOOK_URL (notified of every failed run) and SLUICE_PUBLIC_URL (links in notifications).
 * The key is checked before anything is opened, and a failure part-way closes what was opened.
 * close() stops the queue (waiting for its handlers) and closes the store; it is safe to call twice.
 */
import type { Logger } from '../sdk/context.ts';
import { SluiceError } from '../sdk/errors.ts';
import type { Database } from '../store/db.ts';
import { openEventLog } from '../store/event-log.ts';
import { openStore, storeOptionsFromEnv } from '../store/index.ts';
import { openRunQueue, type RunQueue } from '../store/queue.ts';
import { loadSecretKey } from '../store/secret-key.ts';
import type { Platform } from './context.ts';

export interface OpenPlatformOptions {
  readonly env: NodeJS.ProcessEnv;
  /** false: refuse the embedded store, i.e. require DATABASE_URL (`sluice worker`). Default true. */
  readonly embedded?: boolean;
  readonly logger: Logger;
}

export type OpenPlatform = Platform & { close(): Promise<void> };

export async function openPlatform(options: OpenPlatformOptions): Promise<OpenPlatform> {
  const { env, logger } = options;
  const store = storeOptionsFromEnv(env);
  const embedded = store.databaseUrl === undefined;
  if (embedded && options.embedded === false) {
    throw new SluiceError('CONFIG_INVALID', 'DATABASE_URL is required: the embedded store cannot be shared between processes');
  }
  const secretKey = loadSecretKey({ env, home: store.home ?? '.sluice', embedded });
  const db: Database = await openStore(store);
  let queue: RunQueue;
  let eventLog: Database | undefined;
  try {
    queue = await openRunQueue(db, { logger });
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  try {
    if (embedded) eventLog = await openEventLog(store.home ?? '.sluice');
  } catch (error) {
    await queue.stop().catch(() => {});
    await db.close().catch(() => {});
    throw error;
  }
  let closing: Promise<void> | undefined;
  const webhookUrl = nonEmpty(env.SLUICE_WEBHOOK_URL);
  const publicUrl = nonEmpty(env.SLUICE_PUBLIC_URL);
  return {
    db,
    ...(eventLog === undefined ? {} : { eventLog }),
    queue,
    secretKey,
    logger,
    env,
    ...(webhookUrl === undefined ? {} : { webhookUrl }),
    ...(publicUrl === undefined ? {} : { publicUrl }),
    close() {
      closing ??= (async () => {
        try {
          await queue.stop();
        } finally {
          await eventLog?.close().catch(() => {});
          await db.close();
        }
      })();
      return closing;
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
