/**
 * `sluice connectors`, `sluice spec <connector>` and `sluice check <connector> --config FILE`.
 * A connector is named `source/<id>`, `destination/<id>`, or a bare id when only one kind has it.
 */
import { readConfigFile } from '../../config/load.ts';
import { substituteEnv } from '../../config/env.ts';
import { type ConnectorKind, destinationLoaders, loadConnector, sourceLoaders } from '../../connectors/registry.ts';
import { defaultContext } from '../../sdk/context.ts';
import { SluiceError } from '../../sdk/errors.ts';
import { type ConfigIssue, parseConfig, specToJsonSchema } from '../../sdk/spec.ts';
import { EXIT, type Output, printError, printIssues } from '../output.ts';

export function resolveConnectorName(name: string): { kind: ConnectorKind; id: string } {
  const [prefix, rest] = name.includes('/') ? name.split('/', 2) : [undefined, name];
  const id = rest ?? name;
  if (prefix === 'source' || prefix === 'destination') return { kind: prefix, id };
  if (prefix !== undefined) throw new SluiceError('CONNECTOR_UNKNOWN', `"${name}": say source/<id> or destination/<id>`);
  const isSource = Object.hasOwn(sourceLoaders, id);
  const isDestination = Object.hasOwn(destinationLoaders, id);
  if (isSource && isDestination) throw new SluiceError('CONNECTOR_UNKNOWN', `"${id}" is both a source and a destination: say source/${id} or destination/${id}`);
  if (isSource) return { kind: 'source', id };
  if (isDestination) return { kind: 'destination', id };
  const known = [...Object.keys(sourceLoaders).map((s) => `source/${s}`), ...Object.keys(destinationLoaders).map((d) => `destination/${d}`)];
  throw new SluiceError('CONNECTOR_UNKNOWN', `no connector named "${id}" (known: ${known.join(', ')})`);
}

export async function connectorsCommand(output: Output): Promise<number> {
  const rows: string[][] = [['KIND', 'ID', 'TITLE', 'DESCRIPTION']];
  for (const [kind, loaders] of [['source', sourceLoaders], ['destination', destinationLoaders]] as const) {
    for (const id of Object.keys(loaders).sort()) {
      const definition = await loadConnector(kind, id);
      rows.push([kind, id, definition.title, definition.description]);
    }
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) output.out(row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '));
  return EXIT.ok;
}

export async function specCommand(name: string, output: Output): Promise<number> {
  try {
    const { kind, id } = resolveConnectorName(name);
    const definition = await loadConnector(kind, id);
    output.out(JSON.stringify(specToJsonSchema(definition.spec), null, 2));
    return EXIT.ok;
  } catch (error) {
    printError(output, error);
    return EXIT.usage;
  }
}

export async function checkCommand(name: string, configFile: string, output: Output): Promise<number> {
  try {
    const { kind, id } = resolveConnectorName(name);
    const definition = await loadConnector(kind, id);
    const issues: ConfigIssue[] = [];
    const raw = substituteEnv(await readConfigFile(configFile), process.env, issues) as Record<string, unknown>;
    const { type, ...settings } = raw ?? {};
    if (type !== undefined && type !== id) issues.push({ path: 'type', message: `is "${String(type)}" but the connector is ${id}` });
    const parsed = parseConfig(definition.spec, settings);
    if (!parsed.ok) issues.push(...parsed.issues);
    if (issues.length > 0 || !parsed.ok) {
      printIssues(output, configFile, issues);
      return EXIT.usage;
    }
    const result = await definition.check(parsed.value, defaultContext());
    if (result.ok) {
      output.out(`✓ ${kind}/${id}: check passed`);
      return EXIT.ok;
    }
    output.err(`✗ ${kind}/${id}: check failed: ${result.reason}`);
    return EXIT.failed;
  } catch (error) {
    printError(output, error);
    return EXIT.failed;
  }
}
