/**
 * A tap's stdout → source messages. RECORD → `record` (its origin: the tap's stdout and line), STATE →
 * `state` (see state.ts), SCHEMA → `schema`, BATCH → the records in its files. A malformed line, and a
 * record of a stream the activation does not read (a tap that ignores its catalog's selection), become
 * `invalid` naming the line: rejected into the ledger with the reason, never dropped unseen.
 * ACTIVATE_VERSION is logged and skipped (the engine keeps no table versions); unknown types are logged once.
 */
import { readBatchFiles } from '../../../interop/batch-files.ts';
import { STDIN, invalidLine, tooLongLine } from '../../../interop/stdin-source.ts';
import { type JsonObject, parseJson } from '../../../protocol/json.ts';
import type { LineBatch } from '../../../protocol/lines.ts';
import { parseSingerLine } from '../../../protocol/singer.ts';
import type { Logger } from '../../../sdk/context.ts';
import type { SourceMessage } from '../../../sdk/source.ts';
import { stateFromSinger } from './state.ts';

export interface TapOutput {
  /** How lines are named in reasons: `tap-github stdout`. */
  readonly label: string;
  /** The streams this read selected. */
  readonly streams: ReadonlySet<string>;
  readonly logger: Logger;
}

export async function* tapMessages(batches: AsyncIterable<LineBatch>, output: TapOutput): AsyncGenerator<SourceMessage> {
  const { label, streams, logger } = output;
  const unknownTypes = new Set<string>();
  const invalid = (line: number, reason: string, raw: string, stream = ''): SourceMessage => invalidLine(line, reason, raw, stream, label);
  for await (const batch of batches) {
    for (let index = 0; index < batch.lines.length; index++) {
      const line = batch.first + index;
      const text = batch.lines[index]!;
      if (batch.tooLong.length > 0 && batch.tooLong.includes(line)) {
        yield tooLongLine(line, label);
        continue;
      }
      const message = parseSingerLine(text, line);
      if (message === undefined) continue;
      switch (message.type) {
        case 'RECORD':
          if (streams.has(message.stream)) yield { type: 'record', stream: message.stream, data: message.record, origin: { file: label, line }, json: message.json };
          else yield invalid(line, `RECORD of stream "${message.stream}", which this activation does not read (the tap ignored its catalog's selection)`, text, message.stream);
          break;
        case 'STATE':
          // The parser keeps every number as written (for targets that echo); a source state wants
          // ordinary numbers, exact only where a double would lose digits — as every Sluice source yields.
          yield { type: 'state', state: stateFromSinger((parseJson(text) as JsonObject).value ?? null) };
          break;
        case 'SCHEMA':
          if (streams.has(message.stream)) yield { type: 'schema', stream: message.stream, jsonSchema: message.schema, keyProperties: message.keyProperties };
          break;
        case 'ERROR':
          yield invalid(line, message.reason, text);
          break;
        case 'BATCH':
          for await (const messages of readBatchFiles(message, line)) {
            for (const item of messages) yield relabel(item, label);
          }
          break;
        case 'ACTIVATE_VERSION':
          logger.debug({ stream: message.stream, line }, `${label} line ${line}: ACTIVATE_VERSION skipped (Sluice keeps no table versions)`);
          break;
        case 'UNKNOWN':
          if (!unknownTypes.has(message.name)) logger.warn({}, `${label} line ${line}: unknown message type ${message.name}; skipped (and any more of this type)`);
          unknownTypes.add(message.name);
          break;
      }
    }
  }
}

/** batch-files.ts names the protocol stream `stdin`; here it is the tap's stdout. */
function relabel(message: SourceMessage, label: string): SourceMessage {
  if (message.type !== 'invalid' || message.origin?.file !== STDIN) return message;
  return { ...message, reason: `${label}${message.reason.slice(STDIN.length)}`, origin: { ...message.origin, file: label } };
}
