/**
 * `sluice worker [--concurrency N]`: a process that executes queued runs, fires schedules and delivers
 * event activations' events, sharing the work with every other worker (and `sluice serve`) on the same
 * PostgreSQL (DATABASE_URL; SLUICE_SECRET_KEY must match theirs). SIGINT/SIGTERM stop it gracefully: runs in flight drain, save their state and end
 * `interrupted`, and it exits 0; a second signal exits at once (130) — the runs' leases then expire and
 * another worker resumes them.
 */
import type { Command } from 'commander';
import { describeError } from '../../sdk/errors.ts';
import { EXIT, type Output } from '../output.ts';

export interface WorkerCommandOptions {
  readonly concurrency?: string;
}

export function registerWorkerCommand(program: Command, output: Output, setExit: (code: number) => void): void {
  program
    .command('worker')
    .description('execute queued and scheduled runs from $DATABASE_URL, alongside other workers')
    .option('--concurrency <n>', 'runs this process executes at once (default $SLUICE_CONCURRENCY or 2)')
    .action(async (options: WorkerCommandOptions) => setExit(await workerCommand(options, output)));
}

export async function workerCommand(options: WorkerCommandOptions, output: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const concurrencyText = options.concurrency ?? env.SLUICE_CONCURRENCY ?? '2';
  const concurrency = Number(concurrencyText);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    output.err(`error: --concurrency: not a positive integer: ${concurrencyText}`);
    return EXIT.usage;
  }
  if (env.DATABASE_URL === undefined || env.DATABASE_URL === '') {
    output.err(
      'error: `sluice worker` needs DATABASE_URL (a PostgreSQL server shared by every worker): the embedded store ' +
        'cannot be shared between processes. Without a server, use `sluice serve`, which runs a worker in-process.',
    );
    return EXIT.usage;
  }
  // Loaded here, not at the top: other commands should not pay for the platform's dependencies.
  const [{ createLogger }, { openPlatform }, { startWorker }, { startScheduler }, { startEventDelivery }] = await Promise.all([
    import('../logger.ts'),
    import('../../platform/open.ts'),
    import('../../platform/worker.ts'),
    import('../../platform/scheduler.ts'),
    import('../../platform/events/delivery.ts'),
  ]);
  const logger = createLogger(env.LOG_LEVEL, false);
  let platform: Awaited<ReturnType<typeof openPlatform>> | undefined;
  try {
    platform = await openPlatform({ env, embedded: false, logger });
    const worker = startWorker(platform, { concurrency });
    const scheduler = startScheduler(platform);
    const events = startEventDelivery(platform);
    output.err(`sluice worker ${worker.id}: ${concurrency} runs at once on PostgreSQL ${platform.db.location}`);

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    const force = () => {
      output.err('stopping now: runs in flight are resumed by another worker when their lease expires');
      process.exit(EXIT.interrupted);
    };
    process.once('SIGINT', force);
    process.once('SIGTERM', force);
    output.err(`${signal}: stopping, runs in flight end interrupted with their state saved…`);
    await scheduler.stop();
    await events.stop();
    await worker.stop();
    return EXIT.ok;
  } catch (error) {
    output.err(`error: ${describeError(error)}`);
    return EXIT.failed;
  } finally {
    await platform?.close().catch((error: unknown) => output.err(`error: closing the store: ${describeError(error)}`));
  }
}
