/**
 * What the service parts share: the store, the run queue, the key that seals secrets, a logger and the
 * environment used to resolve `${VAR}` in configs. `sluice serve` builds one (and runs an in-process
 * worker with it in embedded mode); `sluice worker` builds one per process.
 */
import type { Logger } from '../sdk/context.ts';
import type { Database } from '../store/db.ts';
import type { RunQueue } from '../store/queue.ts';

export interface Platform {
  readonly db: Database;
  /**
   * Where the tracking API's event log lives (events, cursors, dead letters) when not in `db`: the
   * embedded store keeps it in a second PGlite in a worker thread (store/event-log.ts). Absent: `db`.
   */
  readonly eventLog?: Database;
  readonly queue: RunQueue;
  /** AES-256-GCM key for secret config values (32 bytes). */
  readonly secretKey: Buffer;
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  /** A webhook notified when any run fails (SLUICE_WEBHOOK_URL); activations may set their own. */
  readonly webhookUrl?: string;
  /** The server's public URL, for links in notifications. */
  readonly publicUrl?: string;
}
