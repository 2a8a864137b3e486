/**
 * The CLI's logger: pino JSON lines on stderr, so stdout stays free for `--json` output and pipes.
 * On a terminal the default level is `warn` (the progress bar says the rest); elsewhere `info`.
 */
import { pino } from 'pino';
import type { Logger } from '../sdk/context.ts';

export function createLogger(level: string | undefined, interactive: boolean): Logger {
  return pino({ level: level ?? (interactive ? 'warn' : 'info'), base: undefined }, pino.destination({ fd: 2, sync: true }));
}
