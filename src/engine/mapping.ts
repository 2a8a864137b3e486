/**
 * Field mapping per activation: each destination field takes a source field path (`customer.email`,
 * `items[0].sku`), a constant (`{ const: "web" }`) or a small template (`{ template: "{{first}} {{last}}" }`).
 * Destination field names may be dotted to build nested objects. No mapping means records pass through.
 *
 * A mapping is compiled once per run into a plain function; a missing source field maps to nothing
 * (the field is left out), so the destination object's schema decides whether that is acceptable.
 */
import { z } from 'zod';
import type { JsonObject, JsonValue } from '../protocol/json.ts';

export const mappingValueSchema = z.union([
  z.string().min(1),
  z.strictObject({ path: z.string().min(1) }),
  z.strictObject({ const: z.json() }),
  z.strictObject({ template: z.string() }),
]);

export const mappingSchema = z.record(z.string().min(1), mappingValueSchema);
export type Mapping = z.output<typeof mappingSchema>;

type Getter = (record: JsonObject) => JsonValue | undefined;
export type MapRecord = (record: JsonObject) => JsonObject;

/** Split `a.b[0].c` into ['a', 'b', 0, 'c']. */
export function parsePath(path: string): Array<string | number> {
  const parts: Array<string | number> = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    parts.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
  }
  return parts;
}

function compileGetter(path: string): Getter {
  const parts = parsePath(path);
  if (parts.length === 1) {
    const key = parts[0]!;
    return (record) => (record as Record<string | number, JsonValue>)[key];
  }
  return (record) => {
    let value: unknown = record;
    for (const part of parts) {
      if (value === null || typeof value !== 'object') return undefined;
      value = (value as Record<string | number, unknown>)[part];
    }
    return value as JsonValue | undefined;
  };
}

function compileTemplate(template: string): Getter {
  const pieces = template.split(/\{\{\s*([^}]+?)\s*\}\}/g);
  const getters = pieces.map((piece, index) => (index % 2 === 1 ? compileGetter(piece) : undefined));
  return (record) => {
    let out = '';
    for (let index = 0; index < pieces.length; index++) {
      const getter = getters[index];
      if (getter === undefined) out += pieces[index];
      else {
        const value = getter(record);
        if (value !== undefined && value !== null) out += typeof value === 'object' ? JSON.stringify(value) : String(value);
      }
    }
    return out;
  };
}

function compileValue(spec: Mapping[string]): Getter {
  if (typeof spec === 'string') return compileGetter(spec);
  if ('path' in spec) return compileGetter(spec.path);
  if ('const' in spec) {
    const value = spec.const as JsonValue;
    return () => value;
  }
  return compileTemplate(spec.template);
}

/** Compile a mapping into one function; `undefined` mapping is the identity. */
export function compileMapping(mapping: Mapping | undefined): MapRecord {
  if (mapping === undefined || Object.keys(mapping).length === 0) return (record) => record;
  const fields = Object.entries(mapping).map(([target, spec]) => ({ target: parsePath(target), get: compileValue(spec) }));
  return (record) => {
    const out: JsonObject = {};
    for (const { target, get } of fields) {
      const value = get(record);
      if (value !== undefined) setPath(out, target, value);
    }
    return out;
  };
}

function setPath(out: JsonObject, path: Array<string | number>, value: JsonValue): void {
  let node: Record<string | number, JsonValue> = out;
  for (let index = 0; index < path.length - 1; index++) {
    const key = path[index]!;
    let next = node[key];
    if (next === undefined || next === null || typeof next !== 'object') {
      next = typeof path[index + 1] === 'number' ? [] : {};
      node[key] = next;
    }
    node = next as Record<string | number, JsonValue>;
  }
  node[path[path.length - 1]!] = value;
}

/** Set a (possibly dotted) destination field, building nested objects as a mapping would. */
export function setField(out: JsonObject, target: string, value: JsonValue): void {
  setPath(out, parsePath(target), value);
}
