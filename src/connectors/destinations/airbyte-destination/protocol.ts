/**
 * The Airbyte side of a destination session: the connector runs as `<command> write --config F --catalog C`
 * with a ConfiguredAirbyteCatalog of the one stream this run writes, and prints Airbyte messages: an echoed
 * STATE carrying a batch marker confirms that batch, LOG messages go to the run's logs, a TRACE ERROR fails
 * the run with its message, and a line that is not a message is logged (as the Airbyte platform does).
 *
 * The catalog carries `generation_id`/`minimum_generation_id` (Airbyte's refresh protocol): equal for
 * `overwrite`, so destinations that use generations drop older data; 0 minimum otherwise.
 */
import { logAirbyte, logStrayLine, traceErrorMessage } from '../../../interop/external/airbyte-output.ts';
import type { TargetProtocol } from '../../../interop/external/target-session.ts';
import { parseAirbyteLine } from '../../../protocol/airbyte.ts';
import type { JsonObject, JsonValue } from '../../../protocol/json.ts';
import { isObject } from '../../../protocol/lines.ts';
import type { AirbyteDestinationConfig } from './spec.ts';

export const MARKER_KEY = 'sluice_batch';

export function streamDescriptor(config: AirbyteDestinationConfig, stream: string): JsonObject {
  return config.namespace === undefined ? { name: stream } : { name: stream, namespace: config.namespace };
}

export function configuredCatalog(config: AirbyteDestinationConfig, stream: string, generation: number): JsonObject {
  const overwrite = config.destination_sync_mode === 'overwrite';
  return {
    streams: [
      {
        stream: { ...streamDescriptor(config, stream), json_schema: config.json_schema as JsonObject, supported_sync_modes: ['full_refresh', 'incremental'] },
        sync_mode: overwrite ? 'full_refresh' : 'incremental',
        destination_sync_mode: config.destination_sync_mode,
        primary_key: config.primary_key.map((key) => [key]),
        cursor_field: config.cursor_field === undefined ? [] : [config.cursor_field],
        generation_id: generation,
        minimum_generation_id: overwrite ? generation : 0,
        sync_id: generation,
      },
    ],
  };
}

/** The marker in an echoed state, whichever state type carries it. */
function markerOf(state: JsonObject): JsonValue | undefined {
  const holder = isObject(state.stream) ? state.stream.stream_state : isObject(state.global) ? state.global.shared_state : state.data;
  return isObject(holder) ? holder[MARKER_KEY] : undefined;
}

export function airbyteProtocol(config: AirbyteDestinationConfig, stream: string): TargetProtocol {
  return {
    kind: 'Airbyte destination',
    args: async (files) => [
      'write',
      '--config',
      await files.write('config.json', config.config),
      '--catalog',
      await files.write('catalog.json', configuredCatalog(config, stream, Math.floor(Date.now() / 1000))),
    ],
    readLine(text, line, output) {
      const message = parseAirbyteLine(text, line);
      if (message === undefined) return undefined;
      switch (message.type) {
        case 'STATE': {
          const marker = isObject(message.message.state) ? markerOf(message.message.state) : undefined;
          if (typeof marker === 'string') return { confirms: marker };
          output.logger.debug({}, `${output.name} stdout line ${line}: a state Sluice did not send; ignored`);
          return undefined;
        }
        case 'TRACE':
          if (message.traceType === 'ERROR') return { error: traceErrorMessage(output, message.trace) };
          output.logger.debug({}, `${output.name} stdout line ${line}: TRACE ${message.traceType}`);
          return undefined;
        case 'LOG':
          logAirbyte(output, message.level, message.message);
          return undefined;
        case 'ERROR':
          logStrayLine(output, text);
          return undefined;
        default:
          output.logger.debug({}, `${output.name} stdout line ${line}: ${message.type === 'OTHER' ? message.name : message.type} message ignored`);
          return undefined;
      }
    },
  };
}
