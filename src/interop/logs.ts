/**
 * Loggers for protocol runs, where stdout belongs to the protocol:
 * - Singer: plain `LEVEL message {details}` lines on stderr, the way Singer taps and targets log;
 * - Airbyte: LOG messages on stdout, in order with the other messages (Airbyte reads logs from there).
 * Details are single-line JSON; config values are never passed to a logger (they may hold secrets).
 */
import type { Logger } from '../sdk/context.ts';
import { stringifyJson } from '../protocol/json.ts';
import { airbyteLine, logMessage } from '../protocol/airbyte.ts';
import type { LineWriter } from './line-writer.ts';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
const SINGER_NAMES = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' } as const;
const AIRBYTE_NAMES = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const;

type Level = Exclude<LogLevel, 'silent'>;

function render(obj: object, msg: string | undefined): string {
  const details = Object.keys(obj).length > 0 ? stringifyJson(obj) : '';
  return [msg, details].filter((part) => part !== undefined && part !== '').join(' ');
}

function makeLogger(threshold: LogLevel, emit: (level: Level, text: string) => void): Logger {
  const at = (level: Level) => (obj: object, msg?: string) => {
    if (RANK[level] >= RANK[threshold]) emit(level, render(obj, msg));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function singerLogger(writeErr: (line: string) => void, threshold: LogLevel = 'info'): Logger {
  return makeLogger(threshold, (level, text) => writeErr(`${SINGER_NAMES[level]} ${text}`));
}

export function airbyteLogger(writer: LineWriter, threshold: LogLevel = 'info'): Logger {
  return makeLogger(threshold, (level, text) => writer.writeNow(airbyteLine(logMessage(AIRBYTE_NAMES[level], text))));
}

export function parseLogLevel(value: string | undefined): LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value ?? '') ? (value as LogLevel) : 'info';
}
