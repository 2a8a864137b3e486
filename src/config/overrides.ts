/**
 * Per-destination-type settings from the environment: `SLUICE_<TYPE>_<KEY>` overrides key `<key>` of every
 * destination of that type — `SLUICE_SFTP_HOST`, `SLUICE_SFTP_MAX_UPLOADS`, `SLUICE_MARKETO_BULK_POLL_INTERVAL_MS`
 * (type and key upper-cased, anything but letters and digits as `_`). The value is read as the field's type
 * says: numbers, `true`/`false` (also `1`/`0`, `yes`/`no`), lists as JSON (`["a","b"]`) or comma-separated,
 * objects as JSON, anything else as text. So one deployment can point every config at its own server, or
 * tune a limit, without editing configs; the value is then validated like any other.
 */
import type { z } from 'zod';
import { type ConfigIssue, specToJsonSchema } from '../sdk/spec.ts';

export interface EnvOverrides {
  /** Keys to set, parsed. */
  readonly values: Record<string, unknown>;
  /** Values given for secret fields (to mask wherever logs and errors are stored). */
  readonly secrets: string[];
}

const schemas = new WeakMap<z.ZodType, Record<string, Record<string, unknown>>>();

function propertiesOf(spec: z.ZodType): Record<string, Record<string, unknown>> {
  let properties = schemas.get(spec);
  if (properties === undefined) {
    properties = ((specToJsonSchema(spec).properties as Record<string, Record<string, unknown>> | undefined) ?? {});
    schemas.set(spec, properties);
  }
  return properties;
}

function envName(part: string): string {
  return part.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** The variable that overrides `key` for destinations of `type`. */
export function overrideVariable(type: string, key: string): string {
  return `SLUICE_${envName(type)}_${envName(key)}`;
}

function typeOf(schema: Record<string, unknown>): string | undefined {
  if (typeof schema.type === 'string') return schema.type;
  for (const option of (schema.anyOf ?? schema.oneOf ?? []) as Record<string, unknown>[]) {
    const found = typeOf(option);
    if (found !== undefined && found !== 'null') return found;
  }
  return undefined;
}

function parseValue(text: string, type: string | undefined): { value: unknown } | { problem: string } {
  const trimmed = text.trim();
  switch (type) {
    case 'integer':
    case 'number': {
      const value = Number(trimmed);
      return trimmed !== '' && Number.isFinite(value) ? { value } : { problem: `expected a number, got "${text}"` };
    }
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(trimmed)) return { value: true };
      if (/^(false|0|no|off)$/i.test(trimmed)) return { value: false };
      return { problem: `expected true or false, got "${text}"` };
    case 'array':
      if (!trimmed.startsWith('[')) return { value: trimmed === '' ? [] : trimmed.split(',').map((item) => item.trim()) };
      break;
    case 'object':
      break;
    default:
      return { value: text };
  }
  try {
    return { value: JSON.parse(trimmed) as unknown };
  } catch {
    return { problem: `expected JSON, got "${text}"` };
  }
}

/** The overrides the environment sets for a destination of `type` (issues are reported at `path.<key>`). */
export function envOverrides(type: string, spec: z.ZodType, env: NodeJS.ProcessEnv, path: string, issues: ConfigIssue[]): EnvOverrides {
  const values: Record<string, unknown> = {};
  const secrets: string[] = [];
  const prefix = `SLUICE_${envName(type)}_`;
  if (!Object.keys(env).some((name) => name.startsWith(prefix))) return { values, secrets };
  for (const [key, schema] of Object.entries(propertiesOf(spec))) {
    const variable = overrideVariable(type, key);
    const text = env[variable];
    if (text === undefined) continue;
    const parsed = parseValue(text, typeOf(schema));
    if ('problem' in parsed) {
      issues.push({ path: `${path}.${key}`, message: `${variable}: ${schema['x-secret'] === true ? 'not a valid value' : parsed.problem}` });
      continue;
    }
    values[key] = parsed.value;
    if (schema['x-secret'] === true) secrets.push(text);
  }
  return { values, secrets };
}
