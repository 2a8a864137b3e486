/**
 * The rows of a connector's settings table, read from its spec's JSON Schema (the same schema the API and
 * UI use, so docs cannot disagree with them): name, type, required, default, secret, description, allowed
 * values, examples and visible-when, one row per field — nested objects' fields as dotted names.
 */
import type { JsonSchema } from '../sdk/spec.ts';

export interface FieldRow {
  readonly name: string;
  readonly type: string;
  readonly required: boolean;
  readonly default: unknown;
  readonly secret: boolean;
  readonly description: string;
  readonly values: readonly unknown[];
  readonly examples: readonly unknown[];
  readonly visibleWhen: Readonly<Record<string, unknown>> | undefined;
}

export function fieldRows(schema: JsonSchema, prefix = ''): FieldRow[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).flatMap(([key, field]) => {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    const row: FieldRow = {
      name,
      type: typeOf(field),
      required: required.has(key),
      default: field.default,
      secret: field['x-secret'] === true,
      description: typeof field.description === 'string' ? field.description : '',
      values: Array.isArray(field.enum) ? field.enum : field.const !== undefined ? [field.const] : [],
      examples: Array.isArray(field.examples) ? field.examples : [],
      visibleWhen: field['x-visible-when'] as FieldRow['visibleWhen'],
    };
    return [row, ...(field.type === 'object' && field.properties !== undefined ? fieldRows(field, name) : [])];
  });
}

/** A short, readable type: `integer (1 to 100000)`, `array of string`, `map of string`, `string (uri)`. */
export function typeOf(schema: JsonSchema): string {
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (variants !== undefined) return [...new Set(variants.map(typeOf))].join(' or ');
  const type = Array.isArray(schema.type) ? (schema.type as string[]).join(' or ') : (schema.type as string | undefined);
  if (type === 'array') return `array of ${schema.items === undefined ? 'any' : typeOf(schema.items as JsonSchema)}`;
  if (type === 'object') {
    const values = schema.additionalProperties;
    return values !== undefined && typeof values === 'object' ? `map of ${typeOf(values as JsonSchema)}` : 'object';
  }
  if (type === undefined) return schema.const !== undefined ? typeof schema.const : 'any';
  return `${type}${constraints(schema)}`;
}

function constraints(schema: JsonSchema): string {
  if (typeof schema.format === 'string') return ` (${schema.format})`;
  const min = schema.minimum as number | undefined;
  // zod gives every integer the safe-integer bounds; those say nothing to a user.
  const max = schema.maximum === Number.MAX_SAFE_INTEGER ? undefined : (schema.maximum as number | undefined);
  const minLength = schema.minLength as number | undefined;
  const maxLength = schema.maxLength as number | undefined;
  if (min !== undefined && max !== undefined) return ` (${min} to ${max})`;
  if (min !== undefined && min !== Number.MIN_SAFE_INTEGER) return ` (≥ ${min})`;
  if (max !== undefined) return ` (≤ ${max})`;
  if (minLength !== undefined && minLength === maxLength) return ` (${minLength} character${minLength === 1 ? '' : 's'})`;
  if (minLength !== undefined && minLength > 0) return ' (not empty)';
  return '';
}
