/**
 * What the SQL sources share when reading: rows come from a dialect's `RowReader` (already converted to
 * exact JSON values) and leave as arrays of messages — records, plus state messages for incremental
 * reads — which the engine takes an array at a time (`batches()`).
 *
 * Incremental state: rows come in cursor order, and a state `{ bookmarks: { <stream>: { cursor } } }` is
 * emitted only at a boundary between two cursor values — the first one after every `stateEvery` rows —
 * and at the end. A resumed read asks for `cursor > bookmark`, so it can never skip a row that shares its
 * cursor value with the last row before the state: every such row came before the state too. Rows whose
 * cursor is null are read by the first (full) read only, and never become a bookmark.
 *
 * Reading ends promptly, returning, when the signal aborts — even while rows are on their way — and the
 * connection is let go whenever the read ends, however it ends.
 */
import { SluiceError } from '../../sdk/errors.ts';
import type { ReadRequest, SourceMessage, State } from '../../sdk/source.ts';
import { LosslessNumber } from '../../protocol/json.ts';
import type { JsonObject, JsonValue } from '../../protocol/json.ts';

export type Row = readonly JsonValue[];

export interface RowReader {
  /** The result's column names, in order. */
  readonly columns: readonly string[];
  /** The next rows (at most a fetch), converted to JSON values; undefined at the end. */
  next(): Promise<readonly Row[] | undefined>;
  /** Let go of the connection. Called once, possibly while a `next()` is pending (which may then reject). */
  close(): Promise<void>;
}

export interface ReadPlan {
  readonly stream: string;
  /** For an incremental read: the cursor column, and the bookmark to resume after (undefined: from the start). */
  readonly cursor: { readonly column: string; readonly after: JsonValue | undefined } | undefined;
  /** The state the read started from: emitted states keep its other members and other streams' bookmarks. */
  readonly state: State | undefined;
  /** Rows between states, at least (a state waits for the next boundary after them). */
  readonly stateEvery: number;
}

const CLOSE_WAIT_MS = 2000;

/**
 * Records are made and handed on at most this many rows at a time, whatever the fetch size: a slice is
 * gone before the garbage collector's young generation fills, while a whole fetch of records would
 * outlive it and be copied into the old generation (measurably more CPU and RSS per row).
 */
const SLICE_ROWS = 1000;

/** What a read of one stream does, given the request: nothing, a full refresh, or incremental from a bookmark. */
export function planRead(stream: string, cursorField: string | undefined, request: ReadRequest, stateEvery: number): ReadPlan | undefined {
  const configured = request.streams.length === 0 ? undefined : request.streams.find((entry) => entry.name === stream);
  if (request.streams.length > 0 && configured === undefined) return undefined;
  const incremental = cursorField !== undefined && (configured === undefined || configured.syncMode === 'incremental');
  if (!incremental) return { stream, cursor: undefined, state: request.state, stateEvery };
  return { stream, cursor: { column: cursorField, after: bookmarkOf(request.state, stream) }, state: request.state, stateEvery };
}

/** The cursor value saved for a stream, checked to be something a cursor can hold. */
export function bookmarkOf(state: State | undefined, stream: string): JsonValue | undefined {
  const entry = state?.bookmarks?.[stream];
  if (entry === undefined || entry === null) return undefined;
  const cursor = typeof entry === 'object' && !Array.isArray(entry) && !(entry instanceof LosslessNumber) ? entry.cursor : undefined;
  if (cursor === undefined || cursor === null) return undefined;
  if (typeof cursor === 'string' || typeof cursor === 'number' || typeof cursor === 'bigint' || cursor instanceof LosslessNumber) return cursor;
  throw new SluiceError('CONFIG_INVALID', `the saved state's bookmark for stream ${stream} is not a cursor value (expected { "cursor": <number or string> })`);
}

/** A bookmark as SQL parameter text: numbers digit for digit. */
export function bookmarkText(value: JsonValue): string {
  if (value instanceof LosslessNumber) return value.value;
  return String(value);
}

export function stateWith(base: State | undefined, stream: string, cursor: JsonValue): State {
  return { ...base, bookmarks: { ...base?.bookmarks, [stream]: { cursor } } };
}

