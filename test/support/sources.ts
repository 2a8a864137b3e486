/**
 * A small in-process source for engine tests: N records `{ id, name }`, with a state message every
 * `stateEvery` records (`{ bookmarks: { items: { last_id } } }`), resuming after `last_id` when given state.
 * It is a real source implementation, run through the same contract as every connector.
 */
import { z } from 'zod';
import { defineSource } from '../../src/sdk/source.ts';
import type { JsonObject } from '../../src/protocol/json.ts';

export function sequenceSource(options: { count: number; stateEvery?: number; delayEvery?: number; delayMs?: number; extra?: (id: number) => JsonObject }) {
  return defineSource({
    id: 'sequence',
    title: 'Sequence',
    description: 'Numbered test records.',
    spec: z.strictObject({}),
    async check() {
      return { ok: true };
    },
    async discover() {
      return [{ name: 'items', jsonSchema: { type: 'object' }, syncModes: ['full_refresh', 'incremental'], cursorField: ['id'] }];
    },
    async *read(_config, request) {
      const bookmark = request.state?.bookmarks?.items as { last_id?: number } | undefined;
      const start = (bookmark?.last_id ?? 0) + 1;
      for (let id = start; id <= options.count; id++) {
        if (options.delayEvery !== undefined && id % options.delayEvery === 0) await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 10));
        yield { type: 'record' as const, stream: 'items', data: { id, name: `item ${id}`, ...options.extra?.(id) } };
        if (options.stateEvery !== undefined && id % options.stateEvery === 0) {
          yield { type: 'state' as const, state: { bookmarks: { items: { last_id: id } } } };
        }
      }
      yield { type: 'state' as const, state: { bookmarks: { items: { last_id: options.count } } } };
    },
  });
}
