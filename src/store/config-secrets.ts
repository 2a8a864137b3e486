/**
 * Secrets in a stored Sluice config. The secret fields are those the connectors' specs mark secret
 * (`x-secret`), found by loading each source's and destination's connector by `type`, plus every
 * activation's `notify.webhook_url` (a Slack webhook URL carries a token).
 *
 * - At rest every string inside a secret field is `{ "$secret": "v1:…" }` (cipher.ts). Inside a secret
 *   object field such as `headers` or `env`, the keys stay readable and each string value is encrypted,
 *   so the API can show `{ "Authorization": "********" }` and a round trip still validates.
 *   Numbers, booleans and nulls are left as they are.
 * - API responses show each encrypted value as `"********"` (SECRET_MASK). Posting the mask back keeps
 *   the earlier version's value at the same place; posting it where no earlier value exists is an issue.
 * - The worker gets plaintext from decryptConfigSecrets, and the values to redact from secretValues.
 *
 * Paths are written the way resolve.ts reports config issues: `destinations.crm.headers`,
 * `activations[0].notify.webhook_url`.
 */
import { loadDestination, loadSource } from '../connectors/registry.ts';
import { SluiceError } from '../sdk/errors.ts';
import { type ConfigIssue, formatPath, secretPaths, specToJsonSchema } from '../sdk/spec.ts';
import { decryptSecret, encryptSecret, isEncrypted } from './cipher.ts';

export const SECRET_MASK = '********';

/** How an encrypted value is stored: an object with this one key. */
export interface SecretMarker {
  readonly $secret: string;
}

type Segment = string | number;
type Json = unknown;

export function isSecretMarker(value: unknown): value is SecretMarker {
  return isObject(value) && Object.keys(value).length === 1 && isEncrypted(value.$secret);
}

/** The path of every secret field of the config's connectors and activations, present or not. */
export async function secretPathsOfConfig(value: unknown): Promise<string[]> {
  return (await secretLocations(value)).map(render);
}

export interface EncryptResult {
  /** The config to store; do not store it when there are issues. */
  readonly stored: unknown;
  readonly issues: ConfigIssue[];
}

/**
 * A copy of `value` with every secret string encrypted. A `"********"` is replaced by the value at the
 * same place in `previous` (the stored config it edits), or reported when there is none.
 */
export async function encryptConfigSecrets(value: unknown, key: Buffer, previous?: unknown): Promise<EncryptResult> {
  const issues: ConfigIssue[] = [];
  const locations = await secretLocations(value);
  const stored = copy(value);
  const secretKeys = new Set(locations.map((at) => JSON.stringify(at)));
  walk(stored, [], (node, at) => {
    if (secretKeys.has(JSON.stringify(at))) return false;
    if (isSecretMarker(node)) {
      issues.push({ path: render(at), message: 'an object whose only key is "$secret" is reserved for encrypted secrets' });
    }
    return true;
  });
  for (const at of locations) {
    const found = getAt(stored, at);
    if (found === undefined) continue;
    setAt(stored, at, encryptTree(found, getAt(previous, at), key, render(at), issues));
  }
  return { stored, issues };
}

/** A copy of a stored config with every encrypted value in plaintext, for the worker. */
export function decryptConfigSecrets(stored: unknown, key: Buffer): unknown {
  return mapMarkers(stored, [], (marker, at) => {
    try {
      return decryptSecret(key, marker.$secret);
    } catch (error) {
      throw error instanceof SluiceError ? new SluiceError(error.code, `${render(at)}: ${error.message}`, { cause: error }) : error;
    }
  });
}

/** A copy of a stored config with every encrypted value shown as `"********"`, for API responses. */
export function maskConfigSecrets(stored: unknown): unknown {
  return mapMarkers(stored, [], () => SECRET_MASK);
}

/** Every secret of a stored config in plaintext (once each), for redacting logs and error messages. */
export function secretValues(stored: unknown, key: Buffer): string[] {
  const values = new Set<string>();
  mapMarkers(stored, [], (marker) => {
    const plaintext = decryptSecret(key, marker.$secret);
    if (plaintext !== '') values.add(plaintext);
    return plaintext;
  });
  return [...values];
}

// ---- where the secrets are ------------------------------------------------------------------------

const specSecrets = new Map<string, Segment[][]>();

