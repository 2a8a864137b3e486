/**
 * The registry, the connector folders and their READMEs stay in step: every folder under sources/ and
 * destinations/ is registered, has a README.md, a test beside its code and a conformance test; every
 * registry entry has a folder; and each definition's `id` and `kind` are the ones it is registered under.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ConnectorKind, destinationLoaders, loadConnector, sourceLoaders } from './registry.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const KINDS: ReadonlyArray<readonly [ConnectorKind, Readonly<Record<string, unknown>>]> = [
  ['source', sourceLoaders],
  ['destination', destinationLoaders],
];

async function folders(kind: ConnectorKind): Promise<string[]> {
  const entries = await readdir(join(HERE, `${kind}s`), { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
}

describe.each(KINDS)('%s connectors', (kind, loaders) => {
  it('every folder is registered, and every registry entry has a folder', async () => {
    expect(await folders(kind)).toEqual(Object.keys(loaders).sort());
  });

  it.each(Object.keys(loaders))('%s has a README, a test and a conformance test', async (id) => {
    const dir = join(HERE, `${kind}s`, id);
    const files = await readdir(dir);
    expect(files, `${kind}s/${id}/README.md`).toContain('README.md');
    expect(files.some((file) => file.endsWith('.test.ts') && file !== 'conformance.test.ts'), `${kind}s/${id} needs a test beside its code`).toBe(true);
    // Scaffolded connectors run the suite inside their own test; built-ins keep it in conformance.test.ts.
    const conformance = existsSync(join(dir, 'conformance.test.ts')) || (await readTests(dir)).some((text) => text.includes('describeConformance('));
    expect(conformance, `${kind}s/${id} must run the conformance suite (describeConformance from sluice/testing)`).toBe(true);
  });

  it.each(Object.keys(loaders))('%s is the id and kind its definition declares', async (id) => {
    const definition = await loadConnector(kind, id);
    expect(definition.id).toBe(id);
    expect(definition.kind).toBe(kind);
  });
});

async function readTests(dir: string): Promise<string[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.test.ts'));
  return Promise.all(files.map((file) => readFile(join(dir, file), 'utf8')));
}
