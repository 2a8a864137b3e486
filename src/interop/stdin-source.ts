/**
 * A protocol stream on stdin as a Sluice source, so Singer and Airbyte targets run through the same engine
 * (batching, retries, ledger, ordered checkpoints) as `sluice run`.
 *
 * A decoder turns line batches into source messages: RECORD → `record` (origin: stdin and its line),
 * STATE → `state`, SCHEMA → `schema`, a malformed line → `invalid` naming the line (rejected and reported,
 * never a crash); unknown types are logged and skipped. Decoders are async generators so they can wait at
 * a barrier (ACTIVATE_VERSION) after handing over what came before it.
 *
 * The source has one pseudo-stream (`stdin`) for the engine to pick; records keep their own stream names.
 * It can be read once: stdin is consumed.
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { DEFAULT_MAX_LINE_CHARS, type LineBatch, readLines } from '../protocol/lines.ts';
import { batchedMessages } from '../engine/batched.ts';
import { type SourceDefinition, type SourceMessage, defineSource } from '../sdk/source.ts';

export type Decoder = (lines: AsyncIterable<LineBatch>) => AsyncIterable<readonly SourceMessage[]>;

/** Where input lines come from, as malformed-line messages name it. */
export const STDIN = 'stdin';

export function stdinSource(input: Readable, decode: Decoder): SourceDefinition {
  return defineSource({
    id: STDIN,
    title: 'Protocol messages on stdin',
    description: 'Singer or Airbyte messages read from standard input.',
    spec: z.strictObject({}),
    check: async () => ({ ok: true }),
    discover: async () => [{ name: STDIN, jsonSchema: { type: 'object' }, syncModes: ['full_refresh'] }],
    // An array per chunk of input, so the engine awaits once per chunk, not once per line.
    read: () => batchedMessages(() => decode(readLines(input))),
  });
}

/** A line that could not become a record, named by where it came from (`stdin`, or a child's label). */
export function invalidLine(line: number, reason: string, raw: string, stream = '', label = STDIN): SourceMessage {
  return { type: 'invalid', stream, reason: `${label} line ${line}: ${reason}`, raw, origin: { file: label, line } };
}

export function tooLongLine(line: number, label = STDIN): SourceMessage {
  return invalidLine(line, `the line is longer than ${DEFAULT_MAX_LINE_CHARS / 1024 / 1024} Mi characters and was skipped`, '', '', label);
}
