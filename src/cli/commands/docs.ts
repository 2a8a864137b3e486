/**
 * `sluice docs [--check] [--out DIR]`: regenerate the connector reference (docs/connectors/) from the
 * connector specs, or with `--check` only say whether it is current (exit 1 when not) — for CI and hooks.
 */
import type { Command } from 'commander';
import { DOCS_DIR, staleConnectorDocs, writeConnectorDocs } from '../../docs/generate.ts';
import { EXIT, type Output, printError } from '../output.ts';

export function registerDocsCommand(program: Command, output: Output, setExit: (code: number) => void): void {
  program
    .command('docs')
    .description('regenerate the connector reference in docs/connectors from the connector specs')
    .option('--check', 'only check that it is up to date; exit 1 if not')
    .option('--out <dir>', 'write here instead of docs/connectors')
    .action(async (options: { check?: boolean; out?: string }) => setExit(await docsCommand(options, output)));
}

export async function docsCommand(options: { check?: boolean; out?: string }, output: Output): Promise<number> {
  const dir = options.out ?? DOCS_DIR;
  try {
    if (options.check) {
      const problems = await staleConnectorDocs(dir);
      if (problems.length === 0) {
        output.out(`✓ ${dir} is up to date`);
        return EXIT.ok;
      }
      output.err(`✗ ${dir} is out of date: ${problems.join(', ')} — run \`npm run docs:connectors\``);
      return EXIT.failed;
    }
    const written = await writeConnectorDocs(dir);
    output.out(`✓ wrote ${written.length} pages to ${dir}`);
    return EXIT.ok;
  } catch (error) {
    printError(output, error);
    return EXIT.failed;
  }
}
