/**
 * `sluice airbyte destination/<id> write`: a Sluice destination as an Airbyte destination. Airbyte messages
 * on stdin go through the engine into the destination; every STATE is echoed on stdout — in order, only
 * once every record before it has been delivered or rejected, verbatim (unknown fields such as `id` kept)
 * plus `destinationStats.recordCount`, the number of records since the previous state.
 *
 * Logs and rejected records are LOG messages on stdout; a failed run ends with a TRACE ERROR
 * (`config_error` when the configuration or credentials are at fault, else `system_error`) and exit 1.
 * Input without states echoes nothing and exits 0.
 */
import { airbyteLine, errorTrace, withDestinationStats } from '../protocol/airbyte.ts';
import type { JsonObject } from '../protocol/json.ts';
import type { DestinationDefinition } from '../sdk/destination.ts';
import { describeError } from '../sdk/errors.ts';
import { type ConfiguredCatalog, configuredKey, writeSyncMode } from './airbyte-catalog.ts';
import { airbyteDecoder } from './airbyte-input.ts';
import { type ExitStatus, type ProtocolIo, exitStatusOf } from './io.ts';
import { LineWriter } from './line-writer.ts';
import { type LogLevel, airbyteLogger } from './logs.ts';
import { stdinSource } from './stdin-source.ts';
import { chooseObject, runTarget } from './target-run.ts';

export interface AirbyteWriteOptions {
  readonly object?: string;
  readonly ledgerPath?: string;
  readonly logLevel?: LogLevel;
  readonly signal?: AbortSignal;
}

/** Error codes (see docs/errors.md) that mean the user's configuration or credentials must change. */
const CONFIG_CODES = /^(CONFIG_INVALID|AUTH_REFUSED|CONNECTOR_UNKNOWN):/;

export async function runAirbyteWrite(
  definition: DestinationDefinition,
  config: unknown,
  catalog: ConfiguredCatalog,
  io: ProtocolIo,
  options: AirbyteWriteOptions = {},
): Promise<ExitStatus> {
  const writer = new LineWriter(io.output);
  const fail = (message: string, configError: boolean) => writer.writeNow(airbyteLine(errorTrace(message, configError ? 'config_error' : 'system_error')));
  try {
    const object = chooseObject(definition, options.object);
    if ('error' in object) {
      fail(object.error, true);
      return 'usage';
    }
    const syncMode = writeSyncMode(catalog, definition, object.name);
    if ('error' in syncMode) {
      fail(syncMode.error, true);
      return 'usage';
    }
    const logger = airbyteLogger(writer, options.logLevel);
    const streams = new Set(catalog.streams.map(configuredKey));
    const summary = await runTarget({
      destination: definition,
      config,
      object: object.name,
      ...(syncMode.mode === undefined ? {} : { syncMode: syncMode.mode }),
      source: stdinSource(io.input, airbyteDecoder({ logger, streams })),
      logger,
      reportReject: (text) => logger.warn({}, text),
      ...(options.ledgerPath === undefined ? {} : { ledgerPath: options.ledgerPath }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onStateCommitted: (state, recordCount) => writer.writeNow(airbyteLine(withDestinationStats(state as JsonObject, recordCount))),
    });
    if (summary.status === 'failed') fail(summary.error ?? 'the write failed', CONFIG_CODES.test(summary.error ?? ''));
    return exitStatusOf(summary);
  } catch (error) {
    fail(describeError(error), false);
    return 'failed';
  } finally {
    await writer.end();
  }
}
