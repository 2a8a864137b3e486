/**
 * Singer state ↔ Sluice state. A tap's STATE `value` is its whole state, and becomes the Sluice state as
 * it is (numbers as written); the next read passes it back, the same value, as `--state`. Sluice states
 * are objects, so the rare tap whose state is not one has it kept under one key, and unwrapped again.
 */
import type { JsonValue } from '../../../protocol/json.ts';
import { isObject } from '../../../protocol/lines.ts';
import type { State } from '../../../sdk/source.ts';

const WRAPPED = 'sluice_singer_value';

export function stateFromSinger(value: JsonValue): State {
  return isObject(value) ? (value as State) : { [WRAPPED]: value };
}

export function singerStateValue(state: State): JsonValue {
  const keys = Object.keys(state);
  return keys.length === 1 && keys[0] === WRAPPED ? (state[WRAPPED] ?? null) : (state as JsonValue);
}
