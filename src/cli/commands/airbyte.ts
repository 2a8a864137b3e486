/**
 * `sluice airbyte <connector> spec|check|discover|read|write`: Sluice connectors as Airbyte connectors,
 * with the Airbyte protocol on stdout (see docs/interop.md). A bare id is the source for `read`/`discover`
 * and the destination for `write`; `spec`/`check` need `source/<id>` or `destination/<id>` when both exist.
 *
 * Problems the user must fix are a TRACE ERROR with `failure_type: config_error` on stdout plus the
 * problems with their paths on stderr, exit 2 — except in `check`, where a bad config is the answer
 * CONNECTION_STATUS FAILED (exit 0), as Airbyte's CDKs do.
 */
import { Argument, type Command, Option } from 'commander';
import { type ConnectorKind, loadConnector } from '../../connectors/registry.ts';
import { parseConfiguredCatalog } from '../../interop/airbyte-catalog.ts';
import { airbyteCheck, airbyteDiscover, airbyteSpec } from '../../interop/airbyte-connector.ts';
import { runAirbyteWrite } from '../../interop/airbyte-destination.ts';
import { runAirbyteRead } from '../../interop/airbyte-source.ts';
import { issuesSentence, loadConnectorConfig } from '../../interop/connector-config.ts';
import { LOG_LEVELS, parseLogLevel } from '../../interop/logs.ts';
import { processIo, readJsonFile, withInterrupt } from '../../interop/process-io.ts';
import { airbyteLine, connectionStatus, errorTrace } from '../../protocol/airbyte.ts';
import type { JsonObject, JsonValue } from '../../protocol/json.ts';
import { defaultContext } from '../../sdk/context.ts';
import type { DestinationDefinition } from '../../sdk/destination.ts';
import { SluiceError, describeError } from '../../sdk/errors.ts';
import type { SourceDefinition } from '../../sdk/source.ts';
import type { ConfigIssue } from '../../sdk/spec.ts';
import { EXIT, type Output, printIssues } from '../output.ts';
import { resolveConnectorName } from './connectors.ts';

const ACTIONS = ['spec', 'check', 'discover', 'read', 'write'] as const;
type Action = (typeof ACTIONS)[number];

interface AirbyteOptions {
  config?: string;
  catalog?: string;
  state?: string;
  object?: string;
  ledger?: string;
  logLevel?: string;
}

export function registerAirbyteCommand(program: Command, output: Output, setExit: (code: number) => void): void {
  program
    .command('airbyte')
    .description('run a Sluice connector as an Airbyte connector: the Airbyte protocol on stdin/stdout')
    .argument('<connector>', 'source/<id>, destination/<id>, or a bare id')
    .addArgument(new Argument('<command>', 'the Airbyte command').choices(ACTIONS))
    .option('-c, --config <file>', "the connector's config (JSON or YAML)")
    .option('--catalog <file>', 'the configured catalog (read, write)')
    .option('--state <file>', 'the state to resume from (read)')
    .option('--object <name>', 'write: the destination object (default: its only one)')
    .option('--ledger <file>', 'write: also append every rejected record to this JSONL file')
    .addOption(new Option('--log-level <level>', 'log level of LOG messages').choices(LOG_LEVELS))
    .action(async (connector: string, action: Action, options: AirbyteOptions) => setExit(await airbyteCommand(connector, action, options, output)));
}

/** The connector kind a command implies, so `sluice airbyte file write` needs no prefix. */
function resolve(name: string, action: Action): { kind: ConnectorKind; id: string } {
  const implied: ConnectorKind | undefined = action === 'read' || action === 'discover' ? 'source' : action === 'write' ? 'destination' : undefined;
  const named = name.includes('/') || implied === undefined ? resolveConnectorName(name) : { kind: implied, id: name };
  if (implied !== undefined && named.kind !== implied) throw new SluiceError('CONNECTOR_UNKNOWN', `${action} needs a ${implied}, and ${name} is a ${named.kind}`);
  return named;
}

async function airbyteCommand(name: string, action: Action, options: AirbyteOptions, output: Output): Promise<number> {
  const emit = (message: JsonObject) => output.out(airbyteLine(message));
  const configError = (message: string, file?: string, issues?: readonly ConfigIssue[]) => {
    emit(errorTrace(message, 'config_error'));
    if (file !== undefined && issues !== undefined) printIssues(output, file, issues);
    else output.err(`error: ${message}`);
    return EXIT.usage;
  };
  let definition: SourceDefinition | DestinationDefinition;
  try {
    const { kind, id } = resolve(name, action);
    definition = await loadConnector(kind, id);
  } catch (error) {
    return configError(describeError(error));
  }
  if (action === 'spec') {
    emit(airbyteSpec(definition));
    return EXIT.ok;
  }
  if (options.config === undefined) return configError(`${action} needs --config <file>`);
  const loaded = await loadConnectorConfig(definition, options.config);
  if (!loaded.ok) {
    if (action !== 'check') return configError(issuesSentence(options.config, loaded.issues), options.config, loaded.issues);
    printIssues(output, options.config, loaded.issues);
    emit(connectionStatus(false, issuesSentence(options.config, loaded.issues)));
    return EXIT.ok;
  }
  const ctx = defaultContext();
  try {
    if (action === 'check') {
      emit(await airbyteCheck(definition, loaded.config, ctx));
      return EXIT.ok;
    }
    if (action === 'discover') {
      emit(await airbyteDiscover(definition as SourceDefinition, loaded.config, ctx));
      return EXIT.ok;
    }
  } catch (error) {
    emit(errorTrace(describeError(error), 'system_error'));
    return EXIT.failed;
  }
  if (options.catalog === undefined) return configError(`${action} needs --catalog <file>`);
  const read = await readJsonFile(options.catalog);
  const parsed = read.ok ? parseConfiguredCatalog(read.value) : read;
  if (!parsed.ok) return configError(issuesSentence(options.catalog, parsed.issues), options.catalog, parsed.issues);
  const logLevel = parseLogLevel(options.logLevel);
  if (action === 'read') {
    let state: JsonValue | undefined;
    if (options.state !== undefined) {
      const stateFile = await readJsonFile(options.state);
      if (!stateFile.ok) return configError(issuesSentence(options.state, stateFile.issues), options.state, stateFile.issues);
      state = stateFile.value;
    }
    const status = await withInterrupt((signal) => runAirbyteRead(definition as SourceDefinition, loaded.config, parsed.catalog, state, processIo(output.err), { logLevel, signal }));
    return EXIT[status];
  }
  const status = await withInterrupt((signal) =>
    runAirbyteWrite(definition as DestinationDefinition, loaded.config, parsed.catalog, processIo(output.err), {
      logLevel,
      signal,
      ...(options.object === undefined ? {} : { object: options.object }),
      ...(options.ledger === undefined ? {} : { ledgerPath: options.ledger }),
    }),
  );
  return EXIT[status];
}
