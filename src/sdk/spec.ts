/**
 * Connector specs: a connector declares its config once, as a zod object, and everything else derives from
 * it — the TypeScript type, validation with JSON paths, JSON Schema (for Airbyte `spec`, the API and UI
 * forms) and reference docs. Unknown keys are an error (specs are built with `z.strictObject`).
 *
 * Field metadata goes through `field()`; the JSON Schema keys it produces are:
 * `description`, `examples`, `default` (from zod), `airbyte_secret` + `x-secret`, `x-immutable`,
 * `x-visible-when` ({ field: value } — show this field only when that sibling has that value).
 */
import { z } from 'zod';

export interface FieldMeta {
  /** A user-facing sentence: it becomes the form help text and the reference docs. */
  readonly description: string;
  readonly title?: string;
  readonly examples?: readonly unknown[];
  /** Encrypted at rest, masked in API responses, never logged. */
  readonly secret?: boolean;
  /** Cannot change once a config version using it exists. */
  readonly immutable?: boolean;
  /** Show this field only when the named sibling field has the given value. */
  readonly visibleWhen?: Readonly<Record<string, unknown>>;
}

/** Attach user-facing metadata to a spec field. */
export function field<T extends z.ZodType>(schema: T, meta: FieldMeta): T {
  const json: Record<string, unknown> = { description: meta.description };
  if (meta.title !== undefined) json.title = meta.title;
  if (meta.examples !== undefined) json.examples = meta.examples;
  if (meta.secret) {
    json.airbyte_secret = true;
    json['x-secret'] = true;
  }
  if (meta.immutable) json['x-immutable'] = true;
  if (meta.visibleWhen !== undefined) json['x-visible-when'] = meta.visibleWhen;
  return schema.meta(json) as T;
}

/** Shorthand for a secret field. */
export function secret<T extends z.ZodType>(schema: T, description: string): T {
  return field(schema, { description, secret: true });
}

export type JsonSchema = Record<string, unknown>;

/** The JSON Schema (draft 2020-12) of what a user writes in a config: defaults are optional there. */
export function specToJsonSchema(spec: z.ZodType): JsonSchema {
  return z.toJSONSchema(spec, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

export interface ConfigIssue {
  /** Where, as a JSON path like `sources.orders.batch_size` or `activations[0].source`. */
  readonly path: string;
  readonly message: string;
}

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: ConfigIssue[] };

/** Render a path of keys and indexes the way users read JSON paths. */
export function formatPath(base: string, path: readonly PropertyKey[]): string {
  let out = base;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(root)' : out;
}

/** Validate a config against a spec; every problem is reported with its path under `base`. */
export function parseConfig<S extends z.ZodType>(spec: S, raw: unknown, base = ''): ParseResult<z.output<S>> {
  const result = spec.safeParse(raw);
  if (result.success) return { ok: true, value: result.data };
  const issues: ConfigIssue[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ path: formatPath(base, [...issue.path, key]), message: 'unknown key' });
      }
    } else {
      issues.push({ path: formatPath(base, issue.path), message: issue.message });
    }
  }
  return { ok: false, issues };
}

/** Paths (dotted, relative to the config) of every field marked secret in a spec. */
export function secretPaths(schema: JsonSchema, prefix = ''): string[] {
  const out: string[] = [];
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties === undefined) return out;
  for (const [key, child] of Object.entries(properties)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (child['x-secret'] === true) out.push(path);
    else out.push(...secretPaths(child, path));
  }
  return out;
}
