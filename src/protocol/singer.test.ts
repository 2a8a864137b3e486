import { describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from './json.ts';
import { parseSingerLine, singerMetricLine, singerRecordLine, singerRecordPrefix, singerSchemaLine, singerStateLine } from './singer.ts';

describe('parseSingerLine', () => {
  it('matches types case-insensitively and ignores unknown fields', () => {
    expect(parseSingerLine('{"type":"record","stream":"s","record":{"id":1},"time_extracted":"2025-01-01T00:00:00Z","extra":true}', 1)).toEqual({
      type: 'RECORD',
      stream: 's',
      record: { id: 1 },
      json: '{"id":1}',
    });
    expect(parseSingerLine('{"type":"Schema","stream":"s","schema":{"type":"object"},"key_properties":["id"],"bookmark_properties":["u"]}', 2)).toEqual({
      type: 'SCHEMA',
      stream: 's',
      schema: { type: 'object' },
      keyProperties: ['id'],
      bookmarkProperties: ['u'],
    });
  });

  it("passes on a record as the text it came as, only when that text is exactly the record", () => {
    const json = (text: string) => (parseSingerLine(text, 1) as { json?: string }).json;
    // Exact numbers and non-ASCII kept as written; nested objects and arrays; members after the record.
    expect(json('{"type":"RECORD","stream":"s","record":{"n":12345678901234567890,"d":0.1000000000000000000001,"f":2.0,"e":"🇿🇲","o":{"a":[1,{"b":null}]}},"time_extracted":"x"}')).toBe(
      '{"n":12345678901234567890,"d":0.1000000000000000000001,"f":2.0,"e":"🇿🇲","o":{"a":[1,{"b":null}]}}',
    );
    // Strings holding quotes, braces and the key itself; escapes kept as written (they mean the same).
    expect(json('{"type":"RECORD","stream":"x\\\",\\\"record\\\":{","record":{"s":"}\\\"record\\\":{\\\\","u":"\\u00e9"}}')).toBe('{"s":"}\\\"record\\\":{\\\\","u":"\\u00e9"}');
    // The record JSON.parse keeps is the last one; a nested "record" key is not the envelope's.
    expect(json('{"type":"RECORD","meta":{"record":{"z":1}},"stream":"s","record":{"a":1},"record":{"b":2}}')).toBe('{"b":2}');
    // Not passed on: whitespace between tokens, duplicate keys (at any depth).
    expect(json('{"type":"RECORD","stream":"s","record":{"a":1, "b":2}}')).toBeUndefined();
    expect(json('{"type":"RECORD", "stream":"s", "record":{"a":1}}')).toBe('{"a":1}');
    expect(json('{"type":"RECORD","stream":"s","record":{"a":1,"a":2}}')).toBeUndefined();
    expect(json('{"type":"RECORD","stream":"s","record":{"a":{"b":1,"b":2}}}')).toBeUndefined();
    expect(json('{"type":"RECORD","stream":"s","record": {"a":1}}')).toBeUndefined();
  });

  it('reads a line inside its chunk of input as it reads the line alone', () => {
    const lines = ['{"type":"RECORD","stream":"s","record":{"a":"x\\"y","n":12345678901234567890}}', '{"type":"RECORD","stream":"s","record":{"b":[1]},"v":"{"}', '{"type":"RECORD","stream":"s","record":{"c":1'];
    const chunk = `${lines.join('\n')}\n`;
    let offset = 0;
    for (const line of lines) {
      const alone = parseSingerLine(line, 1);
      expect(parseSingerLine(line, 1, chunk, offset)).toEqual(alone);
      offset += line.length + 1;
    }
    expect(parseSingerLine(lines[0]!, 1, chunk, 0)).toMatchObject({ json: '{"a":"x\\"y","n":12345678901234567890}' });
  });

  it('keeps the whole STATE message and its value, numbers as written', () => {
    const text = '{"type":"STATE","value":{"bookmarks":{"a":{"n":12345678901234567890,"f":1.0}}},"id":7}';
    const message = parseSingerLine(text, 3);
    expect(message).toMatchObject({ type: 'STATE' });
    expect(stringifyJson((message as { message: unknown }).message)).toBe(text);
    expect(stringifyJson((message as { value: unknown }).value)).toBe('{"bookmarks":{"a":{"n":12345678901234567890,"f":1.0}}}');
  });

  it('reads ACTIVATE_VERSION and BATCH, and returns unknown types as UNKNOWN', () => {
    expect(parseSingerLine('{"type":"ACTIVATE_VERSION","stream":"s","version":1674486431564}', 1)).toEqual({ type: 'ACTIVATE_VERSION', stream: 's', version: 1674486431564 });
    expect(parseSingerLine('{"type":"BATCH","stream":"s","encoding":{"format":"JSONL","compression":"GZIP"},"manifest":["file:///tmp/a.gz"]}', 2)).toEqual({
      type: 'BATCH',
      stream: 's',
      format: 'jsonl',
      compression: 'gzip',
      manifest: ['file:///tmp/a.gz'],
    });
    expect(parseSingerLine('{"type":"FUTURE_THING","x":1}', 3)).toEqual({ type: 'UNKNOWN', name: 'FUTURE_THING' });
  });

  it('says what a message lacks, with the line number', () => {
    expect(parseSingerLine('{"type":"RECORD","record":{}}', 7)).toEqual({ type: 'ERROR', line: 7, reason: 'RECORD has no "stream"' });
    expect(parseSingerLine('{"type":"RECORD","stream":"s","record":[1]}', 8)).toEqual({ type: 'ERROR', line: 8, reason: 'RECORD has no "record" object' });
    expect(parseSingerLine('{"type":"STATE"}', 9)).toEqual({ type: 'ERROR', line: 9, reason: 'STATE has no "value"' });
  });
});

describe('Singer serializing', () => {
  it('writes records with exact numbers and non-ASCII intact', () => {
    const record = parseJson('{"n":12345678901234567890,"d":0.1000000000000000000001,"e":"🇿🇲"}') as Record<string, never>;
    const line = singerRecordLine(singerRecordPrefix('countries'), record);
    expect(line).toBe('{"type":"RECORD","stream":"countries","record":{"n":12345678901234567890,"d":0.1000000000000000000001,"e":"🇿🇲"}}');
    expect(parseSingerLine(line, 1)).toMatchObject({ type: 'RECORD', stream: 'countries' });
  });

  it('writes SCHEMA, STATE and METRIC lines', () => {
    expect(JSON.parse(singerSchemaLine('s', { type: 'object' }, ['id'], ['u']))).toEqual({ type: 'SCHEMA', stream: 's', schema: { type: 'object' }, key_properties: ['id'], bookmark_properties: ['u'] });
    expect(singerStateLine({ a: 1 })).toBe('{"type":"STATE","value":{"a":1}}');
    expect(singerMetricLine('record_count', 3, { endpoint: 's' })).toBe('INFO METRIC: {"type":"counter","metric":"record_count","value":3,"tags":{"endpoint":"s"}}');
  });
});
