/**
 * From raw config to runnable activations: unwrap, substitute `${ENV}`, check the file's shape, resolve
 * every `$ref`, load each referenced connector and validate its settings against the connector's spec.
 * Every problem is collected with its JSON path (`sources.orders.path`, `activations[1].destination`),
 * so `sluice validate` can list them all at once rather than one per attempt.
 */
import type { ActivationPlan } from '../engine/types.ts';
import { loadDestination, loadSource } from '../connectors/registry.ts';
import type { DestinationDefinition } from '../sdk/destination.ts';
import { describeError } from '../sdk/errors.ts';
import type { SourceDefinition } from '../sdk/source.ts';
import { type ConfigIssue, parseConfig } from '../sdk/spec.ts';
import { substituteEnv } from './env.ts';
import { unwrapConfig } from './load.ts';
import { type SluiceConfig, configSchema } from './schema.ts';

export interface ResolvedConfig {
  readonly config: SluiceConfig | undefined;
  readonly activations: readonly ActivationPlan[];
  readonly issues: readonly ConfigIssue[];
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
  if (!parsed.ok) {
    report(parsed.issues);
    return { config: undefined, activations: [], issues };
  }
  const config = parsed.value;

  const sources = new Map<string, ResolvedConnector<SourceDefinition>>();
  for (const [name, entry] of Object.entries(config.sources)) {
    const resolved = await resolveConnector(`sources.${name}`, entry, loadSource, report);
    if (resolved !== undefined) sources.set(name, resolved);
  }
  const destinations = new Map<string, ResolvedConnector<DestinationDefinition>>();
  for (const [name, entry] of Object.entries(config.destinations)) {
    const resolved = await resolveConnector(`destinations.${name}`, entry, loadDestination, report);
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
  return { config, activations, issues };
}

async function resolveConnector<T extends SourceDefinition | DestinationDefinition>(
  path: string,
  entry: { type: string } & Record<string, unknown>,
  load: (type: string) => Promise<T>,
  report: (issues: readonly ConfigIssue[]) => void,
): Promise<ResolvedConnector<T> | undefined> {
  let definition: T;
  try {
    definition = await load(entry.type);
  } catch (error) {
    report([{ path: `${path}.type`, message: describeError(error) }]);
    return undefined;
  }
  const { type: _type, ...settings } = entry;
  const parsed = parseConfig(definition.spec, settings, path);
  if (!parsed.ok) {
    report(parsed.issues);
    return undefined;
  }
  return { definition, config: parsed.value };
}
