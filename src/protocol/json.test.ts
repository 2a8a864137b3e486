import { describe, expect, it } from 'vitest';
import { ExactDecimal, parseJson, stringifyJson } from './json.ts';
import { scanJson } from './json-scan.ts';

describe('exact JSON', () => {
  it('keeps integers beyond 2^53 and long decimals digit for digit', () => {
    const text = '{"big":12345678901234567890,"neg":-9007199254740993,"dec":1234567890.123456789012,"small":1.5,"arr":[99999999999999999999]}';
    const value = parseJson(text) as Record<string, unknown>;
    expect(value.big).toBe(12345678901234567890n);
    expect(value.neg).toBe(-9007199254740993n);
    expect(value.dec).toBeInstanceOf(ExactDecimal);
    expect(value.small).toBe(1.5);
    expect(stringifyJson(value)).toBe(text);
  });

  it('takes the exact path for huge exponents', () => {
    expect(stringifyJson(parseJson('[1e400, 2E-500]'))).toBe('[1e400,2E-500]');
  });

  it('keeps ordinary JSON as plain numbers, including timestamps and short ids', () => {
    const value = parseJson('{"id":123456789012345,"at":"2026-11-01T09:12:00Z","x":1e10}') as Record<string, unknown>;
    expect(value).toEqual({ id: 123456789012345, at: '2026-11-01T09:12:00Z', x: 1e10 });
  });

  it('treats long digit runs inside strings as text', () => {
    expect(parseJson('{"phone":"00441234567890123456"}')).toEqual({ phone: '00441234567890123456' });
  });

  it('finds long numbers after strings with escaped quotes and backslashes, and in every number form', () => {
    for (const text of [
      '{"s":"a\\"b","n":12345678901234567890}',
      '{"s":"a\\\\","n":-12345678901234567890}',
      '["\\"\\\\\\"",1.000000000000000000001]',
      '{"x":[1,2,{"y":12345678901234567.5}]}',
      '{"e":1E+400}',
      '{"e":-2.5e-400}',
    ]) {
      expect(scanJson(text).longNumber, text).toBe(true);
      expect(stringifyJson(parseJson(text))).toBe(text);
    }
    for (const text of ['{"s":"12345678901234567890","t":"1e400"}', '{"n":123456789012345,"m":-0.1234567890123,"e":1e99,"f":1.5E-99}', '[true,false,null]']) {
      expect(scanJson(text).longNumber, text).toBe(false);
    }
  });

  it('locates a member by key path, skipping look-alikes in strings and at other depths', () => {
    const text = '{"a":"\\"record\\":{","b":{"record":{"x":1}},"record":{"data":[{"k":"}"}],"n":1},"z":2}';
    const scan = scanJson(text, ['record']);
    expect(text.slice(scan.start, scan.end)).toBe('{"data":[{"k":"}"}],"n":1}');
    expect(scan.members).toBe(3);
    expect(scan.spaced).toBe(false);
    expect(scanJson(text, ['record', 'data']).start).toBe(-1); // an array, not an object
    expect(scanJson(text, ['b', 'record']).start).toBe(text.indexOf('{"x":1}'));
    expect(scanJson('{"record":1}', ['record']).start).toBe(-1);
  });

  it('throws a SyntaxError on malformed input', () => {
    expect(() => parseJson('{"a":')).toThrow(SyntaxError);
  });
});
