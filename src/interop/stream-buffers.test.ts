import { describe, expect, it } from 'vitest';
import type { SourceMessage, State } from '../sdk/source.ts';
import { StreamBuffers } from './stream-buffers.ts';

/** Feed a script of records (stream letters) and states, and describe what comes out, in order. */
function run(rows: number, script: ReadonlyArray<string | State>): string[] {
  const buffers = new StreamBuffers(rows);
  const out: SourceMessage[] = [];
  const counts = new Map<string, number>();
  for (const step of script) {
    if (typeof step === 'string') {
      const id = (counts.get(step) ?? 0) + 1;
      counts.set(step, id);
      buffers.record({ type: 'record', stream: step, data: { id } }, out);
    } else buffers.state(step, out);
  }
  buffers.flushAll(out);
  return out.map((message) => (message.type === 'record' ? `${message.stream}${String(message.data.id)}` : message.type === 'state' ? `S${String(message.state.n)}` : message.type));
}

describe('StreamBuffers', () => {
  it('reproduces the Singer SDK expectation for multiple_state_messages: states 1, 3 and 5 pass, 2 and 4 are superseded', () => {
    const script = ['a', { n: 1 }, 'a', 'b', { n: 2 }, 'a', 'b', { n: 3 }, 'a', 'a', 'b', { n: 4 }, 'b', 'b', 'b', { n: 5 }, 'a'];
    expect(run(3, script)).toEqual(['a1', 'a2', 'a3', 'S1', 'b1', 'b2', 'b3', 'S3', 'b4', 'b5', 'b6', 'a4', 'a5', 'a6', 'S5']);
  });

  it('passes a state at once when nothing is buffered, and never before the records that came before it', () => {
    expect(run(2, [{ n: 0 }, 'a', { n: 1 }, 'a', 'b', { n: 2 }])).toEqual(['S0', 'a1', 'a2', 'S1', 'b1', 'S2']);
  });

  it('keeps each stream in order and holds at most `rows` records per stream', () => {
    const out = run(1, ['a', 'b', 'a', { n: 9 }]);
    expect(out).toEqual(['a1', 'b1', 'a2', 'S9']);
  });
});
