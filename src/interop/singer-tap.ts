/**
 * `sluice singer tap <source>`: a Sluice source as a Singer tap. Writes, on stdout, a SCHEMA for each
 * selected stream, its RECORDs (long numbers exact, non-ASCII as is), a SCHEMA again when the source
 * announces a new one, and each STATE the source yields; on stderr, Singer METRIC lines (`record_count`
 * per stream) and logs — a malformed source line is a WARNING naming its file and line, not a failure.
 * Stream selection comes from the catalog (singer-catalog.ts); without one, every stream is synced.
 */
import type { JsonObject } from '../protocol/json.ts';
import { singerRecordLine, singerRecordPrefix, singerSchemaLine, singerStateLine } from '../protocol/singer.ts';
import { describeError } from '../sdk/errors.ts';
import type { SourceDefinition, State } from '../sdk/source.ts';
import type { ExitStatus, ProtocolIo } from './io.ts';
import { LineWriter } from './line-writer.ts';
import { type LogLevel, singerLogger } from './logs.ts';
import { type SingerCatalogInput, type SingerSelection, selectSingerStreams } from './singer-catalog.ts';
import { RecordMetrics } from './singer-metrics.ts';

export interface SingerTapOptions {
  /** A parsed `--catalog`/`--properties` file; absent: every stream. */
  readonly catalog?: SingerCatalogInput;
  readonly state?: State;
  readonly logLevel?: LogLevel;
  readonly signal?: AbortSignal;
  readonly metricsIntervalMs?: number;
}

export async function runSingerTap(definition: SourceDefinition, config: unknown, io: Pick<ProtocolIo, 'output' | 'errors'>, options: SingerTapOptions = {}): Promise<ExitStatus> {
  const logger = singerLogger(io.errors, options.logLevel);
  const writer = new LineWriter(io.output);
  const metrics = new RecordMetrics(io.errors, options.metricsIntervalMs);
  const ctx = { logger, signal: options.signal ?? new AbortController().signal, runId: 'singer-tap' };
  try {
    const selections = selectSingerStreams(await definition.discover(config, ctx), options.catalog, logger);
    // An empty selection would mean "every stream" to a source: there is simply nothing to read.
    if (selections.length === 0) return 'ok';
    const byName = new Map<string, SingerSelection & { prefix: string }>();
    for (const selection of selections) {
      byName.set(selection.configured.name, { ...selection, prefix: singerRecordPrefix(selection.configured.name) });
      writer.write(singerSchemaLine(selection.configured.name, selection.schema, selection.keyProperties, selection.bookmarkProperties));
    }
    const request = { streams: selections.map((selection) => selection.configured), state: options.state };
    for await (const message of definition.read(config, request, ctx)) {
      if (message.type === 'record') {
        const stream = byName.get(message.stream);
        if (stream === undefined) continue;
        writer.write(singerRecordLine(stream.prefix, stream.dropped.length === 0 ? message.data : without(message.data, stream.dropped)));
        metrics.count(message.stream);
        if (writer.behind) await writer.ready();
        if (writer.broken !== undefined) {
          logger.warn({}, `stdout was closed (${writer.broken.message}); stopping`);
          return 'failed';
        }
      } else if (message.type === 'state') {
        writer.writeNow(singerStateLine(message.state as JsonObject));
      } else if (message.type === 'schema') {
        const stream = byName.get(message.stream);
        if (stream !== undefined) writer.write(singerSchemaLine(message.stream, message.jsonSchema as JsonObject, message.keyProperties ?? stream.keyProperties, stream.bookmarkProperties));
      } else {
        logger.warn({}, message.reason);
      }
    }
    return 'ok';
  } catch (error) {
    io.errors(`CRITICAL ${describeError(error)}`);
    return 'failed';
  } finally {
    metrics.stop();
    await writer.end();
  }
}

function without(record: JsonObject, dropped: readonly string[]): JsonObject {
  const out = { ...record };
  for (const name of dropped) delete out[name];
  return out;
}
