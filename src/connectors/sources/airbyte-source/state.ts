/**
 * Airbyte state ↔ Sluice state. The Sluice state is the connector's last AirbyteStateMessage (the
 * `state` of a STATE message: STREAM, GLOBAL or LEGACY, with every field it had), kept as it came.
 * The next read passes it back as the protocol says: a list of state messages in the `--state` file, or
 * for a LEGACY state its `data` blob, which is what connectors of that age read.
 */
import type { JsonObject, JsonValue } from '../../../protocol/json.ts';
import { isObject } from '../../../protocol/lines.ts';
import type { State } from '../../../sdk/source.ts';

export function stateFromAirbyte(message: JsonObject): State {
  return message as State;
}

export function airbyteStateFile(state: State): JsonValue {
  const type = typeof state.type === 'string' ? state.type.toUpperCase() : undefined;
  if (type === 'STREAM' || type === 'GLOBAL') return [state as JsonObject];
  if (isObject(state.data) && (type === 'LEGACY' || type === undefined)) return state.data;
  // Not an Airbyte state (one written by hand, say): passed as the blob it is.
  return state as JsonObject;
}
