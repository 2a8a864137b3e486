/**
 * One batch to an Airbyte destination: RECORD envelopes (data from `record.json`, so numbers go out
 * exactly as serialized; `emitted_at` now), then a STREAM STATE whose `stream_state` is the batch marker
 * `{"sluice_batch": "<idempotency key>"}` with `sourceStats.recordCount`, which destinations use to check
 * they got every record. The records are delivered when the connector echoes the marker.
 *
 * The connector is started at the first batch, for that batch's stream (the configured `stream`, or the
 * first record's): Airbyte needs its streams up front, and a Sluice run reads one stream. A record of
 * another stream is rejected, naming both, rather than written under the wrong name.
 */
import { TargetSession } from '../../../interop/external/target-session.ts';
import { airbyteCount, airbyteLine, airbyteRecordPrefix, streamStatusTrace } from '../../../protocol/airbyte.ts';
import type { OutgoingRecord, WriteContext } from '../../../sdk/destination.ts';
import { type Outcome, delivered, rejected } from '../../../sdk/outcome.ts';
import type { Logger } from '../../../sdk/context.ts';
import { MARKER_KEY, airbyteProtocol, streamDescriptor } from './protocol.ts';
import type { AirbyteDestinationConfig } from './spec.ts';

export class AirbyteDestinationSession {
  private started: { readonly stream: string; readonly target: TargetSession; readonly prefix: string } | undefined;

  constructor(
    readonly config: AirbyteDestinationConfig,
    private readonly logger: Logger,
  ) {}

  /** The target for `stream`, started for it on first use; undefined when another stream got there first. */
  targetFor(stream: string): { readonly target: TargetSession; readonly prefix: string } | undefined {
    this.started ??= {
      stream,
      target: new TargetSession({ config: this.config, echoTimeoutMs: this.config.echo_timeout_ms, logger: this.logger }, airbyteProtocol(this.config, stream)),
      prefix: airbyteRecordPrefix(stream, this.config.namespace),
    };
    return this.started.stream === stream ? this.started : undefined;
  }

  get stream(): string | undefined {
    return this.started?.stream;
  }

  /**
   * After a complete run the stream is declared COMPLETE (a TRACE STREAM_STATUS, as a source would send):
   * destinations that stage an overwrite swap it in only for a complete stream. After an incomplete run
   * the connector is stopped instead (see TargetSession.close).
   */
  close(complete: boolean): Promise<void> {
    if (this.started === undefined) return Promise.resolve();
    const status = airbyteLine(streamStatusTrace(streamDescriptor(this.config, this.started.stream), 'COMPLETE'));
    return this.started.target.close(complete, `${status}\n`);
  }
}

export async function writeBatch(records: readonly OutgoingRecord[], ctx: WriteContext<AirbyteDestinationConfig, AirbyteDestinationSession>): Promise<readonly Outcome[]> {
  const { config, session } = ctx;
  const outcomes: Outcome[] = [];
  const lines: string[] = [];
  let started: ReturnType<AirbyteDestinationSession['targetFor']>;
  const emittedAt = Date.now();
  for (const record of records) {
    const stream = config.stream ?? record.stream;
    const target = session.targetFor(stream);
    if (target === undefined) {
      outcomes.push(rejected(`record of stream "${stream}": this run writes stream "${session.stream}" (one stream per run)`));
      continue;
    }
    started = target;
    lines.push(`${target.prefix}${emittedAt},"data":${record.json}}}`);
    outcomes.push(delivered());
  }
  if (started === undefined) return outcomes;
  const stream = session.stream!;
  const state = {
    type: 'STATE',
    state: { type: 'STREAM', stream: { stream_descriptor: streamDescriptor(config, stream), stream_state: { [MARKER_KEY]: ctx.idempotencyKey } }, sourceStats: { recordCount: airbyteCount(lines.length) } },
  };
  lines.push(airbyteLine(state));
  await started.target.deliver(`${lines.join('\n')}\n`, ctx.idempotencyKey, ctx.signal);
  return outcomes;
}
