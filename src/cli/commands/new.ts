/**
 * `sluice new source|destination <id> [--dir DIR] [--no-register]`: a connector folder that type-checks and
 * passes its tests as generated. By default it goes to src/connectors/<kind>s/<id>/, is added to the
 * registry, and the connector reference is regenerated (in a fresh process, which sees the new registry
 * entry), so `npm test` stays green. With `--dir` it goes elsewhere and is not registered.
 */
import { spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { ConnectorKind } from '../../connectors/registry.ts';
import { generateConnector } from '../../scaffold/generate.ts';
import { register } from '../../scaffold/register.ts';
import { EXIT, type Output } from '../output.ts';

const CONNECTORS = new URL('../../connectors/', import.meta.url);
const BIN = fileURLToPath(new URL('../../../bin/sluice.js', import.meta.url));

export interface NewCommandOptions {
  readonly dir?: string;
  readonly register?: boolean;
}

export function registerNewCommand(program: Command, output: Output, setExit: (code: number) => void): void {
  program
    .command('new')
    .description('create a connector folder (index, spec, client, test, README) that passes its tests')
    .argument('<kind>', 'source or destination')
    .argument('<id>', 'the connector id, snake_case (e.g. acme_crm)')
    .option('--dir <dir>', 'create it here instead of src/connectors/<kind>s/<id> (not registered)')
    .option('--no-register', 'do not add it to src/connectors/registry.ts')
    .action(async (kind: string, id: string, options: NewCommandOptions) => setExit(await newCommand(kind, id, options, output)));
}

export async function newCommand(kind: string, id: string, options: NewCommandOptions, output: Output): Promise<number> {
  if (kind !== 'source' && kind !== 'destination') {
    output.err(`error: say "source" or "destination", not "${kind}"`);
    return EXIT.usage;
  }
  const inRepo = options.dir === undefined;
  const dir = options.dir ?? fileURLToPath(new URL(`${kind}s/${id}/`, CONNECTORS)).replace(/\/$/, '');
  try {
    const generated = await generateConnector(kind as ConnectorKind, id, dir);
    for (const file of generated.files) output.out(`  created ${relative(process.cwd(), file)}`);
    if (inRepo && options.register !== false) {
      await register(fileURLToPath(new URL('registry.ts', CONNECTORS)), kind as ConnectorKind, id);
      output.out('  registered in src/connectors/registry.ts');
      const docs = spawnSync(process.execPath, [BIN, 'docs'], { encoding: 'utf8' });
      output.out(docs.status === 0 ? '  regenerated docs/connectors' : '  could not regenerate docs/connectors: run `npm run docs:connectors`');
    }
  } catch (error) {
    output.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.usage;
  }
  output.out(`✓ ${kind}/${id}: next, \`npx vitest run ${relative(process.cwd(), dir)}\` — then make it talk to the real API`);
  return EXIT.ok;
}
