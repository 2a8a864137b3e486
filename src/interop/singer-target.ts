/**
 * `sluice singer target <destination>`: a Sluice destination as a Singer target. Singer messages on stdin
 * go through the engine into the destination; each STATE's bare value is printed on stdout — in order, and
 * only once every record before it has been delivered or rejected — so an orchestrator (Meltano) that
 * saves the last line it sees can never save a bookmark past an undelivered record.
 *
 * A state equal to the one printed just before it is not printed again (Singer SDK targets do the same).
 * Rejected records and malformed lines are logged on stderr, with their line number; they do not fail the
 * run. Metrics (`record_count` per stream) go to stderr. See docs/interop.md.
 */
import { stringifyJson } from '../protocol/json.ts';
import type { DestinationDefinition } from '../sdk/destination.ts';
import { describeError } from '../sdk/errors.ts';
import type { State } from '../sdk/source.ts';
import { Barriers } from './barriers.ts';
import { type ExitStatus, type ProtocolIo, exitStatusOf } from './io.ts';
import { LineWriter } from './line-writer.ts';
import { type LogLevel, singerLogger } from './logs.ts';
import { singerDecoder } from './singer-input.ts';
import { RecordMetrics } from './singer-metrics.ts';
import { stdinSource } from './stdin-source.ts';
import { chooseObject, runTarget } from './target-run.ts';

export interface SingerTargetOptions {
  readonly object?: string;
  /** Buffer this many records per stream before writing, like Singer SDK targets (see stream-buffers.ts). */
  readonly batchSizeRows?: number;
  readonly ledgerPath?: string;
  readonly logLevel?: LogLevel;
  readonly signal?: AbortSignal;
  readonly metricsIntervalMs?: number;
}

export async function runSingerTarget(definition: DestinationDefinition, config: unknown, io: ProtocolIo, options: SingerTargetOptions = {}): Promise<ExitStatus> {
  const object = chooseObject(definition, options.object);
  if ('error' in object) {
    io.errors(`error: ${object.error}`);
    return 'usage';
  }
  const logger = singerLogger(io.errors, options.logLevel);
  const writer = new LineWriter(io.output);
  const barriers = new Barriers();
  const metrics = new RecordMetrics(io.errors, options.metricsIntervalMs);
  let lastEcho: string | undefined;
  const echo = (state: State, recordCount: number) => {
    if (barriers.committed(state, recordCount)) return;
    const line = stringifyJson(state.value);
    if (line === lastEcho) return;
    lastEcho = line;
    writer.writeNow(line);
  };
  const decode = singerDecoder({
    logger,
    barriers,
    counted: (stream) => metrics.count(stream),
    ...(options.batchSizeRows === undefined ? {} : { batchSizeRows: options.batchSizeRows }),
  });
  try {
    const summary = await runTarget({
      destination: definition,
      config,
      object: object.name,
      source: stdinSource(io.input, decode),
      logger,
      reportReject: (text) => io.errors(`WARNING ${text}`),
      ...(options.ledgerPath === undefined ? {} : { ledgerPath: options.ledgerPath }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onStateCommitted: echo,
    });
    if (summary.error !== undefined) io.errors(`CRITICAL ${summary.error}`);
    return exitStatusOf(summary);
  } catch (error) {
    io.errors(`CRITICAL ${describeError(error)}`);
    return 'failed';
  } finally {
    barriers.releaseAll();
    metrics.stop();
    await writer.end();
  }
}
