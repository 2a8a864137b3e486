/**
 * Adds a connector to src/connectors/registry.ts: one lazy-import line inside `sourceLoaders` or
 * `destinationLoaders`, in sorted order. It edits the text rather than generating the file, so the
 * registry stays hand-written and reviewable; anything it does not recognise is an error, not a guess.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { ConnectorKind } from '../connectors/registry.ts';

const ENTRY = /^ {2}([a-z][a-z0-9_]*): \(\) => import\('\.\/(sources|destinations)\/[a-z0-9_]+\/index\.ts'\),$/;

/** The registry text with the connector's line added. */
export function addToRegistry(text: string, kind: ConnectorKind, id: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`export const ${kind}Loaders`));
  if (start === -1) throw new Error(`registry: cannot find ${kind}Loaders`);
  const end = lines.findIndex((line, index) => index > start && line === '};');
  if (end === -1) throw new Error(`registry: cannot find the end of ${kind}Loaders`);
  const entry = `  ${id}: () => import('./${kind}s/${id}/index.ts'),`;
  let at = end;
  for (let index = start + 1; index < end; index++) {
    const match = ENTRY.exec(lines[index]!);
    if (match === null) throw new Error(`registry: unexpected line ${index + 1} in ${kind}Loaders: ${lines[index]}`);
    if (match[1] === id) throw new Error(`registry: ${kind} ${id} is already registered`);
    if (at === end && match[1]! > id) at = index;
  }
  lines.splice(at, 0, entry);
  return lines.join('\n');
}

export async function register(registryPath: string, kind: ConnectorKind, id: string): Promise<void> {
  await writeFile(registryPath, addToRegistry(await readFile(registryPath, 'utf8'), kind, id));
}
