/**
 * Spec checks, for sources and destinations alike: the config schema is valid draft 2020-12 JSON Schema
 * with well-formed Sluice keywords, every field explains itself to users, fields that look secret are
 * marked secret, unknown keys are refused, and the valid config satisfies both zod and the JSON Schema
 * (so the UI form and the engine agree on it).
 */
import type { z } from 'zod';
import { type JsonSchema, parseConfig, specToJsonSchema } from '../../sdk/spec.ts';
import { type Check, CheckFailed, expectThat, resolveConfigInput } from '../checks.ts';
import { createAjv, formatAjvErrors } from '../json-schema.ts';
import type { CommonConformanceOptions } from '../types.ts';

export interface SpecSubject {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly spec: z.ZodType;
}

/** Words that, in a field name, nearly always mean a credential… */
const SECRET_WORDS = new Set(['password', 'passwd', 'passphrase', 'secret', 'token', 'credential', 'credentials', 'apikey']);
/** …unless the name ends by saying it is about one, not one (`token_url`, `secret_name`). */
const ABOUT_WORDS = new Set(['url', 'uri', 'endpoint', 'path', 'file', 'type', 'name', 'id', 'ttl', 'expiry', 'field', 'header']);

export function looksSecret(name: string): boolean {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/[^a-z0-9]+/).filter((word) => word !== '');
  if (ABOUT_WORDS.has(words[words.length - 1] ?? '')) return false;
  return words.some((word) => SECRET_WORDS.has(word)) || /(^|_)(api|private|access|secret|signing)_key(_|$)/.test(words.join('_'));
}
const UNKNOWN_KEY = 'sluice_conformance_unknown_key';

interface FieldEntry {
  readonly path: string;
  readonly schema: JsonSchema;
}

/** Every property of the spec, nested objects included, with its dotted path. */
function fieldsOf(schema: JsonSchema, prefix = ''): FieldEntry[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  return Object.entries(properties).flatMap(([key, child]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    return [{ path, schema: child }, ...fieldsOf(child, path)];
  });
}

export function specChecks(subject: SpecSubject, options: CommonConformanceOptions): Check[] {
  const schema = () => specToJsonSchema(subject.spec);
  return [
    {
      id: 'spec.json-schema',
      title: 'spec is valid JSON Schema (2020-12) with well-formed Sluice keywords',
      async run() {
        const json = schema();
        const ajv = createAjv();
        expectThat(ajv.validateSchema(json), `not valid JSON Schema: ${formatAjvErrors(ajv.errors)}`);
        try {
          ajv.compile(json);
        } catch (error) {
          throw new CheckFailed(`Ajv (strict) cannot compile it: ${(error as Error).message}`);
        }
        expectThat(json.type === 'object', `the spec must be an object schema, not ${String(json.type)}`);
        for (const { path, schema: field } of fieldsOf(json)) {
          const visibleWhen = field['x-visible-when'];
          if (visibleWhen === undefined) continue;
          const siblings = Object.keys((parentOf(json, path).properties ?? {}) as object);
          for (const key of Object.keys(visibleWhen as object)) {
            expectThat(siblings.includes(key), `${path}: x-visible-when names "${key}", which is not a sibling field`);
          }
        }
      },
    },
    {
      id: 'spec.descriptions',
      title: 'the connector and every field have a user-facing description',
      async run() {
        // Config `type` values: lower case words joined by _ or - (Tightlock and issue-named types such as `singer-tap`).
        expectThat(/^[a-z][a-z0-9]*([_-][a-z0-9]+)*$/.test(subject.id), `id "${subject.id}" must be lower case words joined by _ or - (a-z, 0-9)`);
        expectThat(subject.title.trim() !== '' && subject.description.trim() !== '', 'the definition needs a title and a description');
        const missing = fieldsOf(schema()).filter(({ schema: field }) => typeof field.description !== 'string' || field.description.trim() === '');
        expectThat(missing.length === 0, `no description: ${missing.map((entry) => entry.path).join(', ')} (use field(schema, { description }))`);
        return `${fieldsOf(schema()).length} fields`;
      },
    },
    {
      id: 'spec.secrets',
      title: 'fields that look like credentials are marked secret',
      async run() {
        const unmarked = fieldsOf(schema()).filter(({ path, schema: field }) => looksSecret(path.split('.').pop()!) && field['x-secret'] !== true);
        expectThat(unmarked.length === 0, `not marked secret: ${unmarked.map((entry) => entry.path).join(', ')} (use field(…, { secret: true }))`);
        const marked = fieldsOf(schema()).filter(({ schema: field }) => field['x-secret'] === true);
        return marked.length === 0 ? 'no secret fields' : `secret: ${marked.map((entry) => entry.path).join(', ')}`;
      },
    },
    {
      id: 'spec.unknown-keys',
      title: 'unknown config keys are rejected',
      async run(ctx) {
        expectThat(schema().additionalProperties === false, 'the JSON Schema allows additional properties: build the spec with z.strictObject');
        const config = { ...(await resolveConfigInput(options.validConfig, ctx.scope)), [UNKNOWN_KEY]: true };
        const parsed = parseConfig(subject.spec, config);
        expectThat(!parsed.ok, `a config with the key "${UNKNOWN_KEY}" was accepted`);
        expectThat(
          parsed.issues.some((issue) => issue.path === UNKNOWN_KEY && issue.message === 'unknown key'),
          `the unknown key was refused, but not named: ${parsed.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
        );
      },
    },
    {
      id: 'spec.valid-config',
      title: 'the valid config satisfies the spec and its JSON Schema',
      async run(ctx) {
        const config = await resolveConfigInput(options.validConfig, ctx.scope);
        const parsed = parseConfig(subject.spec, config);
        expectThat(parsed.ok, `the valid config is refused: ${parsed.ok ? '' : parsed.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
        const validate = createAjv().compile(schema());
        expectThat(validate(config), `zod accepts the valid config but its JSON Schema refuses it: ${formatAjvErrors(validate.errors)}`);
      },
    },
  ];
}

/** The object schema that holds the field at `path`. */
function parentOf(schema: JsonSchema, path: string): JsonSchema {
  let node = schema;
  for (const key of path.split('.').slice(0, -1)) node = ((node.properties ?? {}) as Record<string, JsonSchema>)[key] ?? {};
  return node;
}
