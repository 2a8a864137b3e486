/**
 * One batch to a Singer target: a SCHEMA the first time a stream is seen, the RECORD lines (built from
 * `record.json`, so numbers go out exactly as serialized), then a STATE whose value is the batch marker
 * `{"sluice_batch": "<idempotency key>"}`. The records are delivered when the target prints the marker
 * back; a target that crashes or stays silent fails the run instead (target-session.ts).
 */
import type { TargetSession } from '../../../interop/external/target-session.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import { singerRecordPrefix, singerSchemaLine, singerStateLine } from '../../../protocol/singer.ts';
import type { OutgoingRecord, WriteContext } from '../../../sdk/destination.ts';
import { type Outcome, allOutcomes, delivered } from '../../../sdk/outcome.ts';
import { MARKER_KEY } from './protocol.ts';
import type { SingerTargetConfig } from './spec.ts';

export interface SingerTargetSession {
  readonly target: TargetSession;
  /** Streams whose SCHEMA has been sent, with their RECORD line prefix. */
  readonly prefixes: Map<string, string>;
}

export async function writeBatch(records: readonly OutgoingRecord[], ctx: WriteContext<SingerTargetConfig, SingerTargetSession>): Promise<readonly Outcome[]> {
  const { config, session } = ctx;
  const lines: string[] = [];
  for (const record of records) {
    const stream = config.stream ?? record.stream;
    let prefix = session.prefixes.get(stream);
    if (prefix === undefined) {
      prefix = singerRecordPrefix(stream);
      session.prefixes.set(stream, prefix);
      lines.push(singerSchemaLine(stream, config.schema as JsonObject, config.key_properties));
    }
    lines.push(`${prefix}${record.json}}`);
  }
  lines.push(singerStateLine({ [MARKER_KEY]: ctx.idempotencyKey }));
  await session.target.deliver(`${lines.join('\n')}\n`, ctx.idempotencyKey, ctx.signal);
  return allOutcomes(records.length, delivered());
}
