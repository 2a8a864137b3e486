/**
 * The Singer side of a target session: the target runs as `<command> --config F`, and what it prints on
 * stdout is state values (bare, as Singer targets print them, or in a STATE envelope, which some do). A
 * state carrying a batch marker confirms that batch; anything else on stdout is logged at debug.
 */
import type { TargetProtocol } from '../../../interop/external/target-session.ts';
import { type JsonValue, parseJson } from '../../../protocol/json.ts';
import { isObject } from '../../../protocol/lines.ts';

export const MARKER_KEY = 'sluice_batch';

export function singerProtocol(config: Readonly<Record<string, unknown>>): TargetProtocol {
  return {
    kind: 'Singer target',
    args: async (files) => ['--config', await files.write('config.json', config)],
    readLine(text, line, output) {
      let value: JsonValue;
      try {
        value = parseJson(text);
      } catch {
        if (text.trim() !== '') output.logger.debug({}, `${output.name} stdout line ${line}: ${output.redact(text)}`);
        return undefined;
      }
      const state = isObject(value) && value.type === 'STATE' && 'value' in value ? value.value : value;
      if (isObject(state) && typeof state[MARKER_KEY] === 'string') return { confirms: state[MARKER_KEY] };
      output.logger.debug({}, `${output.name} stdout line ${line}: a state Sluice did not send; ignored`);
      return undefined;
    },
  };
}
