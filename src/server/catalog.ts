/**
 * What the API tells about connectors: each one's kind, id, title and config JSON Schema (from its spec),
 * a destination's objects; Tightlock's combined `Schemas` document that drives its config UI; and the
 * validation of one source's or destination's settings (spec first, then the connector's own `check`,
 * bounded by a timeout). Connectors load lazily, once; their schemas are computed once per process.
 */
import { substituteEnv } from '../config/env.ts';
import { type ConnectorKind, destinationLoaders, loadConnector, sourceLoaders } from '../connectors/registry.ts';
import type { Platform } from '../platform/context.ts';
import { defaultContext } from '../sdk/context.ts';
import { isStreamingObject } from '../sdk/destination.ts';
import { describeError } from '../sdk/errors.ts';
import { type ConfigIssue, type JsonSchema, parseConfig, specToJsonSchema } from '../sdk/spec.ts';
import { decryptConfigSecrets, encryptConfigSecrets } from '../store/config-secrets.ts';
import { latestConfig } from '../store/configs.ts';

export const CONNECTOR_KINDS: readonly ConnectorKind[] = ['source', 'destination'];
const CHECK_TIMEOUT_MS = 10_000;

export interface ConnectorInfo {
  readonly kind: ConnectorKind;
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly schema: JsonSchema;
  /** Destinations: what they write. Sources' streams depend on their config (discover), so none here. */
  readonly objects?: readonly {
    readonly name: string;
    readonly title?: string;
    readonly description?: string;
    readonly sync_modes: readonly string[];
    readonly mode: 'streaming' | 'bulk';
    readonly fields?: JsonSchema;
  }[];
}

const loaders = { source: sourceLoaders, destination: destinationLoaders } as const;
const infoCache = new Map<string, Promise<ConnectorInfo>>();

export function connectorIds(kind: ConnectorKind): string[] {
  return Object.keys(loaders[kind]).sort();
}

export function isConnector(kind: string, id: string): kind is ConnectorKind {
  return (kind === 'source' || kind === 'destination') && Object.hasOwn(loaders[kind], id);
}

export function connectorInfo(kind: ConnectorKind, id: string): Promise<ConnectorInfo> {
  const key = `${kind}/${id}`;
  let info = infoCache.get(key);
  if (info === undefined) {
    info = describe(kind, id);
    infoCache.set(key, info);
    info.catch(() => infoCache.delete(key));
  }
  return info;
}

export async function allConnectors(): Promise<ConnectorInfo[]> {
  return Promise.all(CONNECTOR_KINDS.flatMap((kind) => connectorIds(kind).map((id) => connectorInfo(kind, id))));
}

async function describe(kind: ConnectorKind, id: string): Promise<ConnectorInfo> {
  const definition = await loadConnector(kind, id);
  const { $schema: _dialect, ...schema } = specToJsonSchema(definition.spec);
  const base = { kind, id, title: definition.title, description: definition.description, schema };
  if (definition.kind === 'source') return base;
  const objects = Object.entries(definition.objects).map(([name, object]) => ({
    name,
    ...(object.title === undefined ? {} : { title: object.title }),
    ...(object.description === undefined ? {} : { description: object.description }),
    sync_modes: object.syncModes,
    mode: isStreamingObject(object) ? ('streaming' as const) : ('bulk' as const),
    ...(object.fields === undefined ? {} : { fields: withoutDialect(specToJsonSchema(object.fields)) }),
  }));
  return { ...base, objects };
}

let schemasDocument: Promise<JsonSchema> | undefined;

/**
 * Tightlock's `GET /schemas`: one JSON Schema whose `source` and `destination` properties are each an
 * `anyOf` of `$ref`s into `$defs`, one per connector: its spec's schema plus a `type` constant and the
 * entry's `name`, as Tightlock's UI expects.
 */
export function combinedSchemas(): Promise<JsonSchema> {
  schemasDocument ??= buildSchemas();
  return schemasDocument;
}

async function buildSchemas(): Promise<JsonSchema> {
  const defs: Record<string, JsonSchema> = {};
  const properties: Record<string, JsonSchema> = {};
  for (const kind of CONNECTOR_KINDS) {
    const refs: JsonSchema[] = [];
    for (const id of connectorIds(kind)) {
      const info = await connectorInfo(kind, id);
      const key = `${kind}.${id}`;
      const schema = hoistDefs(info.schema, key, defs);
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
      defs[key] = {
        ...schema,
        title: info.title,
        description: info.description,
        properties: {
          type: { const: id, description: `The ${kind} connector.` },
          name: { type: 'string', description: `Name of the ${kind}.`, 'x-immutable': true },
          ...props,
        },
        required: ['type', 'name', ...required.filter((name) => name !== 'type' && name !== 'name')],
      };
      refs.push({ $ref: `#/$defs/${key}` });
    }
    properties[kind] = { title: kind === 'source' ? 'Source' : 'Destination', anyOf: refs };
  }
  return { title: 'Schemas', type: 'object', properties, required: ['source', 'destination'], $defs: defs };
}

