import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type LineBatch, parseObjectLine, readLines } from './lines.ts';

async function collect(chunks: Array<string | Buffer>, maxLineChars?: number): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  const batches: LineBatch[] = [];
  for await (const batch of readLines(Readable.from(chunks), maxLineChars === undefined ? {} : { maxLineChars })) batches.push(batch);
  for (const batch of batches) {
    batch.lines.forEach((line, index) => {
      const number = batch.first + index;
      out.push([number, batch.tooLong.includes(number) ? '<too long>' : line]);
    });
  }
  return out;
}

describe('readLines', () => {
  it('numbers lines across chunks, drops CR before LF, keeps a last line without newline', async () => {
    expect(await collect(['a\r\nb', 'c\n', '\n', 'd'])).toEqual([
      [1, 'a'],
      [2, 'bc'],
      [3, ''],
      [4, 'd'],
    ]);
  });

  it('joins a line begun in earlier chunks, with a CR at the end of one chunk and the LF in the next', async () => {
    expect(await collect(['a', 'bc', 'd\r', '\ne\nf', 'g\r', '\n'])).toEqual([
      [1, 'abcd'],
      [2, 'e'],
      [3, 'fg'],
    ]);
    // Over the limit only once joined.
    expect(await collect(['12345', '678\nok\n'], 6)).toEqual([
      [1, '<too long>'],
      [2, 'ok'],
    ]);
  });

  it('decodes UTF-8 split inside a character', async () => {
    const bytes = Buffer.from('🇿🇲 Zambia\nÅ\n');
    expect(await collect([bytes.subarray(0, 3), bytes.subarray(3, 9), bytes.subarray(9)])).toEqual([
      [1, '🇿🇲 Zambia'],
      [2, 'Å'],
    ]);
  });

  it('reports an over-long line by number and goes on with the next, without buffering it', async () => {
    const long = 'x'.repeat(50);
    expect(await collect(['ok\n', long.slice(0, 20), long.slice(20), '\nafter\n', `${long}\nlast`], 10)).toEqual([
      [1, 'ok'],
      [2, '<too long>'],
      [3, 'after'],
      [4, '<too long>'],
      [5, 'last'],
    ]);
  });

  it('returns nothing for empty input', async () => {
    expect(await collect([])).toEqual([]);
  });
});

describe('parseObjectLine', () => {
  it('names what is wrong, and skips blank lines', () => {
    expect(parseObjectLine('   ', 3)).toBeUndefined();
    expect(parseObjectLine('{"type":', 4)).toMatchObject({ type: 'ERROR', line: 4, reason: expect.stringMatching(/^not valid JSON \(/) });
    expect(parseObjectLine('[1]', 5)).toEqual({ type: 'ERROR', line: 5, reason: 'not a JSON object' });
    expect(parseObjectLine('{"stream":"a"}', 6)).toEqual({ type: 'ERROR', line: 6, reason: 'the message has no "type"' });
    expect(parseObjectLine('{"type":"record"}', 7)).toMatchObject({ name: 'RECORD' });
  });
});
