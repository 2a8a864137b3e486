/**
 * A connector's `--config F` for protocol commands: JSON or YAML, `${VAR}` substituted, an optional `type`
 * that must name this connector, then validated against the connector's spec — every problem with its path,
 * as `sluice check` reports them. Unreadable or unparsable files are one problem naming the file.
 */
import { readConfigFile } from '../config/load.ts';
import { substituteEnv } from '../config/env.ts';
import type { DestinationDefinition } from '../sdk/destination.ts';
import { describeError } from '../sdk/errors.ts';
import type { SourceDefinition } from '../sdk/source.ts';
import { type ConfigIssue, parseConfig } from '../sdk/spec.ts';

export type LoadedConfig = { readonly ok: true; readonly config: unknown } | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

export async function loadConnectorConfig(definition: SourceDefinition | DestinationDefinition, file: string): Promise<LoadedConfig> {
  let raw: unknown;
  try {
    raw = await readConfigFile(file);
  } catch (error) {
    return { ok: false, issues: [{ path: '(file)', message: describeError(error) }] };
  }
  const issues: ConfigIssue[] = [];
  const substituted = substituteEnv(raw, process.env, issues);
  if (substituted === null || typeof substituted !== 'object' || Array.isArray(substituted)) {
    return { ok: false, issues: [{ path: '(root)', message: 'the config must be an object' }] };
  }
  const { type, ...settings } = substituted as Record<string, unknown>;
  if (type !== undefined && type !== definition.id) issues.push({ path: 'type', message: `is "${String(type)}" but the connector is ${definition.id}` });
  const parsed = parseConfig(definition.spec, settings);
  if (!parsed.ok) issues.push(...parsed.issues);
  return issues.length > 0 || !parsed.ok ? { ok: false, issues } : { ok: true, config: parsed.value };
}

/** The problems as one sentence, for protocols that carry errors in a message (Airbyte TRACE). */
export function issuesSentence(file: string, issues: readonly ConfigIssue[]): string {
  return `${file}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`;
}
