/** `sluice validate <config>`: every problem with its JSON path, exit 2; or a one-line confirmation. */
import { readConfigFile } from '../../config/load.ts';
import { resolveConfig } from '../../config/resolve.ts';
import { EXIT, type Output, printError, printIssues } from '../output.ts';

export async function validateCommand(file: string, output: Output): Promise<number> {
  try {
    const resolved = await resolveConfig(await readConfigFile(file));
    if (resolved.issues.length > 0) {
      printIssues(output, file, resolved.issues);
      return EXIT.usage;
    }
    const config = resolved.config!;
    const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    output.out(
      `✓ ${file} is valid: ${count(Object.keys(config.sources).length, 'source')}, ` +
        `${count(Object.keys(config.destinations).length, 'destination')}, ${count(config.activations.length, 'activation')}`,
    );
    return EXIT.ok;
  } catch (error) {
    printError(output, error);
    return EXIT.usage;
  }
}
