/**
 * Sluice source state ↔ Airbyte state, for `sluice airbyte source/<id> read`.
 *
 * Sluice sources keep Singer-style state, `{ bookmarks: { <stream>: {…} }, …}`. Out, it becomes per-stream
 * STREAM states — one for each stream whose bookmark changed — when the state is only object bookmarks;
 * anything else becomes one GLOBAL state whose `shared_state` is the whole Sluice state. In (`--state F`),
 * the platform's array of STREAM/GLOBAL states (or a legacy blob) is turned back the same way, so a state
 * read by `read` round-trips exactly.
 */
import { streamDescriptor, streamKey } from '../protocol/airbyte.ts';
import { type JsonObject, type JsonValue, stringifyJson } from '../protocol/json.ts';
import { isObject } from '../protocol/lines.ts';
import type { State } from '../sdk/source.ts';

/** A `--state` file's contents as the Sluice state a source resumes from. */
export function stateFromAirbyte(input: JsonValue): State | undefined {
  if (Array.isArray(input)) {
    if (input.length === 0) return undefined;
    let shared: JsonObject = {};
    const bookmarks: JsonObject = {};
    for (const item of input) {
      const state = isObject(item) && item.type === 'STATE' && isObject(item.state) ? item.state : item;
      if (!isObject(state)) continue;
      const type = typeof state.type === 'string' ? state.type.toUpperCase() : 'LEGACY';
      if (type === 'STREAM' && isObject(state.stream)) addStream(bookmarks, state.stream);
      else if (type === 'GLOBAL' && isObject(state.global)) {
        if (isObject(state.global.shared_state)) shared = state.global.shared_state;
        for (const entry of Array.isArray(state.global.stream_states) ? state.global.stream_states : []) if (isObject(entry)) addStream(bookmarks, entry);
      } else if (isObject(state.data)) shared = state.data;
    }
    const own = isObject(shared.bookmarks) ? shared.bookmarks : {};
    return (Object.keys(bookmarks).length > 0 ? { ...shared, bookmarks: { ...bookmarks, ...own } } : shared) as State;
  }
  if (!isObject(input)) return undefined;
  // Legacy: the blob itself, or `{"type": "LEGACY", "data": …}` / `{"data": …}`.
  return (isObject(input.data) && Object.keys(input).every((key) => key === 'data' || key === 'type') ? input.data : input) as State;
}

function addStream(bookmarks: JsonObject, stream: JsonObject): void {
  const descriptor = isObject(stream.stream_descriptor) ? stream.stream_descriptor : {};
  if (typeof descriptor.name !== 'string' || stream.stream_state === undefined) return;
  bookmarks[streamKey(descriptor.name, typeof descriptor.namespace === 'string' ? descriptor.namespace : undefined)] = stream.stream_state;
}

export interface AirbyteStateOut {
  /** The stream a STREAM state is for; absent for GLOBAL. */
  readonly stream?: string;
  readonly state: JsonObject;
}

/** Turns each Sluice state a source yields into the Airbyte states that say what changed. */
export class AirbyteStateWriter {
  private readonly last = new Map<string, string>();

  constructor(private readonly descriptors: ReadonlyMap<string, JsonObject>) {}

  /** Remember the bookmarks the read started from, so unchanged streams are not re-sent. */
  seed(state: State | undefined): void {
    for (const [stream, value] of Object.entries(state?.bookmarks ?? {})) this.last.set(stream, stringifyJson(value));
  }

  toAirbyte(state: State): AirbyteStateOut[] {
    const bookmarks = state.bookmarks;
    const perStream = Object.keys(state).every((key) => key === 'bookmarks') && isObject(bookmarks) && Object.values(bookmarks).every(isObject);
    if (!perStream) {
      const streamStates = Object.entries(isObject(bookmarks) ? bookmarks : {})
        .filter(([, value]) => isObject(value))
        .map(([stream, value]) => ({ stream_descriptor: this.descriptor(stream), stream_state: value as JsonValue }));
      return [{ state: { type: 'GLOBAL', global: { shared_state: state as JsonObject, stream_states: streamStates } } }];
    }
    const out: AirbyteStateOut[] = [];
    for (const [stream, value] of Object.entries(bookmarks as JsonObject)) {
      const text = stringifyJson(value);
      if (this.last.get(stream) === text) continue;
      this.last.set(stream, text);
      out.push({ stream, state: streamState(this.descriptor(stream), value) });
    }
    return out;
  }

  /** A STREAM state carrying a stream's state unchanged (or `{}`): "this stream is read to the end". */
  final(stream: string, state: State | undefined): AirbyteStateOut {
    const value = state?.bookmarks?.[stream];
    return { stream, state: streamState(this.descriptor(stream), isObject(value) ? value : {}) };
  }

  private descriptor(stream: string): JsonObject {
    return this.descriptors.get(stream) ?? streamDescriptor(stream);
  }
}

function streamState(descriptor: JsonObject, value: JsonValue): JsonObject {
  return { type: 'STREAM', stream: { stream_descriptor: descriptor, stream_state: value } };
}
