/**
 * `sluice airbyte source/<id> read`: a Sluice source as an Airbyte source. Reads the streams of the
 * configured catalog (with its sync modes, cursor fields and primary keys) and writes, on stdout:
 * TRACE STREAM_STATUS STARTED for each stream, RUNNING at its first record, RECORD envelopes with
 * `emitted_at`, STATE messages (see airbyte-state.ts) with `sourceStats.recordCount`, and COMPLETE at the end.
 *
 * Every stream ends with a state after its last record, even when the source keeps none (full refresh):
 * it carries the stream's bookmark unchanged, or `{}`, and tells the destination that everything before
 * it may be committed. Malformed input lines are LOG WARN messages; a failure is a TRACE ERROR
 * (`config_error` or `system_error`), INCOMPLETE for the streams begun, and exit 1.
 */
import { airbyteCount, airbyteLine, airbyteRecordLine, airbyteRecordPrefix, errorTrace, streamDescriptor, streamStatusTrace } from '../protocol/airbyte.ts';
import type { JsonObject, JsonValue } from '../protocol/json.ts';
import { SluiceError, describeError } from '../sdk/errors.ts';
import type { SourceDefinition } from '../sdk/source.ts';
import type { ConfiguredCatalog } from './airbyte-catalog.ts';
import { type AirbyteStateOut, AirbyteStateWriter, stateFromAirbyte } from './airbyte-state.ts';
import { selectAirbyteStreams } from './airbyte-streams.ts';
import type { ExitStatus, ProtocolIo } from './io.ts';
import { LineWriter } from './line-writer.ts';
import { type LogLevel, airbyteLogger } from './logs.ts';

export interface AirbyteReadOptions {
  readonly logLevel?: LogLevel;
  readonly signal?: AbortSignal;
}

export async function runAirbyteRead(
  definition: SourceDefinition,
  config: unknown,
  catalog: ConfiguredCatalog,
  stateInput: JsonValue | undefined,
  io: Pick<ProtocolIo, 'output'>,
  options: AirbyteReadOptions = {},
): Promise<ExitStatus> {
  const writer = new LineWriter(io.output);
  const logger = airbyteLogger(writer, options.logLevel);
  const ctx = { logger, signal: options.signal ?? new AbortController().signal, runId: 'airbyte-read' };
  const started: string[] = [];
  const status = (stream: string, value: 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE') => writer.writeNow(airbyteLine(streamStatusTrace(streamDescriptor(stream), value)));
  try {
    const discovered = await definition.discover(config, ctx);
    const streams = selectAirbyteStreams(catalog, discovered, logger);
    const names = new Set(streams.map((stream) => stream.name));
    // An empty selection would mean "every stream" to a source: there is simply nothing to read.
    if (names.size === 0) return 'ok';
    let latest = stateFromAirbyte(stateInput ?? null);
    const states = new AirbyteStateWriter(new Map(streams.map((stream) => [stream.name, streamDescriptor(stream.name)])));
    states.seed(latest);
    const counts = new Counts(names);
    let usedGlobal = false;
    const emitState = (out: AirbyteStateOut) => {
      usedGlobal ||= out.stream === undefined;
      const recordCount = counts.take(out.stream);
      writer.writeNow(airbyteLine({ type: 'STATE', state: { ...out.state, sourceStats: { recordCount: airbyteCount(recordCount) } } }));
    };
    for (const stream of names) {
      started.push(stream);
      status(stream, 'STARTED');
    }
    const prefixes = new Map<string, string>();
    for await (const message of definition.read(config, { streams, state: latest }, ctx)) {
      if (message.type === 'record') {
        if (!names.has(message.stream)) continue;
        let prefix = prefixes.get(message.stream);
        if (prefix === undefined) {
          status(message.stream, 'RUNNING');
          prefix = airbyteRecordPrefix(message.stream);
          prefixes.set(message.stream, prefix);
        }
        writer.write(airbyteRecordLine(prefix, Date.now(), message.data));
        counts.add(message.stream);
        if (writer.behind) await writer.ready();
        if (writer.broken !== undefined) return 'failed';
      } else if (message.type === 'state') {
        latest = message.state;
        for (const out of states.toAirbyte(message.state)) emitState(out);
      } else if (message.type === 'invalid') {
        logger.warn({}, message.reason);
      }
    }
    // Each stream ends with a state after its last record (see the module comment).
    const pending = [...names].filter((stream) => counts.needsState(stream));
    if (pending.length > 0 && usedGlobal && latest !== undefined) {
      // The source speaks in GLOBAL states: close with its latest one (Airbyte forbids mixing the kinds).
      for (const out of states.toAirbyte(latest)) emitState(out);
    } else {
      for (const stream of pending) emitState(states.final(stream, latest));
    }
    for (const stream of names) status(stream, 'COMPLETE');
    return 'ok';
  } catch (error) {
    // The error's own retry class says whose move it is: config/auth → the user's (config_error).
    const configError = error instanceof SluiceError && (error.retryClass === 'config' || error.retryClass === 'auth');
    writer.writeNow(airbyteLine(errorTrace(describeError(error), configError ? 'config_error' : 'system_error')));
    for (const stream of started) status(stream, 'INCOMPLETE');
    return 'failed';
  } finally {
    await writer.end();
  }
}

/** Records per stream since the stream's last state; a GLOBAL state (no stream) covers them all. */
class Counts {
  private readonly since = new Map<string, number>();
  private readonly stated = new Set<string>();

  constructor(private readonly streams: ReadonlySet<string>) {}

  add(stream: string): void {
    this.since.set(stream, (this.since.get(stream) ?? 0) + 1);
  }

  /** The records a state for this stream (or all, for GLOBAL) covers; they count as covered from now. */
  take(stream: string | undefined): number {
    let total = 0;
    for (const name of stream === undefined ? this.streams : [stream]) {
      total += this.since.get(name) ?? 0;
      this.since.set(name, 0);
      this.stated.add(name);
    }
    return total;
  }

  needsState(stream: string): boolean {
    return !this.stated.has(stream) || (this.since.get(stream) ?? 0) > 0;
  }
}
