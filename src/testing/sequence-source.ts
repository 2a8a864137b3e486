/**
 * The source the destination checks drive the engine with: records `{ id, tag, name, ...extra }` numbered
 * 1…count on one stream, a state `{ bookmarks: { conformance: { last_id } } }` every `stateEvery` records
 * and at the end, resuming after `last_id` when given state — so a killed run can pick up where its saved
 * state says. `pace` slows it down, so that a run lasts long enough to be killed in the middle.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { JsonObject, JsonValue } from '../protocol/json.ts';
import { defineSource } from '../sdk/source.ts';
import type { SourceDefinition } from '../sdk/source.ts';

export const CONFORMANCE_STREAM = 'conformance';

/** The stream's JSON Schema: the fixed fields (a test's `record` may add more). */
export const CONFORMANCE_SCHEMA = {
  type: 'object',
  properties: { id: { type: 'integer' }, tag: { type: 'string' }, name: { type: 'string' } },
  required: ['id', 'tag', 'name'],
} as const;

export interface SequenceOptions {
  readonly count: number;
  readonly tag: string;
  readonly stateEvery: number;
  readonly record?: JsonObject | undefined;
  /** Sleep `ms` after every `every` records. */
  readonly pace?: { readonly every: number; readonly ms: number } | undefined;
}

/** One test record; `{id}` in the extra fields' strings becomes the record's number. */
export function testRecord(id: number, tag: string, extra: JsonObject = {}): JsonObject {
  return { id, tag, name: `record ${id}`, ...(fillId(extra, id) as JsonObject) };
}

function fillId(value: JsonValue, id: number): JsonValue {
  if (typeof value === 'string') return value.replaceAll('{id}', String(id));
  if (Array.isArray(value)) return value.map((item) => fillId(item, id));
  if (value !== null && typeof value === 'object' && value.constructor === Object) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fillId(item, id)]));
  }
  return value;
}

/** The last id a conformance state covers (0 for none). */
export function lastIdOf(state: unknown): number {
  const bookmark = (state as { bookmarks?: { conformance?: { last_id?: unknown } } } | undefined)?.bookmarks?.conformance;
  return typeof bookmark?.last_id === 'number' ? bookmark.last_id : 0;
}

export function sequenceSource(options: SequenceOptions): SourceDefinition {
  return defineSource({
    id: 'conformance_sequence',
    title: 'Conformance sequence',
    description: 'Numbered test records for the destination conformance checks.',
    spec: z.strictObject({}),
    check: async () => ({ ok: true }),
    discover: async () => [{ name: CONFORMANCE_STREAM, jsonSchema: CONFORMANCE_SCHEMA, primaryKey: [['id']], syncModes: ['full_refresh', 'incremental'], cursorField: ['id'] }],
    async *read(_config, request) {
      for (let id = lastIdOf(request.state) + 1; id <= options.count; id++) {
        yield { type: 'record', stream: CONFORMANCE_STREAM, data: testRecord(id, options.tag, options.record) };
        if (id % options.stateEvery === 0 || id === options.count) yield { type: 'state', state: { bookmarks: { conformance: { last_id: id } } } };
        if (options.pace !== undefined && id % options.pace.every === 0) await sleep(options.pace.ms);
      }
    },
  });
}
