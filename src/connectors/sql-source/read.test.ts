/**
 * The shared read loop of the SQL sources, on rows from a fake reader (no server needed): states only at
 * cursor boundaries, null cursors, other bookmarks kept, stream selection, and stopping on abort.
 */
import { describe, expect, it } from 'vitest';
import type { SourceMessage, State } from '../../sdk/source.ts';
import { ExactDecimal } from '../../protocol/json.ts';
import type { JsonValue } from '../../protocol/json.ts';
import { type Row, type RowReader, bookmarkOf, planRead, readRows, recordBuilder } from './read.ts';

function fakeReader(fetches: Row[][], columns = ['id', 'c']): RowReader & { closed: boolean } {
  const queue = [...fetches];
  const reader = {
    columns,
    closed: false,
    next: async () => queue.shift(),
    close: async () => {
      reader.closed = true;
    },
  };
  return reader;
}

async function collect(fetches: Row[][], options: { state?: State; stateEvery?: number; cursor?: boolean } = {}): Promise<SourceMessage[]> {
  const plan = planRead('s', options.cursor === false ? undefined : 'c', { streams: [], state: options.state }, options.stateEvery ?? 1);
  const out: SourceMessage[] = [];
  for await (const batch of readRows(plan!, async () => fakeReader(fetches), new AbortController().signal)) out.push(...batch);
  return out;
}

/** `id` for a record, `|cursor` for a state. */
function shape(messages: readonly SourceMessage[]): string {
  return messages
    .map((m) => (m.type === 'record' ? String(m.data.id) : m.type === 'state' ? `|${String((m.state.bookmarks?.s as { cursor: JsonValue }).cursor)}` : '?'))
    .join(' ');
}

describe('readRows', () => {
  it('puts states only between two cursor values, never inside a run of equal ones', async () => {
    const fetches: Row[][] = [
      [
        [1, 10],
        [2, 10],
        [3, 20],
      ],
      [
        [4, 20],
        [5, 20],
      ],
      [
        [6, 30],
        [7, 30],
      ],
    ];
    expect(shape(await collect(fetches))).toBe('1 2 |10 3 4 5 |20 6 7 |30');
    // With states due only every 4 rows, the first boundary after them is taken.
    expect(shape(await collect(fetches, { stateEvery: 4 }))).toBe('1 2 3 4 5 |20 6 7 |30');
  });

  it('never makes a null cursor a bookmark, whether nulls come first or last', async () => {
    expect(
      shape(
        await collect([
          [
            [1, null],
            [2, null],
            [3, 5],
          ],
          [[4, 6]],
        ]),
      ),
    ).toBe('1 2 3 |5 4 |6');
    expect(
      shape(
        await collect([
          [
            [1, 5],
            [2, null],
          ],
          [[3, null]],
        ]),
      ),
    ).toBe('1 |5 2 3 |5');
  });

  it('compares exact decimals by their digits, and keeps the rest of the state', async () => {
    const big = new ExactDecimal('12345678901234567890.5');
    const messages = await collect(
      [
        [
          [1, big],
          [2, new ExactDecimal('12345678901234567890.5')],
        ],
      ],
      { state: { bookmarks: { other: { cursor: 1 } }, version: 2 } },
    );
    expect(shape(messages)).toBe('1 2 |12345678901234567890.5');
    expect(messages.at(-1)).toEqual({ type: 'state', state: { bookmarks: { other: { cursor: 1 }, s: { cursor: big } }, version: 2 } });
  });

  it('keeps the old bookmark when nothing new came, and emits no state for a full refresh', async () => {
    expect(shape(await collect([], { state: { bookmarks: { s: { cursor: 7 } } } }))).toBe('|7');
    expect(shape(await collect([[[1, 10]]], { cursor: false }))).toBe('1');
  });

  it('reads nothing when the selection leaves the stream out, and incremental only when asked', () => {
    expect(planRead('s', 'c', { streams: [{ name: 'other', syncMode: 'incremental' }], state: undefined }, 10)).toBeUndefined();
    expect(planRead('s', 'c', { streams: [{ name: 's', syncMode: 'full_refresh' }], state: { bookmarks: { s: { cursor: 1 } } } }, 10)?.cursor).toBeUndefined();
    expect(planRead('s', 'c', { streams: [{ name: 's', syncMode: 'incremental' }], state: { bookmarks: { s: { cursor: 1 } } } }, 10)?.cursor).toEqual({ column: 'c', after: 1 });
    expect(() => bookmarkOf({ bookmarks: { s: { cursor: [1] } } }, 's')).toThrow(/not a cursor value/);
  });

  it('returns as soon as the signal aborts, and lets go of the reader', async () => {
    const controller = new AbortController();
    let release: (() => void) | undefined;
    const reader: RowReader & { closed: boolean } = {
      columns: ['id', 'c'],
      closed: false,
      next: () => new Promise((resolve) => (release = () => resolve(undefined))),
      close: async () => {
        reader.closed = true;
      },
    };
    const plan = planRead('s', undefined, { streams: [], state: undefined }, 10)!;
    const iterator = readRows(plan, async () => reader, controller.signal);
    const pending = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(reader.closed).toBe(true);
    release?.();
  });

  it('builds records with __proto__ as an ordinary column', () => {
    const build = recordBuilder(['id', '__proto__', 'we"ird']);
    const record = build([1, 'x', 2]);
    expect(Object.keys(record)).toEqual(['id', '__proto__', 'we"ird']);
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
  });

  it('refuses duplicate column names, naming the column', async () => {
    const plan = planRead('s', undefined, { streams: [], state: undefined }, 10)!;
    const reading = readRows(plan, async () => fakeReader([], ['id', 'id']), new AbortController().signal).next();
    await expect(reading).rejects.toThrow(/two columns named id/);
  });
});
