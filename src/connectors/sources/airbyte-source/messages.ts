/**
 * A connector's `read` output → source messages. RECORD → `record` (origin: the connector's stdout and
 * line), STATE → `state` (state.ts), LOG → the run's logs, TRACE ERROR → the read fails with its message.
 * A RECORD or STATE that lacks what it needs, and a record of a stream the activation does not read,
 * become `invalid` naming the line (rejected into the ledger, never dropped unseen). A line that is not a
 * protocol message at all is logged, as the Airbyte platform does. CONTROL messages (a connector asking
 * to store new config, e.g. a refreshed OAuth token) are not applied: said once, without their content.
 */
import { type AirbyteOutput, logAirbyte, logStrayLine, traceErrorMessage } from '../../../interop/external/airbyte-output.ts';
import { parseAirbyteLine, streamKey } from '../../../protocol/airbyte.ts';
import { type JsonObject, parseJson } from '../../../protocol/json.ts';
import { type LineBatch, isObject } from '../../../protocol/lines.ts';
import { invalidLine, tooLongLine } from '../../../interop/stdin-source.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import type { SourceMessage } from '../../../sdk/source.ts';
import { stateFromAirbyte } from './state.ts';

export interface ReadOutput extends AirbyteOutput {
  /** How lines are named in reasons: `source-github stdout`. */
  readonly label: string;
  readonly streams: ReadonlySet<string>;
}

/** Types a source has no reason to send during a read; skipped quietly. */
const QUIET = new Set(['SPEC', 'CATALOG', 'CONNECTION_STATUS', 'DESTINATION_CATALOG']);

export async function* readMessages(batches: AsyncIterable<LineBatch>, output: ReadOutput): AsyncGenerator<SourceMessage> {
  const { label, streams, logger } = output;
  const said = new Set<string>();
  const once = (key: string, say: () => void) => {
    if (!said.has(key)) say();
    said.add(key);
  };
  const invalid = (line: number, reason: string, raw: string, stream = ''): SourceMessage => invalidLine(line, reason, raw, stream, label);
  for await (const batch of batches) {
    for (let index = 0; index < batch.lines.length; index++) {
      const line = batch.first + index;
      const text = batch.lines[index]!;
      if (batch.tooLong.length > 0 && batch.tooLong.includes(line)) {
        yield tooLongLine(line, label);
        continue;
      }
      const message = parseAirbyteLine(text, line);
      if (message === undefined) continue;
      switch (message.type) {
        case 'RECORD': {
          const stream = streamKey(message.stream, message.namespace);
          if (streams.has(stream)) yield { type: 'record', stream, data: message.data, origin: { file: label, line }, json: message.json };
          else yield invalid(line, `RECORD of stream "${stream}", which this activation does not read`, text, stream);
          break;
        }
        case 'STATE': {
          // Ordinary numbers, exact where a double would lose digits: the parser's verbatim copy is for echoing.
          const state = (parseJson(text) as JsonObject).state as JsonObject;
          const descriptor = isObject(state.stream) && isObject(state.stream.stream_descriptor) ? state.stream.stream_descriptor : undefined;
          const stream = descriptor === undefined ? undefined : streamKey(String(descriptor.name), typeof descriptor.namespace === 'string' ? descriptor.namespace : undefined);
          if (message.stateType === 'STREAM' && stream !== undefined && !streams.has(stream)) {
            logger.warn({}, `${label} line ${line}: a STATE of stream "${stream}", which this activation does not read; not kept`);
          } else yield { type: 'state', state: stateFromAirbyte(state) };
          break;
        }
        case 'ERROR':
          // A RECORD or STATE missing its parts is bad data; anything else is not a protocol message.
          if (/^(RECORD|STATE) /.test(message.reason)) yield invalid(line, message.reason, text);
          else logStrayLine(output, text);
          break;
        case 'LOG':
          logAirbyte(output, message.level, message.message);
          break;
        case 'TRACE':
          if (message.traceType === 'ERROR') throw new SluiceError('SOURCE_FAILED', traceErrorMessage(output, message.trace));
          logger.debug({ line, trace: message.traceType }, `${label} line ${line}: TRACE ${message.traceType}`);
          break;
        case 'OTHER':
          if (message.name === 'CONTROL') {
            once('CONTROL', () => logger.warn({}, `${output.name} asked to update its stored config (CONTROL message); Sluice does not store config changes: update the config yourself if the connector needs it`));
          } else if (!QUIET.has(message.name)) {
            once(message.name, () => logger.warn({}, `${label} line ${line}: unknown message type ${message.name}; skipped (and any more of this type)`));
          }
          break;
      }
    }
  }
}
