/**
 * An API server for tests on one database target: a fresh migrated store, an API key, a Platform whose
 * queue only records the run ids it is handed (pass `queue` for a real one), and the server's pino log
 * collected line by line. `call` sends a request through `app.inject` with the key and parses the JSON.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Platform } from '../../src/platform/context.ts';
import { buildServer, type ServerOptions } from '../../src/server/app.ts';
import type { Database } from '../../src/store/db.ts';
import { createApiKey } from '../../src/store/keys.ts';
import { migrate } from '../../src/store/migrations.ts';
import type { RunQueue } from '../../src/store/queue.ts';
import type { DatabaseTarget, TestDatabase } from './databases.ts';

export interface TestApi {
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly platform: Platform;
  readonly key: string;
  /** Run ids the recording queue was handed (empty with a real queue). */
  readonly enqueued: string[];
  /** Every line the server (and the platform logger) wrote. */
  readonly logs: string[];
  call(method: string, url: string, options?: CallOptions): Promise<CallResult>;
  close(): Promise<void>;
}

export interface CallOptions {
  readonly body?: unknown;
  /** Sent as is, e.g. malformed JSON. */
  readonly raw?: string;
  readonly headers?: Record<string, string>;
  /** Send no X-API-Key. */
  readonly anonymous?: boolean;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly text: string;
  /** The parsed body (undefined when it is not JSON). */
  readonly body: any;
}

export interface TestApiOptions extends Omit<ServerOptions, 'logger'> {
  readonly env?: NodeJS.ProcessEnv;
  /** A real queue, opened on the test database by the caller. */
  readonly queue?: (db: Database) => Promise<RunQueue>;
  /** A separate event log (as the embedded store keeps one: store/event-log.ts); closed by close(). */
  readonly eventLog?: () => Promise<Database>;
}

export async function startTestApi(target: DatabaseTarget, options: TestApiOptions = {}): Promise<TestApi & { readonly database: TestDatabase }> {
  const database = await target.create();
  const db = await database.open();
  await migrate(db);
  const { key } = await createApiKey(db, 'test');
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  const enqueued: string[] = [];
  const queue: RunQueue = options.queue
    ? await options.queue(db)
    : { enqueue: async (id) => void enqueued.push(id), work: async () => {}, stop: async () => {} };
  const eventLog = options.eventLog === undefined ? undefined : await options.eventLog();
  const platform: Platform = { db, ...(eventLog === undefined ? {} : { eventLog }), queue, secretKey: randomBytes(32), logger, env: options.env ?? {} };
  const app = await buildServer(platform, { ...options, logger });
  await app.ready();

  async function call(method: string, url: string, call: CallOptions = {}): Promise<CallResult> {
    const headers: Record<string, string> = { ...(call.anonymous ? {} : { 'x-api-key': key }), ...call.headers };
    const payload = call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const response = await app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) });
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      body = undefined;
    }
    return { status: response.statusCode, headers: response.headers, text: response.body, body };
  }

  return {
    app,
    db,
    platform,
    key,
    enqueued,
    logs,
    database,
    call,
    async close() {
      await app.close();
      await queue.stop();
      await eventLog?.close();
      await database.drop();
    },
  };
}
