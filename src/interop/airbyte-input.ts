/**
 * Airbyte messages on stdin → source messages for the engine (see stdin-source.ts), for `write`.
 *
 * - RECORD → `record` of its stream (`namespace.name` when namespaced); a record of a stream that is not in
 *   the configured catalog is rejected, naming its line, as Airbyte destinations must not invent streams.
 * - STATE → `state` whose value is the whole STATE message (LEGACY, STREAM or GLOBAL), so it can be echoed
 *   verbatim, unknown fields such as `id` included.
 * - TRACE (stream statuses, estimates), LOG and CONTROL are tolerated and logged at debug, a source's TRACE
 *   ERROR at warn; an unknown type is logged once (warn) and skipped. A malformed line → `invalid` naming its line.
 */
import { streamKey, parseAirbyteLine } from '../protocol/airbyte.ts';
import type { LineBatch } from '../protocol/lines.ts';
import type { Logger } from '../sdk/context.ts';
import type { SourceMessage, State } from '../sdk/source.ts';
import { type Decoder, STDIN, invalidLine, tooLongLine } from './stdin-source.ts';

export interface AirbyteInputOptions {
  readonly logger: Logger;
  /** Streams of the configured catalog, by `streamKey`. */
  readonly streams: ReadonlySet<string>;
}

export function airbyteDecoder(options: AirbyteInputOptions): Decoder {
  return (lines: AsyncIterable<LineBatch>) => airbyteMessages(lines, options);
}

/** Protocol types a destination has no use for, skipped quietly; others are new to this version: said once. */
const KNOWN_TYPES = new Set(['SPEC', 'CATALOG', 'CONNECTION_STATUS', 'CONTROL', 'DESTINATION_CATALOG']);

async function* airbyteMessages(lines: AsyncIterable<LineBatch>, { logger, streams }: AirbyteInputOptions): AsyncGenerator<SourceMessage[]> {
  const unknownTypes = new Set<string>();
  for await (const batch of lines) {
    const out: SourceMessage[] = [];
    for (let index = 0; index < batch.lines.length; index++) {
      const line = batch.first + index;
      const text = batch.lines[index]!;
      if (batch.tooLong.length > 0 && batch.tooLong.includes(line)) {
        out.push(tooLongLine(line));
        continue;
      }
      // Scanned inside its chunk of input when it is a piece of one (faster than scanning the piece).
      const offset = batch.offsets?.[index] ?? -1;
      const message = offset >= 0 ? parseAirbyteLine(text, line, batch.text, offset) : parseAirbyteLine(text, line);
      if (message === undefined) continue;
      switch (message.type) {
        case 'ERROR':
          out.push(invalidLine(line, message.reason, text));
          break;
        case 'RECORD': {
          const stream = streamKey(message.stream, message.namespace);
          if (streams.has(stream)) out.push({ type: 'record', stream, data: message.data, origin: { file: STDIN, line }, json: message.json });
          else out.push(invalidLine(line, `RECORD of stream "${stream}", which is not in the configured catalog`, text, stream));
          break;
        }
        case 'STATE':
          out.push({ type: 'state', state: message.message as State });
          break;
        case 'TRACE':
          if (message.traceType === 'ERROR') logger.warn({ line, trace: message.trace }, 'the source reported an error');
          else logger.debug({ line, trace: message.traceType }, 'TRACE message skipped');
          break;
        case 'LOG':
          logger.debug({ line, level: message.level }, `source log: ${message.message}`);
          break;
        case 'OTHER':
          if (KNOWN_TYPES.has(message.name)) logger.debug({ line }, `${message.name} message skipped`);
          else if (!unknownTypes.has(message.name)) logger.warn({}, `${STDIN} line ${line}: unknown message type ${message.name}; skipped (and any more of this type)`);
          unknownTypes.add(message.name);
          break;
      }
    }
    if (out.length > 0) yield out;
  }
}
