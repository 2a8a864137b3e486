/**
 * A small in-process source for engine tests: N records `{ id, name }`, with a state message every
 * `stateEvery` records (`{ bookmarks: { items: { last_id } } }`), resuming after `last_id` when given state.
 * It is a real source implementation, run through the same contract as every connector.
 *
 * For the diff sync modes: `fullRefresh` makes it read everything every time (it offers no incremental
 * mode, so it ignores state), `primaryKey` declares `id` as the stream's key, `skip` leaves ids out (rows
 * that vanished), `extra` changes or adds fields, and `schema` is the stream's JSON Schema.
 */
import { z } from 'zod';
import { defineSource } from '../../src/sdk/source.ts';
import type { JsonObject } from '../../src/protocol/json.ts';
import type { JsonSchema } from '../../src/sdk/spec.ts';

export interface SequenceSourceOptions {
  count: number;
  stateEvery?: number;
  delayEvery?: number;
  delayMs?: number;
  extra?: (id: number) => JsonObject;
  fullRefresh?: boolean;
  primaryKey?: boolean;
  skip?: (id: number) => boolean;
  schema?: JsonSchema;
}

export function sequenceSource(options: SequenceSourceOptions) {
  return defineSource({
    id: 'sequence',
    title: 'Sequence',
    description: 'Numbered test records.',
    spec: z.strictObject({}),
    async check() {
      return { ok: true };
    },
    async discover() {
      return [
        {
          name: 'items',
          jsonSchema: options.schema ?? { type: 'object' },
          ...(options.primaryKey ? { primaryKey: [['id']] } : {}),
          ...(options.fullRefresh ? { syncModes: ['full_refresh' as const] } : { syncModes: ['full_refresh' as const, 'incremental' as const], cursorField: ['id'] }),
        },
      ];
    },
    async *read(_config, request) {
      const bookmark = options.fullRefresh ? undefined : (request.state?.bookmarks?.items as { last_id?: number } | undefined);
      const start = (bookmark?.last_id ?? 0) + 1;
      for (let id = start; id <= options.count; id++) {
        if (options.delayEvery !== undefined && id % options.delayEvery === 0) await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 10));
        if (options.skip?.(id) !== true) yield { type: 'record' as const, stream: 'items', data: { id, name: `item ${id}`, ...options.extra?.(id) } };
        if (options.stateEvery !== undefined && id % options.stateEvery === 0) {
          yield { type: 'state' as const, state: { bookmarks: { items: { last_id: id } } } };
        }
      }
      yield { type: 'state' as const, state: { bookmarks: { items: { last_id: options.count } } } };
    },
  });
}
