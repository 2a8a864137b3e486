/**
 * What an Airbyte connector prints besides its data, handled the same way by every external Airbyte
 * connector: LOG messages go to the run's logs at their level; a TRACE ERROR is the connector's failure
 * message (user-facing `message`, else `internal_message`); a line that is not a protocol message is
 * logged, as the Airbyte platform does. Everything taken from the child is masked by `redact`.
 * Also here: reading the one answer of `discover` (CATALOG) or `check` (CONNECTION_STATUS).
 */
import type { Readable } from 'node:stream';
import type { JsonObject } from '../../protocol/json.ts';
import { isObject, parseObjectLine, readLines } from '../../protocol/lines.ts';
import type { Logger } from '../../sdk/context.ts';
import type { Redact } from './redact.ts';

export interface AirbyteOutput {
  /** The program's name, as log lines and errors say it. */
  readonly name: string;
  readonly logger: Logger;
  readonly redact: Redact;
}

export function logAirbyte(output: AirbyteOutput, level: string, message: string): void {
  const text = `${output.name}: ${output.redact(message)}`;
  switch (level.toUpperCase()) {
    case 'FATAL':
    case 'ERROR':
      output.logger.error({}, text);
      break;
    case 'WARN':
    case 'WARNING':
      output.logger.warn({}, text);
      break;
    case 'DEBUG':
    case 'TRACE':
      output.logger.debug({}, text);
      break;
    default:
      output.logger.info({}, text);
  }
}

/** A line that is not an Airbyte message (a stray print): logged, not fatal. */
export function logStrayLine(output: AirbyteOutput, text: string): void {
  if (text.trim() !== '') output.logger.info({}, `${output.name}: ${output.redact(text.length > 2000 ? `${text.slice(0, 2000)}…` : text)}`);
}

/** The failure a TRACE ERROR reports, masked. */
export function traceErrorMessage(output: AirbyteOutput, trace: JsonObject): string {
  const error = isObject(trace.error) ? trace.error : {};
  const message = typeof error.message === 'string' && error.message !== '' ? error.message : typeof error.internal_message === 'string' ? error.internal_message : 'an error without a message';
  return `${output.name}: ${output.redact(message)}`;
}

export interface AirbyteAnswer {
  /** The CATALOG or CONNECTION_STATUS message, if one came. */
  readonly message: JsonObject | undefined;
  /** The first TRACE ERROR's message, if one came. */
  readonly error: string | undefined;
}

export async function readAirbyteAnswer(stdout: Readable, type: 'CATALOG' | 'CONNECTION_STATUS', output: AirbyteOutput): Promise<AirbyteAnswer> {
  let message: JsonObject | undefined;
  let error: string | undefined;
  for await (const batch of readLines(stdout)) {
    batch.lines.forEach((text, index) => {
      const parsed = parseObjectLine(text, batch.first + index);
      if (parsed === undefined) return;
      if ('reason' in parsed) return logStrayLine(output, text);
      const { object, name } = parsed;
      if (name === type) message = object;
      else if (name === 'LOG' && isObject(object.log)) logAirbyte(output, String(object.log.level ?? 'INFO'), String(object.log.message ?? ''));
      else if (name === 'TRACE' && isObject(object.trace) && object.trace.type === 'ERROR') error ??= traceErrorMessage(output, object.trace);
    });
  }
  return { message, error };
}
