/**
 * The Singer messages the external checks send a target — SCHEMA, RECORD and STATE for the conformance
 * stream, plus messages a target must tolerate without knowing them — and how to read the states a target
 * echoes on stdout (the bare state value, as Singer targets print it; a wrapped `{type: STATE}` is accepted).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonObject } from '../../protocol/json.ts';
import { CONFORMANCE_STREAM, lastIdOf, testRecord } from '../sequence-source.ts';
import type { CommandRun } from './process.ts';

export const SCHEMA_MESSAGE = {
  type: 'SCHEMA',
  stream: CONFORMANCE_STREAM,
  schema: { type: 'object', properties: { id: { type: 'integer' }, tag: { type: 'string' }, name: { type: 'string' } } },
  key_properties: ['id'],
};

/** Messages a Singer target must let pass: a type it does not know, and one it may not implement. */
export const UNKNOWN_MESSAGES = [
  { type: 'SLUICE_CONFORMANCE_UNKNOWN', note: 'a message type from a newer protocol version; ignore it' },
  { type: 'ACTIVATE_VERSION', stream: CONFORMANCE_STREAM, version: 1 },
];

export interface Feed {
  readonly from: number;
  readonly to: number;
  readonly tag: string;
  readonly stateEvery: number;
  readonly record?: JsonObject | undefined;
  /** Interleave unknown messages (and an unknown field on records). */
  readonly unknown?: boolean;
  /** Pause after each state, so the target gets to emit states while input still flows. */
  readonly pauseMs?: number;
  /** Send the SCHEMA message first (default); off when continuing a stream already started. */
  readonly schema?: boolean;
}

export async function feed(run: CommandRun, input: Feed): Promise<void> {
  if (input.schema !== false) await run.send(JSON.stringify(SCHEMA_MESSAGE));
  for (let id = input.from; id <= input.to; id++) {
    const record = testRecord(id, input.tag, input.record);
    await run.send(JSON.stringify(input.unknown ? { type: 'RECORD', stream: CONFORMANCE_STREAM, record, sluice_unknown_field: true } : { type: 'RECORD', stream: CONFORMANCE_STREAM, record }));
    if (input.unknown && id % 7 === 0) for (const message of UNKNOWN_MESSAGES) await run.send(JSON.stringify(message));
    if (id % input.stateEvery === 0 || id === input.to) {
      await run.send(JSON.stringify({ type: 'STATE', value: { bookmarks: { conformance: { last_id: id } } } }));
      if (input.pauseMs !== undefined) await sleep(input.pauseMs);
    }
  }
}

/** The last id of a state line a target printed; undefined when the line is not JSON. */
export function emittedLastId(line: string): number | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const wrapped = value as { type?: unknown; value?: unknown } | null;
  return lastIdOf(wrapped?.type === 'STATE' ? wrapped.value : value);
}
