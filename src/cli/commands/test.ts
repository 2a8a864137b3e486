/**
 * `sluice test <connector> --config FILE` runs the conformance suite (sluice/testing) against a registered
 * connector; `sluice test --command "node my-target.js" --kind singer-target --config FILE` against an
 * external one. It prints a pass/fail table (or `--json`) and exits 1 when any check fails.
 *
 * A config file is static, so the checks that need more say so: `--invalid-config` for one that parses
 * but cannot work (else one is derived), `--delivered FILE` for a JSON Lines file where delivered
 * records can be read back (what the kill -9 and read-back checks need; else they are skipped).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import { substituteEnv } from '../../config/env.ts';
import { readConfigFile } from '../../config/load.ts';
import { loadConnector } from '../../connectors/registry.ts';
import { SluiceError } from '../../sdk/errors.ts';
import type { ConfigIssue } from '../../sdk/spec.ts';
import { runDestinationConformance } from '../../testing/conformance/destination.ts';
import { runSourceConformance } from '../../testing/conformance/source.ts';
import { EXTERNAL_KINDS, runExternalConformance } from '../../testing/external/index.ts';
import { readJsonLines } from '../../testing/inspect.ts';
import { formatReport } from '../../testing/report.ts';
import type { ConformanceReport, ExternalKind, RawConfig } from '../../testing/types.ts';
import { EXIT, type Output, printError, printIssues } from '../output.ts';
import { resolveConnectorName } from './connectors.ts';

export interface TestCommandOptions {
  readonly config?: string;
  readonly invalidConfig?: string;
  readonly object?: string;
  readonly delivered?: string;
  readonly command?: string;
  readonly kind?: ExternalKind;
  readonly skip?: string;
  readonly json?: boolean;
}

export function registerTestCommand(program: Command, output: Output, setExit: (code: number) => void): void {
  program
    .command('test')
    .description('run the conformance suite against a connector, or an external command with --command')
    .argument('[connector]', 'source/<id>, destination/<id>, or a bare id')
    .option('-c, --config <file>', 'a working config for the connector (JSON or YAML; ${VAR} from the environment)')
    .option('--invalid-config <file>', 'a config that parses but cannot work (default: derived from --config)')
    .option('--object <name>', 'the destination object to write to (default: the first)')
    .option('--delivered <file>', 'a JSON Lines file where delivered records can be read back')
    .option('--command <command>', 'test an external connector command instead, e.g. "node my-target.js"')
    .addOption(new Option('--kind <kind>', 'the protocol the external command speaks').choices(EXTERNAL_KINDS))
    .option('--skip <ids>', 'comma-separated check ids to skip')
    .option('--json', 'print the report as JSON')
    .action(async (connector: string | undefined, options: TestCommandOptions) => setExit(await testCommand(connector, options, output)));
}

export async function testCommand(connector: string | undefined, options: TestCommandOptions, output: Output): Promise<number> {
  let report: ConformanceReport;
  try {
    if (options.config === undefined) throw new SluiceError('CONFIG_INVALID', 'say which config to test with: --config FILE');
    if (options.command !== undefined && connector !== undefined) throw new SluiceError('CONFIG_INVALID', 'give a connector or --command, not both');
    if (options.command === undefined && connector === undefined) throw new SluiceError('CONFIG_INVALID', 'name a connector (e.g. destination/http) or give --command');
    if (options.command !== undefined && options.kind === undefined) throw new SluiceError('CONFIG_INVALID', `say which protocol the command speaks: --kind ${EXTERNAL_KINDS.join('|')}`);
    const name = connector === undefined ? undefined : resolveConnectorName(connector);
    const issues: ConfigIssue[] = [];
    const validConfig = await readConfig(options.config, name?.id, issues);
    const invalidConfig = options.invalidConfig === undefined ? undefined : await readConfig(options.invalidConfig, name?.id, issues);
    if (issues.length > 0) {
      printIssues(output, options.config, issues);
      return EXIT.usage;
    }
    const skip = Object.fromEntries((options.skip ?? '').split(',').filter((id) => id.trim() !== '').map((id) => [id.trim(), 'skipped with --skip']));
    const delivered = options.delivered;
    const inspect = delivered === undefined ? {} : { inspect: () => readJsonLines(delivered) };
    if (name === undefined) {
      report = await runExternalConformance({ command: options.command!, kind: options.kind!, config: validConfig, skip, ...inspect });
    } else {
      const common = { validConfig, skip, ...(invalidConfig === undefined ? {} : { invalidConfig }) };
      const definition = await loadConnector(name.kind, name.id);
      if (definition.kind === 'source') report = await runSourceConformance(definition, common);
      else {
        const module = builtInModule(name.kind, name.id);
        report = await runDestinationConformance(definition, { ...common, ...inspect, ...(module === undefined ? {} : { module }), ...(options.object === undefined ? {} : { object: options.object }) });
      }
    }
  } catch (error) {
    printError(output, error);
    return EXIT.usage;
  }
  output.out(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.ok ? EXIT.ok : EXIT.failed;
}

/** A config file with `${VAR}`s filled in and the `type` key (as written in a sluice.yaml) dropped. */
async function readConfig(file: string, id: string | undefined, issues: ConfigIssue[]): Promise<RawConfig> {
  const raw = substituteEnv(await readConfigFile(file), process.env, issues);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SluiceError('CONFIG_INVALID', `${file}: a connector config is an object`);
  const { type, ...settings } = raw as RawConfig;
  if (type !== undefined && id !== undefined && type !== id) issues.push({ path: 'type', message: `is "${String(type)}" but the connector is ${id}` });
  return settings;
}

/** Where a registered connector's definition lives (the layout registry.test.ts enforces), for the kill -9 child. */
function builtInModule(kind: 'source' | 'destination', id: string): URL | undefined {
  const url = new URL(`../../connectors/${kind}s/${id}/index.ts`, import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}
