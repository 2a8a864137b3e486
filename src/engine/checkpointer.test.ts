import { describe, expect, it } from 'vitest';
import { Checkpointer } from './checkpointer.ts';

describe('Checkpointer', () => {
  it('commits a state only after every record before it settles, in order', () => {
    const committed: unknown[] = [];
    const checkpointer = new Checkpointer(undefined, (state) => committed.push(state));
    const a = checkpointer.addRecord();
    const b = checkpointer.addRecord();
    checkpointer.addState({ bookmarks: { s: 1 } });
    const c = checkpointer.addRecord();
    checkpointer.addState({ bookmarks: { s: 2 } });
    checkpointer.settle(c); // later segment settles first: must not commit yet
    expect(committed).toEqual([]);
    checkpointer.settle(a);
    expect(committed).toEqual([]);
    checkpointer.settle(b);
    expect(committed).toEqual([{ bookmarks: { s: 1 } }, { bookmarks: { s: 2 } }]);
    expect(checkpointer.state).toEqual({ bookmarks: { s: 2 } });
  });

  it('commits a state with no records before it at once, and keeps the initial state otherwise', () => {
    const checkpointer = new Checkpointer({ bookmarks: { s: 0 } });
    const record = checkpointer.addRecord();
    expect(checkpointer.state).toEqual({ bookmarks: { s: 0 } });
    checkpointer.settle(record);
    checkpointer.addState({ bookmarks: { s: 5 } });
    expect(checkpointer.state).toEqual({ bookmarks: { s: 5 } });
  });

  it('refuses to settle a record twice', () => {
    const checkpointer = new Checkpointer(undefined);
    const record = checkpointer.addRecord();
    checkpointer.settle(record);
    expect(() => checkpointer.settle(record)).toThrow(/settled too often/);
  });
});
