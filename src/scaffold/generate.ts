/**
 * `sluice new`'s generator: a connector folder (index, spec, client, test, README) from the templates next
 * to this file, filled with the connector's names. The result type-checks and passes its own tests as
 * generated — scaffold.test.ts proves it — so an author starts from green and changes one thing at a time.
 * Templates import `sluice/sdk` and `sluice/testing`, so the folder works anywhere inside the package.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectorKind } from '../connectors/registry.ts';
import { type ConnectorNames, fill, namesFor } from './names.ts';

const TEMPLATES = new URL('./templates/', import.meta.url);

/** Template file → generated file name. */
function filesFor(names: ConnectorNames): ReadonlyArray<readonly [string, string]> {
  return [
    ['index.ts.tpl', 'index.ts'],
    ['spec.ts.tpl', 'spec.ts'],
    ['client.ts.tpl', 'client.ts'],
    ['test.ts.tpl', `${names.id}.test.ts`],
    ['README.md.tpl', 'README.md'],
  ];
}

export interface Generated {
  readonly dir: string;
  readonly files: readonly string[];
}

/** Write the connector into `dir` (which must not exist yet). */
export async function generateConnector(kind: ConnectorKind, id: string, dir: string): Promise<Generated> {
  const names = namesFor(id);
  if (await stat(dir).catch(() => undefined)) throw new Error(`${dir} already exists; choose another id or --dir`);
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const [template, output] of filesFor(names)) {
    const text = await readFile(new URL(`${kind}/${template}`, TEMPLATES), 'utf8');
    await writeFile(join(dir, output), fill(text, names));
    files.push(join(dir, output));
  }
  return { dir, files };
}
