/**
 * `sluice singer tap <source>` and `sluice singer target <destination>`: Sluice connectors as Singer
 * connectors on stdio (see docs/interop.md). Config problems are listed with their paths on stderr
 * (exit 2), as `sluice check` lists them; stdout carries only Singer messages (or `--discover`/`--about`).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { loadDestination, loadSource } from '../../connectors/registry.ts';
import { loadConnectorConfig } from '../../interop/connector-config.ts';
import { LOG_LEVELS, parseLogLevel } from '../../interop/logs.ts';
import { processIo, readJsonFile, withInterrupt } from '../../interop/process-io.ts';
import { singerAbout } from '../../interop/singer-about.ts';
import { type SingerCatalogInput, parseSingerCatalog, singerCatalog } from '../../interop/singer-catalog.ts';
import { runSingerTap } from '../../interop/singer-tap.ts';
import { runSingerTarget } from '../../interop/singer-target.ts';
import { isObject } from '../../protocol/lines.ts';
import { stringifyJson } from '../../protocol/json.ts';
import { defaultContext } from '../../sdk/context.ts';
import { SluiceError } from '../../sdk/errors.ts';
import type { State } from '../../sdk/source.ts';
import { EXIT, type Output, printError, printIssues } from '../output.ts';

interface TapOptions {
  config?: string;
  catalog?: string;
  properties?: string;
  state?: string;
  discover?: boolean;
  about?: boolean;
  logLevel?: string;
}
interface TargetOptions {
  config?: string;
  object?: string;
  batchSizeRows?: number;
  ledger?: string;
  about?: boolean;
  logLevel?: string;
}

export function registerSingerCommands(program: Command, output: Output, setExit: (code: number) => void): void {
  const singer = program.command('singer').description('run a Sluice connector as a Singer tap or target, messages on stdin/stdout');
  const logLevel = () => new Option('--log-level <level>', 'log level (stderr)').choices(LOG_LEVELS);
  singer
    .command('tap')
    .description('read a source and write SCHEMA, RECORD and STATE messages on stdout')
    .argument('<source>', 'a source id, or source/<id>')
    .option('-c, --config <file>', "the source's config (JSON or YAML)")
    .option('--catalog <file>', 'a Singer catalog: sync the selected streams')
    .option('--properties <file>', 'the same as --catalog (older Singer taps)')
    .option('--state <file>', 'a state value to resume from')
    .option('--discover', 'print the catalog and exit')
    .option('--about', "print the tap's name, capabilities and settings schema and exit")
    .addOption(logLevel())
    .action(async (name: string, options: TapOptions) => setExit(await tapCommand(name, options, output)));
  singer
    .command('target')
    .description('read Singer messages on stdin into a destination; print each state once its records are delivered')
    .argument('<destination>', 'a destination id, or destination/<id>')
    .option('-c, --config <file>', "the destination's config (JSON or YAML)")
    .option('--object <name>', 'the destination object to write (default: its only one)')
    .option('--batch-size-rows <n>', 'hold records per stream until a stream has this many, as Singer SDK targets do', positiveInt)
    .option('--ledger <file>', 'also append every rejected record to this JSONL file')
    .option('--about', "print the target's name, capabilities and settings schema and exit")
    .addOption(logLevel())
    .action(async (name: string, options: TargetOptions) => setExit(await targetCommand(name, options, output)));
}

function positiveInt(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('a whole number of at least 1');
  return number;
}

/** `file` or `source/file` (for a tap); another kind's prefix is a mistake worth naming. */
export function connectorId(name: string, kind: 'source' | 'destination'): string {
  const slash = name.indexOf('/');
  if (slash === -1) return name;
  if (name.slice(0, slash) !== kind) throw new SluiceError('CONNECTOR_UNKNOWN', `"${name}" is not a ${kind}: say ${kind}/<id>`);
  return name.slice(slash + 1);
}

async function tapCommand(name: string, options: TapOptions, output: Output): Promise<number> {
  try {
    const definition = await loadSource(connectorId(name, 'source'));
    if (options.about) return printJson(output, singerAbout(definition));
    if (options.config === undefined) return usage(output, 'singer tap needs --config <file> (or --about)');
    const loaded = await loadConnectorConfig(definition, options.config);
    if (!loaded.ok) return issues(output, options.config, loaded.issues);
    const logLevel = parseLogLevel(options.logLevel);
    if (options.discover) return printJson(output, singerCatalog(await definition.discover(loaded.config, defaultContext())));
    const catalogFile = options.catalog ?? options.properties;
    let catalog: SingerCatalogInput | undefined;
    if (catalogFile !== undefined) {
      const read = await readJsonFile(catalogFile);
      const parsed = read.ok ? parseSingerCatalog(read.value) : read;
      if (!parsed.ok) return issues(output, catalogFile, parsed.issues);
      catalog = parsed.catalog;
    }
    let state: State | undefined;
    if (options.state !== undefined) {
      const read = await readJsonFile(options.state);
      if (!read.ok) return issues(output, options.state, read.issues);
      if (!isObject(read.value)) return issues(output, options.state, [{ path: '(root)', message: 'a state must be a JSON object' }]);
      state = read.value as State;
    }
    const status = await withInterrupt((signal) =>
      runSingerTap(definition, loaded.config, processIo(output.err), { logLevel, signal, ...(catalog === undefined ? {} : { catalog }), ...(state === undefined ? {} : { state }) }),
    );
    return EXIT[status];
  } catch (error) {
    printError(output, error);
    return EXIT.usage;
  }
}

async function targetCommand(name: string, options: TargetOptions, output: Output): Promise<number> {
  try {
    const definition = await loadDestination(connectorId(name, 'destination'));
    if (options.about) return printJson(output, singerAbout(definition));
    if (options.config === undefined) return usage(output, 'singer target needs --config <file> (or --about)');
    const loaded = await loadConnectorConfig(definition, options.config);
    if (!loaded.ok) return issues(output, options.config, loaded.issues);
    const status = await withInterrupt((signal) =>
      runSingerTarget(definition, loaded.config, processIo(output.err), {
        logLevel: parseLogLevel(options.logLevel),
        signal,
        ...(options.object === undefined ? {} : { object: options.object }),
        ...(options.batchSizeRows === undefined ? {} : { batchSizeRows: options.batchSizeRows }),
        ...(options.ledger === undefined ? {} : { ledgerPath: options.ledger }),
      }),
    );
    return EXIT[status];
  } catch (error) {
    printError(output, error);
    return EXIT.usage;
  }
}

function printJson(output: Output, value: unknown): number {
  output.out(stringifyJson(value));
  return EXIT.ok;
}

function usage(output: Output, message: string): number {
  output.err(`error: ${message}`);
  return EXIT.usage;
}

function issues(output: Output, file: string, found: Parameters<typeof printIssues>[2]): number {
  printIssues(output, file, found);
  return EXIT.usage;
}
