import { describe, expect, it } from 'vitest';
import { ExactDecimal, parseJson, stringifyJson } from './json.ts';

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

  it('throws a SyntaxError on malformed input', () => {
    expect(() => parseJson('{"a":')).toThrow(SyntaxError);
  });
});
