/**
 * The connector reference in docs/connectors/: one page per registered connector and an index, all
 * generated from the definitions. `writeConnectorDocs` brings the folder up to date (removing pages of
 * connectors that are gone, but only files that carry the generated marker); `staleConnectorDocs` lists
 * what differs, for the test and `sluice docs --check`.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConnectorKind, destinationLoaders, loadConnector, sourceLoaders } from '../connectors/registry.ts';
import { GENERATED_MARKER, type Definition, connectorPage, indexPage, pageName } from './markdown.ts';

export const DOCS_DIR = fileURLToPath(new URL('../../docs/connectors/', import.meta.url));
const CONNECTORS_DIR = fileURLToPath(new URL('../connectors/', import.meta.url));

/** File name → content, for every page. */
export async function connectorDocs(docsDir = DOCS_DIR): Promise<Map<string, string>> {
  const pages = new Map<string, string>();
  const definitions: Definition[] = [];
  for (const [kind, loaders] of [['source', sourceLoaders], ['destination', destinationLoaders]] as const) {
    for (const id of Object.keys(loaders).sort()) {
      const definition = await loadConnector(kind, id);
      definitions.push(definition);
      pages.set(pageName(kind, id), connectorPage(definition, readmeLink(kind, id, docsDir)));
    }
  }
  pages.set('README.md', indexPage(definitions));
  return pages;
}

function readmeLink(kind: ConnectorKind, id: string, docsDir: string): string | undefined {
  const readme = join(CONNECTORS_DIR, `${kind}s`, id, 'README.md');
  return existsSync(readme) ? relative(docsDir, readme).split('\\').join('/') : undefined;
}

/** Generated files in the folder now (only those with the marker: hand-written files are left alone). */
async function generatedFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const name of names.filter((file) => file.endsWith('.md'))) {
    if ((await readFile(join(dir, name), 'utf8')).startsWith(GENERATED_MARKER)) out.push(name);
  }
  return out;
}

export async function writeConnectorDocs(dir = DOCS_DIR): Promise<string[]> {
  const pages = await connectorDocs(dir);
  await mkdir(dir, { recursive: true });
  for (const name of await generatedFiles(dir)) if (!pages.has(name)) await rm(join(dir, name));
  for (const [name, content] of pages) await writeFile(join(dir, name), content);
  return [...pages.keys()];
}

/** What is out of date: `missing x.md`, `stale x.md`, `extra x.md`; empty when the folder is current. */
export async function staleConnectorDocs(dir = DOCS_DIR): Promise<string[]> {
  const pages = await connectorDocs(dir);
  const problems: string[] = [];
  for (const [name, content] of pages) {
    const current = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (current === undefined) problems.push(`missing ${name}`);
    else if (current !== content) problems.push(`stale ${name}`);
  }
  for (const name of await generatedFiles(dir)) if (!pages.has(name)) problems.push(`extra ${name}`);
  return problems;
}
