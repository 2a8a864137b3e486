/**
 * The `sluice` command line. `main` returns the exit code instead of exiting, so tests can call it:
 * 0 success, 1 a run or check failed, 2 bad usage or an invalid config, 130 interrupted.
 */
import { Command, CommanderError, Option } from 'commander';
import { checkCommand, connectorsCommand, specCommand } from './commands/connectors.ts';
import { registerDocsCommand } from './commands/docs.ts';
import { registerNewCommand } from './commands/new.ts';
import { registerTestCommand } from './commands/test.ts';
import { registerAirbyteCommand } from './commands/airbyte.ts';
import { runCommand } from './commands/run.ts';
import { registerSingerCommands } from './commands/singer.ts';
import { validateCommand } from './commands/validate.ts';
import { registerWorkerCommand } from './commands/worker.ts';
import { registerApplyCommand } from './commands/apply.ts';
import { registerKeysCommand } from './commands/keys.ts';
import { registerServeCommand } from './commands/serve.ts';
import { EXIT, type Output, processOutput } from './output.ts';

export function buildProgram(output: Output, setExit: (code: number) => void): Command {
  const program = new Command('sluice')
    .description('Build, test and run data connectors.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => output.out(text.trimEnd()), writeErr: (text) => output.err(text.trimEnd()) });

  program
    .command('run')
    .description('run the activations of a config file (all of them, or one with --activation)')
    .argument('<config>', 'config file (JSON or YAML)')
    .option('-a, --activation <name>', 'run only this activation')
    .option('--dry-run', 'do everything but send: print the plan (creates, updates, deletes) and sample payloads')
    .option('--force', 'run even when the plan exceeds max_change_ratio, or the source schema changed under on_schema_change: fail')
    .option('--state <file>', 'state file (default: $SLUICE_HOME/state/<activation>.json); fingerprints and rejects go next to it')
    .option('--json', 'print the run summaries as JSON on stdout')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']))
    .action(async (config: string, options: { activation?: string; dryRun?: boolean; force?: boolean; state?: string; json?: boolean; logLevel?: string }) => {
      setExit(await runCommand(config, options, output));
    });

  program
    .command('validate')
    .description('check a config file: every problem is listed with its JSON path')
    .argument('<config>', 'config file (JSON or YAML)')
    .action(async (config: string) => setExit(await validateCommand(config, output)));

  program
    .command('connectors')
    .description('list the available connectors')
    .action(async () => setExit(await connectorsCommand(output)));

  program
    .command('spec')
    .description("print a connector's config JSON Schema")
    .argument('<connector>', 'source/<id>, destination/<id>, or a bare id')
    .action(async (connector: string) => setExit(await specCommand(connector, output)));

  program
    .command('check')
    .description("validate a connector config and make a small real call with it")
    .argument('<connector>', 'source/<id>, destination/<id>, or a bare id')
    .requiredOption('-c, --config <file>', "the connector's config (JSON or YAML)")
    .action(async (connector: string, options: { config: string }) => setExit(await checkCommand(connector, options.config, output)));

  registerSingerCommands(program, output, setExit);
  registerAirbyteCommand(program, output, setExit);
  registerTestCommand(program, output, setExit);
  registerNewCommand(program, output, setExit);
  registerDocsCommand(program, output, setExit);
  registerWorkerCommand(program, output, setExit);
  registerServeCommand(program, output, setExit);
  registerApplyCommand(program, output, setExit);
  registerKeysCommand(program, output, setExit);

  return program;
}

export async function main(argv: readonly string[], output: Output = processOutput): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(output, (exit) => {
    code = exit;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    output.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  }
  return code;
}
