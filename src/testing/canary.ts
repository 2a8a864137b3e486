/**
 * Secrets under test. A conformance run plants a canary — a unique, harmless value — in every secret field
 * of a config it expects to fail, and collects the real secret values of the valid config; neither may
 * ever show up in a check reason, an outcome reason or a log line.
 */
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { type JsonSchema, parseConfig, specToJsonSchema } from '../sdk/spec.ts';
import type { RawConfig } from './types.ts';

export interface SecretField {
  readonly path: readonly string[];
  readonly schema: JsonSchema;
}

/** Every field marked secret (`x-secret`), however deeply nested in objects. */
export function secretFields(schema: JsonSchema, prefix: readonly string[] = []): SecretField[] {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties === undefined) return [];
  return Object.entries(properties).flatMap(([key, child]) =>
    child['x-secret'] === true ? [{ path: [...prefix, key], schema: child }] : secretFields(child, [...prefix, key]),
  );
}

export function newCanary(): string {
  return `sluice-canary-${randomBytes(6).toString('hex')}`;
}

export interface Planted {
  readonly config: RawConfig;
  /** Dotted paths that now hold the canary. */
  readonly planted: readonly string[];
  /** Secret fields where a canary would break the spec (a pattern, a length), left as they were. */
  readonly unplantable: readonly string[];
}

/** A copy of `config` with `canary` in every secret field the spec lets it go. */
export function plantCanary(spec: z.ZodType, config: RawConfig, canary: string): Planted {
  let current = structuredClone(config);
  const planted: string[] = [];
  const unplantable: string[] = [];
  for (const field of secretFields(specToJsonSchema(spec))) {
    const candidate = structuredClone(current);
    setAt(candidate, field.path, canaryValue(field.schema, getAt(candidate, field.path), canary));
    if (parseConfig(spec, candidate).ok) {
      current = candidate;
      planted.push(field.path.join('.'));
    } else unplantable.push(field.path.join('.'));
  }
  return { config: current, planted, unplantable };
}

/** The secret values a config holds (strings of 4+ characters: shorter ones would match by chance). */
export function secretValues(spec: z.ZodType, config: RawConfig): string[] {
  const out: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.length >= 4) out.push(value);
    } else if (Array.isArray(value)) value.forEach(collect);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(collect);
  };
  for (const field of secretFields(specToJsonSchema(spec))) collect(getAt(config, field.path));
  return out;
}

function canaryValue(schema: JsonSchema, existing: unknown, canary: string): unknown {
  if (schema.type === 'object') {
    const base = existing !== null && typeof existing === 'object' ? existing : {};
    return { ...base, 'X-Sluice-Canary': canary };
  }
  if (schema.type === 'array') return [canary];
  return canary;
}

function getAt(config: RawConfig, path: readonly string[]): unknown {
  let node: unknown = config;
  for (const key of path) node = node !== null && typeof node === 'object' ? (node as RawConfig)[key] : undefined;
  return node;
}

function setAt(config: RawConfig, path: readonly string[], value: unknown): void {
  let node = config;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = next !== null && typeof next === 'object' ? (next as RawConfig) : (node[key] = {});
  }
  node[path[path.length - 1]!] = value;
}