async function secretLocations(value: unknown): Promise<Segment[][]> {
  const out: Segment[][] = [];
  if (!isObject(value)) return out;
  for (const section of ['sources', 'destinations'] as const) {
    const entries = value[section];
    if (!isObject(entries)) continue;
    for (const [name, entry] of Object.entries(entries)) {
      if (!isObject(entry) || typeof entry.type !== 'string') continue;
      const relative = await connectorSecrets(section, entry.type);
      for (const path of relative) out.push([section, name, ...path]);
    }
  }
  const activations = value.activations;
  if (Array.isArray(activations)) activations.forEach((_, index) => out.push(['activations', index, 'notify', 'webhook_url']));
  return out;
}

async function connectorSecrets(section: 'sources' | 'destinations', type: string): Promise<Segment[][]> {
  const cacheKey = `${section}:${type}`;
  const cached = specSecrets.get(cacheKey);
  if (cached !== undefined) return cached;
  let spec;
  try {
    spec = (section === 'sources' ? await loadSource(type) : await loadDestination(type)).spec;
  } catch (error) {
    // An unknown type is reported by validation; it has no spec to say what is secret.
    if (error instanceof SluiceError && error.code === 'CONNECTOR_UNKNOWN') return [];
    throw error;
  }
  // Spec property names are identifiers, so the dotted paths split cleanly.
  const found = secretPaths(specToJsonSchema(spec)).map((path) => path.split('.'));
  specSecrets.set(cacheKey, found);
  return found;
}

/** `sources.<name>` as resolve.ts writes it (names may hold `-` and `.`), then JSON-path style. */
function render(at: readonly Segment[]): string {
  const [first, second, ...rest] = at;
  if ((first === 'sources' || first === 'destinations') && typeof second === 'string') return formatPath(`${first}.${second}`, rest);
  return formatPath('', at);
}

// ---- encrypting one secret field ------------------------------------------------------------------

function encryptTree(value: Json, previous: Json, key: Buffer, path: string, issues: ConfigIssue[]): Json {
  if (value === SECRET_MASK) {
    if (previous !== undefined && containsMarker(previous)) return copy(previous);
    issues.push({ path, message: `secret is masked ("${SECRET_MASK}") but no earlier version has a value to keep` });
    return value;
  }
  if (typeof value === 'string') return { $secret: encryptSecret(key, value) } satisfies SecretMarker;
  if (Array.isArray(value)) {
    const before = Array.isArray(previous) ? previous : [];
    return value.map((item, index) => encryptTree(item, before[index], key, formatPath(path, [index]), issues));
  }
  if (isObject(value)) {
    const before = isObject(previous) && !isSecretMarker(previous) ? previous : {};
    const out: Record<string, Json> = {};
    for (const [name, item] of Object.entries(value)) out[name] = encryptTree(item, before[name], key, formatPath(path, [name]), issues);
    return out;
  }
  return value;
}

function containsMarker(value: Json): boolean {
  let found = false;
  walk(value, [], (node) => {
    if (isSecretMarker(node)) found = true;
    return !found;
  });
  return found;
}

// ---- plain JSON helpers ---------------------------------------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function copy(value: Json): Json {
  return mapMarkers(value, [], (marker) => ({ $secret: marker.$secret }));
}

/** A deep copy in which `replace` decides what each secret marker becomes. */
function mapMarkers(value: Json, at: Segment[], replace: (marker: SecretMarker, at: Segment[]) => Json): Json {
  if (isSecretMarker(value)) return replace(value, at);
  if (Array.isArray(value)) return value.map((item, index) => mapMarkers(item, [...at, index], replace));
  if (isObject(value)) {
    const out: Record<string, Json> = {};
    for (const [name, item] of Object.entries(value)) out[name] = mapMarkers(item, [...at, name], replace);
    return out;
  }
  return value;
}

/** Visits every node, parents first; `visit` returns false to skip a node's children. */
function walk(value: Json, at: Segment[], visit: (node: Json, at: Segment[]) => boolean): void {
  if (!visit(value, at)) return;
  if (Array.isArray(value)) value.forEach((item, index) => walk(item, [...at, index], visit));
  else if (isObject(value)) for (const [name, item] of Object.entries(value)) walk(item, [...at, name], visit);
}

function getAt(value: Json, at: readonly Segment[]): Json {
  let node = value;
  for (const segment of at) {
    if (typeof segment === 'number' ? !Array.isArray(node) : !isObject(node)) return undefined;
    node = Object.hasOwn(node as object, segment) ? (node as Record<Segment, Json>)[segment] : undefined;
  }
  return node;
}

/** Sets a value whose parent exists (callers set only where getAt found something). */
function setAt(value: Json, at: readonly Segment[], replacement: Json): void {
  const parent = getAt(value, at.slice(0, -1)) as Record<Segment, Json>;
  parent[at[at.length - 1]!] = replacement;
}
