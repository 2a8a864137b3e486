/**
 * From raw config to runnable activations: unwrap, substitute `${ENV}`, check the file's shape, resolve
 * every `$ref`, load each referenced connector and validate its settings against the connector's spec.
 * Every problem is collected with its JSON path (`sources.orders.path`, `activations[1].destination`),
 * so `sluice validate` can list them all at once rather than one per attempt.
 */
import type { ActivationPlan } from '../engine/types.ts';
import { loadDestination, loadSource } from '../connectors/registry.ts';
import { type DestinationDefinition, isStreamingObject } from '../sdk/destination.ts';
import { describeError } from '../sdk/errors.ts';
import type { SourceDefinition } from '../sdk/source.ts';
import { type ConfigIssue, parseConfig } from '../sdk/spec.ts';
import { substituteEnv } from './env.ts';
import { envOverrides } from './overrides.ts';
import { unwrapConfig } from './load.ts';
import { type ActivationConfig, type SluiceConfig, configSchema } from './schema.ts';

export interface ResolvedConfig {
  readonly config: SluiceConfig | undefined;
  readonly activations: readonly ActivationPlan[];
  readonly issues: readonly ConfigIssue[];
  /** Secret values taken from `SLUICE_<TYPE>_<KEY>` overrides: mask them wherever logs and errors are kept. */
  readonly secretValues: readonly string[];
}

interface ResolvedConnector<T> {
  readonly definition: T;
  readonly config: unknown;
}

export async function resolveConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedConfig> {
  const issues: ConfigIssue[] = [];
  const substituted = substituteEnv(unwrapConfig(raw), env, issues);
  // A value whose ${VAR} is unset is already reported; its emptiness would only add a second, vaguer issue.
  const envIssuePaths = new Set(issues.map((issue) => issue.path));
  const report = (found: readonly ConfigIssue[]) => issues.push(...found.filter((issue) => !envIssuePaths.has(issue.path)));
  const parsed = parseConfig(configSchema, substituted);
  const secretValues: string[] = [];
  if (!parsed.ok) {
    report(parsed.issues);
    return { config: undefined, activations: [], issues, secretValues };
  }
  const config = parsed.value;

  const sources = new Map<string, ResolvedConnector<SourceDefinition>>();
  for (const [name, entry] of Object.entries(config.sources)) {
    const resolved = await resolveConnector(`sources.${name}`, entry, loadSource, report);
    if (resolved !== undefined) sources.set(name, resolved);
  }
  const destinations = new Map<string, ResolvedConnector<DestinationDefinition>>();
  for (const [name, entry] of Object.entries(config.destinations)) {
    const resolved = await resolveConnector(`destinations.${name}`, entry, loadDestination, report, (definition, path) => {
      const overrides = envOverrides(entry.type, definition.spec, env, path, issues);
      secretValues.push(...overrides.secrets);
      return overrides.values;
    });
    if (resolved !== undefined) destinations.set(name, resolved);
  }

  const activations: ActivationPlan[] = [];
  const seen = new Set<string>();
  config.activations.forEach((activation, index) => {
    const at = `activations[${index}]`;
    if (seen.has(activation.name)) issues.push({ path: `${at}.name`, message: `duplicate activation name "${activation.name}"` });
    seen.add(activation.name);
    const sourceName = activation.source.$ref.slice('#/sources/'.length);
    const destinationName = activation.destination.$ref.slice('#/destinations/'.length);
    const source = sources.get(sourceName);
    const destination = destinations.get(destinationName);
    if (!(sourceName in config.sources)) issues.push({ path: `${at}.source.$ref`, message: `no source named "${sourceName}"` });
    if (!(destinationName in config.destinations)) issues.push({ path: `${at}.destination.$ref`, message: `no destination named "${destinationName}"` });
    if (destination !== undefined && activation.object !== undefined && !(activation.object in destination.definition.objects)) {
      const known = Object.keys(destination.definition.objects).join(', ');
      issues.push({ path: `${at}.object`, message: `destination "${destinationName}" has no object "${activation.object}" (objects: ${known})` });
    }
    const events = config.sources[sourceName]?.type === 'events';
    if (events) issues.push(...eventActivationIssues(activation, at, destination?.definition));
    else if (activation.filter !== undefined) {
      issues.push({ path: `${at}.filter`, message: 'filter applies to event activations only (whose source has type events)' });
    }
    if (source === undefined || destination === undefined) return;
    activations.push({
      name: activation.name,
      source: { ...source, ...(activation.stream === undefined ? {} : { stream: activation.stream }) },
      destination: { ...destination, ...(activation.object === undefined ? {} : { object: activation.object }) },
      ...(activation.mapping === undefined ? {} : { mapping: activation.mapping }),
      ...(activation.sync_mode === undefined ? {} : { syncMode: activation.sync_mode }),
      ...(activation.primary_key === undefined ? {} : { primaryKey: typeof activation.primary_key === 'string' ? [activation.primary_key] : activation.primary_key }),
      ...(activation.max_change_ratio === undefined ? {} : { maxChangeRatio: activation.max_change_ratio }),
      ...(activation.on_schema_change === undefined ? {} : { onSchemaChange: activation.on_schema_change }),
      ...(activation.filter === undefined ? {} : { filter: activation.filter }),
      ...(activation.retry === undefined
        ? {}
        : {
            retry: {
              ...(activation.retry.max_attempts === undefined ? {} : { maxAttempts: activation.retry.max_attempts }),
              ...(activation.retry.max_elapsed_seconds === undefined ? {} : { maxElapsedMs: activation.retry.max_elapsed_seconds * 1000 }),
            },
          }),
    });
  });
  return { config, activations, issues, secretValues };
}

