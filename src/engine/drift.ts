/**
 * Source schema drift: the columns of a stream (its JSON Schema's top-level properties) and their types,
 * compared with the ones recorded when the activation's fingerprints were last saved. A run records what
 * changed — columns added, removed, or whose type changed — and the activation's `on_schema_change`
 * decides whether the run goes on (`continue`, the default) or stops before reading (`fail`).
 */
import type { JsonSchema } from '../sdk/spec.ts';

export interface SchemaDrift {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly { readonly column: string; readonly from: string; readonly to: string }[];
}

/** `column → type` for a stream's JSON Schema; undefined when the schema names no properties. */
export function columnTypes(schema: JsonSchema): Record<string, string> | undefined {
  const properties = schema.properties;
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return undefined;
  const columns: Record<string, string> = {};
  for (const [name, property] of Object.entries(properties as Record<string, unknown>)) {
    columns[name] = describeType(property);
  }
  return columns;
}

/** A property schema's type in a few characters: `integer`, `string|null`, `string(date-time)`, `any`. */
export function describeType(schema: unknown): string {
  if (schema === true || schema === null || typeof schema !== 'object') return 'any';
  const node = schema as Record<string, unknown>;
  let types: string[] = [];
  if (typeof node.type === 'string') types = [node.type];
  else if (Array.isArray(node.type)) types = node.type.map(String);
  else {
    const members = (node.anyOf ?? node.oneOf) as unknown;
    if (Array.isArray(members)) types = members.flatMap((member) => describeType(member).split('|'));
  }
  types = [...new Set(types.filter((type) => type !== 'any'))].sort();
  if (types.length === 0) return 'any';
  const format = typeof node.format === 'string' ? `(${node.format})` : '';
  return types.map((type) => (type === 'string' ? `${type}${format}` : type)).join('|');
}

/** What changed from `before` to `after`; undefined when nothing did. */
export function detectDrift(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): SchemaDrift | undefined {
  const added = Object.keys(after).filter((column) => !(column in before));
  const removed = Object.keys(before).filter((column) => !(column in after));
  const changed = Object.keys(after)
    .filter((column) => column in before && before[column] !== after[column])
    .map((column) => ({ column, from: before[column]!, to: after[column]! }));
  if (added.length === 0 && removed.length === 0 && changed.length === 0) return undefined;
  return { added, removed, changed };
}

/** One line: `added: email; removed: fax; changed: id integer → string`. */
export function formatDrift(drift: SchemaDrift): string {
  const parts: string[] = [];
  if (drift.added.length > 0) parts.push(`added: ${drift.added.join(', ')}`);
  if (drift.removed.length > 0) parts.push(`removed: ${drift.removed.join(', ')}`);
  if (drift.changed.length > 0) parts.push(`changed: ${drift.changed.map((change) => `${change.column} ${change.from} → ${change.to}`).join(', ')}`);
  return parts.join('; ');
}
