/**
 * What `sluice serve` does (loaded only when the command runs: the server's dependencies stay out of
 * every other command's start-up): the platform in one process. It opens the store (embedded PGlite
 * under SLUICE_HOME, or PostgreSQL with DATABASE_URL), makes sure an API key exists, optionally loads a config file as a new
 * version, starts the HTTP API (with the tracking API), and — unless `--no-worker` — a worker, the scheduler
 * and event delivery in-process.
 * SIGINT/SIGTERM stop it gracefully: the server stops accepting, runs in flight end `interrupted` with
 * their state saved, and the store is closed.
 */
import { pino } from 'pino';
import { readConfigFile, unwrapConfig } from '../../config/load.ts';
import { postConfig } from '../../platform/configs.ts';
import { startEventDelivery } from '../../platform/events/delivery.ts';
import { openPlatform } from '../../platform/open.ts';
import { startScheduler } from '../../platform/scheduler.ts';
import { startWorker } from '../../platform/worker.ts';
import { stringifyJson, type JsonValue } from '../../protocol/json.ts';
import { describeError } from '../../sdk/errors.ts';
import { buildServer } from '../../server/app.ts';
import { createMetrics } from '../../server/metrics.ts';
import { decryptConfigSecrets } from '../../store/config-secrets.ts';
import { latestConfig } from '../../store/configs.ts';
import type { Database } from '../../store/db.ts';
import { acquireHomeLock, type HomeLock } from '../../store/home-lock.ts';
import { countActiveApiKeys, createApiKey } from '../../store/keys.ts';
import { countRunsByStatus } from '../../store/runs.ts';
import { EXIT, type Output, printIssues } from '../output.ts';

export interface ServeOptions {
  readonly port?: string;
  readonly host?: string;
  readonly config?: string;
  readonly worker?: boolean;
  readonly concurrency?: string;
  readonly banner?: boolean;
}

export async function serveCommand(options: ServeOptions, output: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const port = Number(options.port ?? env.PORT ?? 8080);
  const host = options.host ?? env.HOST ?? '127.0.0.1';
  const concurrency = Number(options.concurrency ?? env.SLUICE_CONCURRENCY ?? 2);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return usage(output, `--port: not a port number: ${options.port ?? env.PORT}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) return usage(output, `--concurrency: not a positive integer: ${options.concurrency}`);
  const embedded = env.DATABASE_URL === undefined || env.DATABASE_URL === '';
  if (embedded && options.worker === false) return usage(output, '--no-worker needs DATABASE_URL: the embedded store cannot be shared with `sluice worker` processes');

  const logger = pino({ level: env.LOG_LEVEL ?? 'info', base: undefined }, pino.destination({ fd: 2, sync: false }));
  const home = env.SLUICE_HOME ?? '.sluice';
  let lock: HomeLock | undefined;
  let platform: Awaited<ReturnType<typeof openPlatform>> | undefined;
  try {
    if (embedded) lock = acquireHomeLock(home, 'sluice serve');
    platform = await openPlatform({ env, logger });
    const apiKey = await ensureApiKey(platform.db, env);
    if (options.config !== undefined) {
      const loaded = await loadConfigFile(platform, options.config, output);
      if (!loaded) return EXIT.usage;
    }
    const db = platform.db;
    const metrics = createMetrics({ queueDepth: () => countRunsByStatus(db) });
    const app = await buildServer(platform, { metrics, logger });
    await app.listen({ port, host });
    const address = app.server.address();
    const boundPort = typeof address === 'object' && address !== null ? address.port : port;
    const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${boundPort}`;
    const worker = options.worker === false ? undefined : startWorker(platform, { concurrency, metrics });
    const scheduler = options.worker === false ? undefined : startScheduler(platform);
    const events = options.worker === false ? undefined : startEventDelivery(platform, { metrics });
    if (options.banner !== false) printBanner(output, { url, store: platform.db, apiKey, worker: worker !== undefined, concurrency });

    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    output.err('stopping: finishing runs in flight…');
    await app.close();
    await scheduler?.stop();
    await events?.stop();
    await worker?.stop();
    return EXIT.ok;
  } catch (error) {
    output.err(`error: ${describeError(error)}`);
    return EXIT.failed;
  } finally {
    await platform?.close().catch(() => {});
    lock?.release();
    logger.flush();
  }
}

function usage(output: Output, message: string): number {
  output.err(`error: ${message}`);
  return EXIT.usage;
}

/**
 * SLUICE_API_KEY (like Tightlock's TIGHTLOCK_API_KEY) is stored (hashed) as a valid key. With no key at
 * all, one is generated and shown once: a fresh server is never open to anyone.
 */
async function ensureApiKey(db: Database, env: NodeJS.ProcessEnv): Promise<{ shown?: string; source: string }> {
  if (env.SLUICE_API_KEY !== undefined && env.SLUICE_API_KEY !== '') {
    await createApiKey(db, 'SLUICE_API_KEY', env.SLUICE_API_KEY);
    return { source: 'SLUICE_API_KEY' };
  }
  if ((await countActiveApiKeys(db)) > 0) return { source: 'stored keys (`sluice keys create` adds one)' };
  const { key } = await createApiKey(db, 'initial');
  return { shown: key, source: 'generated now; shown only once — keep it, or set SLUICE_API_KEY' };
}

/** Posts the file as a new config version unless it equals the current one. */
async function loadConfigFile(platform: NonNullable<Awaited<ReturnType<typeof openPlatform>>>, file: string, output: Output): Promise<boolean> {
  const raw = await readConfigFile(file);
  const value = unwrapConfig(raw);
  const current = await latestConfig(platform.db);
  if (current !== undefined && sameJson(decryptConfigSecrets(current.value, platform.secretKey), value)) {
    output.err(`config: ${file} is unchanged (current version ${current.id})`);
    return true;
  }
  const result = await postConfig(platform, { value, label: `${file} @ ${new Date().toISOString()}`, actor: 'cli' });
  if (!result.ok) {
    printIssues(output, file, result.issues);
    return false;
  }
  output.err(`config: ${file} loaded as version ${result.config.id}`);
  return true;
}

function sameJson(a: unknown, b: unknown): boolean {
  return stringifyJson(a as JsonValue) === stringifyJson(b as JsonValue);
}

function printBanner(
  output: Output,
  info: { url: string; store: Database; apiKey: { shown?: string; source: string }; worker: boolean; concurrency: number },
): void {
  const store = info.store.kind === 'pglite' ? `embedded PGlite in ${info.store.location}` : `PostgreSQL ${info.store.location}`;
  output.out(`Sluice is serving on ${info.url}`);
  output.out(`  API:      ${info.url}/api/v1   (docs: ${info.url}/docs)`);
  output.out(`  store:    ${store}`);
  output.out(`  worker:   ${info.worker ? `in-process, ${info.concurrency} runs at once` : 'none (run `sluice worker` elsewhere)'}`);
  if (info.apiKey.shown !== undefined) output.out(`  API key:  ${info.apiKey.shown}   (${info.apiKey.source})`);
  else output.out(`  API key:  from ${info.apiKey.source}`);
  output.out(`  try:      curl -H "X-API-Key: <key>" ${info.url}/api/v1/activations`);
}