/**
 * An event activation delivers each event as it arrives: no schedule, no diff sync modes, and its
 * destination object must take records (`write`), not files.
 */
function eventActivationIssues(activation: ActivationConfig, at: string, destination: DestinationDefinition | undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const why = 'an event activation delivers events as they arrive';
  if (activation.schedule != null) issues.push({ path: `${at}.schedule`, message: `${why}: it takes no schedule` });
  if (activation.sync_mode !== undefined && activation.sync_mode !== 'append') issues.push({ path: `${at}.sync_mode`, message: `${why}: only append applies` });
  for (const key of ['primary_key', 'max_change_ratio', 'on_schema_change'] as const) {
    if (activation[key] !== undefined) issues.push({ path: `${at}.${key}`, message: `${why}: ${key} does not apply` });
  }
  if (activation.stream !== undefined && activation.stream !== 'events') issues.push({ path: `${at}.stream`, message: 'an events source has one stream, "events"' });
  if (destination !== undefined) {
    const names = Object.keys(destination.objects);
    const name = activation.object ?? (names.length === 1 ? names[0] : undefined);
    const object = name === undefined ? undefined : destination.objects[name];
    if (name === undefined) issues.push({ path: `${at}.object`, message: `name the destination object (one of: ${names.join(', ')})` });
    else if (object !== undefined && !isStreamingObject(object)) {
      issues.push({ path: `${at}.object`, message: `${why}: object "${name}" takes files (bulk), choose an object that takes records` });
    }
  }
  return issues;
}

async function resolveConnector<T extends SourceDefinition | DestinationDefinition>(
  path: string,
  entry: { type: string } & Record<string, unknown>,
  load: (type: string) => Promise<T>,
  report: (issues: readonly ConfigIssue[]) => void,
  overrides?: (definition: T, path: string) => Record<string, unknown>,
): Promise<ResolvedConnector<T> | undefined> {
  let definition: T;
  try {
    definition = await load(entry.type);
  } catch (error) {
    report([{ path: `${path}.type`, message: describeError(error) }]);
    return undefined;
  }
  const { type: _type, ...given } = entry;
  // Destinations: SLUICE_<TYPE>_<KEY> in the environment wins over the config's own value.
  const settings = overrides === undefined ? given : { ...given, ...overrides(definition, path) };
  const parsed = parseConfig(definition.spec, settings, path);
  if (!parsed.ok) {
    report(parsed.issues);
    return undefined;
  }
  return { definition, config: parsed.value };
}
