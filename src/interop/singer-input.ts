/**
 * Singer messages on stdin → source messages for the engine (see stdin-source.ts).
 *
 * - RECORD → `record` of its stream; SCHEMA → `schema` (a schema change mid-stream is just a newer schema:
 *   records are passed on as they are, each with whatever fields it has).
 * - STATE → `state` whose value is the whole STATE message, so the target can echo `value` exactly.
 * - ACTIVATE_VERSION → a barrier: everything before it is delivered first (buffers drained), then it is
 *   applied — for destinations without table versions that means logging it — and only then is the next
 *   line read. BATCH → the records in its files (batch-files.ts).
 * - A malformed line → `invalid` naming its line; an unknown type → logged once per type and skipped.
 */
import type { LineBatch } from '../protocol/lines.ts';
import { parseSingerLine } from '../protocol/singer.ts';
import type { Logger } from '../sdk/context.ts';
import type { SourceMessage, State } from '../sdk/source.ts';
import { readBatchFiles } from './batch-files.ts';
import type { Barriers } from './barriers.ts';
import { type Decoder, STDIN, invalidLine, tooLongLine } from './stdin-source.ts';
import { StreamBuffers } from './stream-buffers.ts';

export interface SingerInputOptions {
  readonly logger: Logger;
  readonly barriers: Barriers;
  /** Buffer per stream like Singer SDK targets (see stream-buffers.ts); absent: pass records on at once. */
  readonly batchSizeRows?: number;
  /** Called for every record read, by stream (Singer metrics). */
  readonly counted?: (stream: string) => void;
}

export function singerDecoder(options: SingerInputOptions): Decoder {
  return (lines: AsyncIterable<LineBatch>) => singerMessages(lines, options);
}

async function* singerMessages(lines: AsyncIterable<LineBatch>, options: SingerInputOptions): AsyncGenerator<SourceMessage[]> {
  const { logger, barriers, counted } = options;
  const buffers = options.batchSizeRows === undefined ? undefined : new StreamBuffers(options.batchSizeRows);
  const unknownTypes = new Set<string>();
  const addRecord = (message: Extract<SourceMessage, { type: 'record' }>, out: SourceMessage[]) => {
    counted?.(message.stream);
    if (buffers === undefined) out.push(message);
    else buffers.record(message, out);
  };
  for await (const batch of lines) {
    let out: SourceMessage[] = [];
    for (let index = 0; index < batch.lines.length; index++) {
      const line = batch.first + index;
      const text = batch.lines[index]!;
      if (batch.tooLong.length > 0 && batch.tooLong.includes(line)) {
        out.push(tooLongLine(line));
        continue;
      }
      // Scanned inside its chunk of input when it is a piece of one (faster than scanning the piece).
      const offset = batch.offsets?.[index] ?? -1;
      const message = offset >= 0 ? parseSingerLine(text, line, batch.text, offset) : parseSingerLine(text, line);
      if (message === undefined) continue;
      switch (message.type) {
        case 'ERROR':
          out.push(invalidLine(line, message.reason, text));
          break;
        case 'RECORD':
          addRecord({ type: 'record', stream: message.stream, data: message.record, origin: { file: STDIN, line }, json: message.json }, out);
          break;
        case 'STATE': {
          const state = message.message as State;
          if (buffers === undefined) out.push({ type: 'state', state });
          else buffers.state(state, out);
          break;
        }
        case 'SCHEMA':
          out.push({ type: 'schema', stream: message.stream, jsonSchema: message.schema, keyProperties: message.keyProperties });
          break;
        case 'ACTIVATE_VERSION': {
          buffers?.flushAll(out);
          const barrier = barriers.create(`ACTIVATE_VERSION ${String(message.version)} ${message.stream}`);
          out.push({ type: 'state', state: barrier.marker });
          yield out;
          out = [];
          const before = await barrier.reached;
          if (before === undefined) return;
          logger.info(
            { stream: message.stream, version: message.version, line },
            `ACTIVATE_VERSION applied after the ${before} records before it settled; this destination keeps no table versions, so no rows are retired`,
          );
          break;
        }
        case 'BATCH':
          if (out.length > 0) yield out;
          out = [];
          for await (const records of readBatchFiles(message, line)) {
            const next: SourceMessage[] = [];
            for (const record of records) {
              if (record.type === 'record') addRecord(record, next);
              else next.push(record);
            }
            yield next;
          }
          break;
        case 'UNKNOWN':
          if (!unknownTypes.has(message.name)) logger.warn({}, `${STDIN} line ${line}: unknown message type ${message.name}; skipped (and any more of this type)`);
          unknownTypes.add(message.name);
          break;
      }
    }
    if (out.length > 0) yield out;
  }
  const rest: SourceMessage[] = [];
  buffers?.flushAll(rest);
  if (rest.length > 0) yield rest;
}