/** Moves a connector schema's own `$defs` to the document's, renamed under `key`, rewriting its `$ref`s. */
function hoistDefs(schema: JsonSchema, key: string, into: Record<string, JsonSchema>): JsonSchema {
  const { $defs, ...rest } = schema;
  const nested = $defs as Record<string, JsonSchema> | undefined;
  if (nested === undefined) return rest;
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node).map(([name, value]) =>
        name === '$ref' && typeof value === 'string' && value.startsWith('#/$defs/') ? [name, `#/$defs/${key}.${value.slice(8)}`] : [name, rewrite(value)],
      ),
    );
  };
  for (const [name, def] of Object.entries(nested)) into[`${key}.${name}`] = rewrite(def) as JsonSchema;
  return rewrite(rest) as JsonSchema;
}

function withoutDialect(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

export interface ValidationResult {
  readonly is_valid: boolean;
  readonly messages: string[];
}

/**
 * Tightlock's `POST /sources/{type}:validate`: the settings (with Tightlock's `name` and `type` keys
 * allowed) are checked against the spec, then — when valid — by the connector's `check`, within 10 s.
 * `${VAR}` is resolved from the platform's environment; a secret posted as `"********"` is taken from the
 * current config's entry of the same `name` and type.
 */
export async function validateSettings(
  platform: Pick<Platform, 'db' | 'secretKey' | 'env' | 'logger'>,
  kind: ConnectorKind,
  type: string,
  value: Record<string, unknown>,
): Promise<ValidationResult> {
  const issues: ConfigIssue[] = [];
  const { name, type: givenType, ...rest } = value;
  if (givenType !== undefined && givenType !== type) issues.push({ path: 'type', message: `is ${JSON.stringify(givenType)} but the connector is ${type}` });
  const unmasked = await unmask(platform, kind, type, typeof name === 'string' ? name : undefined, rest, issues);
  const settings = substituteEnv(unmasked, platform.env, issues);
  const definition = await loadConnector(kind, type);
  const parsed = parseConfig(definition.spec, settings);
  if (!parsed.ok) issues.push(...parsed.issues);
  if (issues.length > 0 || !parsed.ok) return { is_valid: false, messages: issues.map((issue) => `${issue.path}: ${issue.message}`) };
  const result = await checkWithTimeout((signal) => definition.check(parsed.value, defaultContext({ signal, logger: platform.logger, runId: 'validate' })));
  return result.ok ? { is_valid: true, messages: [] } : { is_valid: false, messages: [result.reason] };
}

async function unmask(
  platform: Pick<Platform, 'db' | 'secretKey'>,
  kind: ConnectorKind,
  type: string,
  name: string | undefined,
  settings: Record<string, unknown>,
  issues: ConfigIssue[],
): Promise<unknown> {
  const section = kind === 'source' ? 'sources' : 'destinations';
  const entryName = name ?? 'entry';
  const current = name === undefined ? undefined : ((await latestConfig(platform.db))?.value as Record<string, unknown> | undefined);
  const previous = { [section]: { [entryName]: (current?.[section] as Record<string, unknown> | undefined)?.[entryName] } };
  const encrypted = await encryptConfigSecrets({ [section]: { [entryName]: { type, ...settings } } }, platform.secretKey, previous);
  // Paths come back as `destinations.<name>.headers`; here they are relative to the settings.
  issues.push(...encrypted.issues.map((issue) => ({ ...issue, path: issue.path.slice(`${section}.${entryName}.`.length) })));
  const plain = decryptConfigSecrets(encrypted.stored, platform.secretKey) as Record<string, Record<string, Record<string, unknown>>>;
  const { type: _type, ...unmasked } = plain[section]?.[entryName] ?? {};
  return unmasked;
}

async function checkWithTimeout(check: (signal: AbortSignal) => Promise<{ ok: true } | { ok: false; reason: string }>) {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: false; reason: string }>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ ok: false, reason: `check did not finish within ${CHECK_TIMEOUT_MS / 1000} s` });
    }, CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check(controller.signal).catch((error: unknown) => ({ ok: false as const, reason: `check failed: ${describeError(error)}` })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
