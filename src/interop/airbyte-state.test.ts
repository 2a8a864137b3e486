import { describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from '../protocol/json.ts';
import { AirbyteStateWriter, stateFromAirbyte } from './airbyte-state.ts';

const descriptors = new Map([['orders', { name: 'orders' }]]);

describe('Airbyte state', () => {
  it('per-stream bookmarks go out as STREAM states, only for streams that changed', () => {
    const writer = new AirbyteStateWriter(descriptors);
    writer.seed({ bookmarks: { orders: { at: 1 } } });
    expect(writer.toAirbyte({ bookmarks: { orders: { at: 1 }, users: { at: 5 } } })).toEqual([
      { stream: 'users', state: { type: 'STREAM', stream: { stream_descriptor: { name: 'users' }, stream_state: { at: 5 } } } },
    ]);
    expect(writer.toAirbyte({ bookmarks: { orders: { at: 2 }, users: { at: 5 } } }).map((out) => out.stream)).toEqual(['orders']);
  });

  it('anything else goes out as one GLOBAL state holding the whole Sluice state', () => {
    const writer = new AirbyteStateWriter(descriptors);
    const [out] = writer.toAirbyte({ bookmarks: { orders: 'cursor-7' }, version: 2 });
    expect(out).toEqual({ state: { type: 'GLOBAL', global: { shared_state: { bookmarks: { orders: 'cursor-7' }, version: 2 }, stream_states: [] } } });
  });

  it('reads back what it wrote, exactly, and the legacy forms', () => {
    const state = parseJson('{"bookmarks":{"orders":{"id":12345678901234567890}}}') as never;
    const streamOut = new AirbyteStateWriter(descriptors).toAirbyte(state).map((out) => out.state);
    expect(stringifyJson(stateFromAirbyte(streamOut))).toBe('{"bookmarks":{"orders":{"id":12345678901234567890}}}');
    const global = { bookmarks: { orders: 'x' }, version: 2 };
    expect(stateFromAirbyte(new AirbyteStateWriter(descriptors).toAirbyte(global).map((out) => out.state))).toEqual(global);
    expect(stateFromAirbyte({ type: 'LEGACY', data: { cursor: 3 } })).toEqual({ cursor: 3 });
    expect(stateFromAirbyte({ cursor: 3 })).toEqual({ cursor: 3 });
    expect(stateFromAirbyte([{ type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name: 'u', namespace: 'n' }, stream_state: { a: 1 } } } }])).toEqual({
      bookmarks: { 'n.u': { a: 1 } },
    });
    expect(stateFromAirbyte([])).toBeUndefined();
  });
});
