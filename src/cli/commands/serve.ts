/**
 * `sluice serve` on the command line; the work is in serve-run.ts, imported when the command runs.
 */
import type { Command } from 'commander';
import type { Output } from '../output.ts';
import type { ServeOptions } from './serve-run.ts';

export function registerServeCommand(program: Command, output: Output, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('run the API server with a worker and the scheduler (store: $SLUICE_HOME, or $DATABASE_URL)')
    .option('-p, --port <port>', 'port to listen on (default $PORT or 8080)')
    .option('--host <host>', 'address to bind (default $HOST or 127.0.0.1; 0.0.0.0 for all interfaces)')
    .option('-c, --config <file>', 'load this config file as a new version at start (skipped when unchanged)')
    .option('--no-worker', 'API only: run no worker or scheduler here (needs DATABASE_URL and `sluice worker` elsewhere)')
    .option('--concurrency <n>', 'runs this process executes at once (default 2)')
    .option('--no-banner', 'do not print the URL and key banner')
    .action(async (options: ServeOptions) => setExit(await (await import('./serve-run.ts')).serveCommand(options, output)));
}

