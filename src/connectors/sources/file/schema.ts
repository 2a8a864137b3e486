/**
 * A stream schema guessed from the first records of a file, for formats that carry no schema (JSONL,
 * JSON). Deliberately shallow: top-level properties with the JSON types seen, nothing required, other
 * properties allowed — a hint for mapping, not a contract.
 */
import type { JsonSchema } from '../../../sdk/spec.ts';
import { LosslessNumber } from '../../../protocol/json.ts';
import type { JsonObject, JsonValue } from '../../../protocol/json.ts';

/** How many records discovery looks at. */
export const SAMPLE_SIZE = 100;

function jsonType(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'bigint':
      return 'integer';
    case 'number':
      return Number.isInteger(value) ? 'integer' : 'number';
    default:
      // A long number kept exact is still a number.
      if (value instanceof LosslessNumber) return 'number';
      return 'object';
  }
}

export function inferSchema(records: readonly JsonObject[]): JsonSchema {
  const seen = new Map<string, Set<string>>();
  for (const record of records) {
    for (const [key, value] of Object.entries(record)) {
      let types = seen.get(key);
      if (types === undefined) seen.set(key, (types = new Set()));
      types.add(jsonType(value));
    }
  }
  const properties: Record<string, JsonSchema> = {};
  for (const [key, types] of seen) {
    // An integer column with one fractional value is a number column.
    if (types.has('number')) types.delete('integer');
    const list = [...types].sort();
    properties[key] = { type: list.length === 1 ? list[0] : list };
  }
  return { type: 'object', properties };
}
