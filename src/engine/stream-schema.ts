/**
 * What a run's records look like once mapped (`OutgoingStream`, for destinations that create tables):
 * the source stream's JSON Schema pushed through the activation's mapping — a path mapping copies the
 * source property's schema, a constant gets its JSON type, a template is a string, no mapping keeps the
 * source schema — and the primary key renamed through the path mappings.
 */
import type { JsonValue } from '../protocol/json.ts';
import type { OutgoingStream } from '../sdk/destination.ts';
import type { StreamDescriptor } from '../sdk/source.ts';
import type { JsonSchema } from '../sdk/spec.ts';
import { type Mapping, parsePath } from './mapping.ts';

export function outgoingStream(stream: StreamDescriptor, mapping: Mapping | undefined, keyPaths: readonly (readonly string[])[] | undefined): OutgoingStream {
  const primaryKey = keyPaths === undefined ? undefined : mappedKey(keyPaths, mapping);
  const base = { name: stream.name, ...(primaryKey === undefined ? {} : { primaryKey }) };
  if (mapping === undefined || Object.keys(mapping).length === 0) return { ...base, jsonSchema: stream.jsonSchema };
  const root: JsonSchema = { type: 'object', properties: {} };
  for (const [target, spec] of Object.entries(mapping)) {
    let schema: JsonSchema;
    if (typeof spec === 'string') schema = schemaAt(stream.jsonSchema, parsePath(spec));
    else if ('path' in spec) schema = schemaAt(stream.jsonSchema, parsePath(spec.path));
    else if ('const' in spec) schema = { type: jsonType(spec.const as JsonValue) };
    else schema = { type: 'string' };
    place(root, parsePath(target), schema);
  }
  return { ...base, jsonSchema: root };
}

/** The key's field names after mapping; undefined when a mapping leaves a key field out. */
export function mappedKey(keyPaths: readonly (readonly string[])[], mapping: Mapping | undefined): string[] | undefined {
  if (mapping === undefined || Object.keys(mapping).length === 0) return keyPaths.map((path) => path.join('.'));
  const names: string[] = [];
  for (const path of keyPaths) {
    const source = path.join('.');
    const found = Object.entries(mapping).find(([, spec]) => {
      const from = typeof spec === 'string' ? spec : 'path' in spec ? spec.path : undefined;
      return from !== undefined && parsePath(from).join('.') === source;
    });
    if (found === undefined) return undefined;
    names.push(found[0]);
  }
  return names;
}

/** The schema of the value at `path` in records of `schema`; `{}` (anything) when it says nothing. */
function schemaAt(schema: JsonSchema, path: readonly (string | number)[]): JsonSchema {
  let node: unknown = schema;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return {};
    const current = node as Record<string, unknown>;
    if (typeof part === 'number') node = Array.isArray(current.items) ? current.items[part] : current.items;
    else node = (current.properties as Record<string, unknown> | undefined)?.[part];
  }
  return node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as JsonSchema) : {};
}

function place(root: JsonSchema, path: readonly (string | number)[], schema: JsonSchema): void {
  let node = root;
  for (let index = 0; index < path.length - 1; index++) {
    const key = String(path[index]);
    const properties = (node.properties ??= {}) as Record<string, JsonSchema>;
    let child = properties[key];
    if (child === undefined || child.type !== 'object') {
      child = { type: 'object', properties: {} };
      properties[key] = child;
    }
    node = child;
  }
  ((node.properties ??= {}) as Record<string, JsonSchema>)[String(path[path.length - 1])] = schema;
}

function jsonType(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'string' || typeof value === 'boolean') return typeof value;
  if (typeof value === 'object' && value.constructor === Object) return 'object';
  return 'number'; // an exact decimal
}