/** The read as arrays of messages; see the module comment. */
export async function* readRows(plan: ReadPlan, open: () => Promise<RowReader>, signal: AbortSignal): AsyncGenerator<SourceMessage[]> {
  if (signal.aborted) return;
  const opening = open();
  const reader = await untilAborted(opening, signal);
  if (reader === ABORTED) {
    opening.then((late) => late.close(), () => undefined).catch(() => undefined);
    return;
  }
  try {
    assertUniqueColumns(reader.columns);
    const cursorIndex = plan.cursor === undefined ? -1 : reader.columns.indexOf(plan.cursor.column);
    if (plan.cursor !== undefined && cursorIndex === -1) {
      throw new SluiceError('CONFIG_INVALID', `cursor_field: the result of stream ${plan.stream} has no column named ${plan.cursor.column}`);
    }
    const messages = new RowMessages(plan, recordBuilder(reader.columns), cursorIndex);
    for (;;) {
      const fetched = await untilAborted(reader.next(), signal);
      if (fetched === ABORTED) return;
      if (fetched === undefined) break;
      for (let start = 0; start < fetched.length; start += SLICE_ROWS) {
        if (signal.aborted) return;
        yield messages.of(fetched.length <= SLICE_ROWS ? fetched : fetched.slice(start, start + SLICE_ROWS));
      }
    }
    const final = messages.finalState();
    if (final !== undefined) yield [final];
  } finally {
    await Promise.race([reader.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
  }
}

/** Rows to messages, a slice at a time, carrying the cursor from one slice to the next. */
class RowMessages {
  /** The cursor of the last row turned into a record; undefined before the first. */
  private previous: JsonValue | undefined;
  /** The last non-null cursor: what the final state holds. */
  private bookmark: JsonValue | undefined;
  /** Records since the last state. */
  private sinceState = 0;

  constructor(
    private readonly plan: ReadPlan,
    private readonly build: (row: Row) => JsonObject,
    private readonly cursorIndex: number,
  ) {
    this.bookmark = plan.cursor?.after;
  }

  of(rows: readonly Row[]): SourceMessage[] {
    const { stream } = this.plan;
    const { build, cursorIndex } = this;
    const out: SourceMessage[] = [];
    if (cursorIndex === -1 || rows.length === 0) {
      for (const row of rows) out.push({ type: 'record', stream, data: build(row) });
      return out;
    }
    const cursorAt = (index: number): JsonValue => (rows[index] as Row)[cursorIndex] as JsonValue;
    const last = rows.length - 1;
    const lastKey = cursorKey(cursorAt(last));
    // The start of the final run of equal cursors in this slice: the state goes just before it.
    let run = last;
    while (run > 0 && cursorKey(cursorAt(run - 1)) === lastKey) run--;
    const before = run > 0 ? cursorAt(run - 1) : this.previous;
    const due = this.sinceState + run >= this.plan.stateEvery;
    const boundary = !due || before === undefined || before === null || cursorKey(before) === lastKey ? -1 : run;
    this.sinceState = boundary === -1 ? this.sinceState + rows.length : rows.length - boundary;
    for (let i = 0; i < rows.length; i++) {
      if (i === boundary) out.push({ type: 'state', state: stateWith(this.plan.state, stream, before as JsonValue) });
      out.push({ type: 'record', stream, data: build(rows[i] as Row) });
    }
    this.previous = cursorAt(last);
    for (let i = last; i >= 0; i--) {
      const value = cursorAt(i);
      if (value !== null && value !== undefined) {
        this.bookmark = value;
        break;
      }
    }
    return out;
  }

  /** The state at the end of an incremental read, unless there never was a cursor value. */
  finalState(): SourceMessage | undefined {
    if (this.plan.cursor === undefined || this.bookmark === undefined) return undefined;
    return { type: 'state', state: stateWith(this.plan.state, this.plan.stream, this.bookmark) };
  }
}

/** Equal cursor values have equal keys (exact decimals compare by their digits). */
function cursorKey(value: JsonValue | undefined): unknown {
  return value instanceof LosslessNumber ? `decimal:${value.value}` : value;
}

export function assertUniqueColumns(columns: readonly string[]): void {
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column)) {
      throw new SluiceError('CONFIG_INVALID', `the result has two columns named ${column}; give them distinct names (select a.${column} as a_${column}, …)`);
    }
    seen.add(column);
  }
}

/**
 * A function turning a row array into a record object, compiled once per read: an object literal of a
 * fixed shape is built several times faster than one filled key by key. Keys are JSON string literals;
 * `__proto__` is written as a computed key so it stays an ordinary property.
 */
export function recordBuilder(columns: readonly string[]): (row: Row) => JsonObject {
  const members = columns.map((name, index) => {
    const key = JSON.stringify(name);
    return `${name === '__proto__' ? `[${key}]` : key}: r[${index}]`;
  });
  return new Function('r', `return { ${members.join(', ')} };`) as (row: Row) => JsonObject;
}

const ABORTED: unique symbol = Symbol('aborted');

/** The promise's value, or ABORTED as soon as the signal aborts (the promise's later failure is ignored). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.resolve(ABORTED);
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => undefined);
      resolve(ABORTED);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export interface BatchedMessages extends AsyncIterable<SourceMessage> {
  batches(): AsyncIterator<readonly SourceMessage[]>;
}

/**
 * Messages an array at a time for the engine (which looks for `batches()`: one await per array, not per
 * message), and one at a time for any other consumer. The same shape as the engine's `batchedMessages`,
 * kept here because connectors depend on the SDK, not on the engine.
 */
export function batchedMessages(open: () => AsyncIterable<readonly SourceMessage[]>): BatchedMessages {
  return {
    batches: () => open()[Symbol.asyncIterator](),
    async *[Symbol.asyncIterator]() {
      for await (const batch of open()) yield* batch;
    },
  };
}
