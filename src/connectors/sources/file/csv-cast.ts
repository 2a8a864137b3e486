/**
 * Typed CSV columns: turn a field's text into an integer, number or boolean, exactly. Integers beyond 2^53
 * become bigint; numbers with more than 15 significant digits (or an exponent) go through `exactNumber`,
 * so they stay numbers only when a double holds them exactly and become ExactDecimal otherwise.
 * A cast returns undefined when the text is not a value of its type; the caller reports the row.
 * Surrounding spaces are ignored. Hand-written scanners, not regexes: this runs once per typed field.
 */
import { exactNumber } from '../../../protocol/json.ts';
import type { JsonValue } from '../../../protocol/json.ts';
import type { ColumnType } from './spec.ts';

export type Cast = (text: string) => JsonValue | undefined;

const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;
// Any decimal with at most 15 significant digits survives a round trip through a double.
const SAFE_DIGITS = 15;

function trimmed(text: string): string {
  const last = text.length - 1;
  if (last < 0) return text;
  const first = text.charCodeAt(0);
  const end = text.charCodeAt(last);
  return first === 32 || first === 9 || end === 32 || end === 9 ? text.trim() : text;
}

function isDigit(code: number): boolean {
  return code >= ZERO && code <= NINE;
}

export function castInteger(text: string): JsonValue | undefined {
  const t = trimmed(text);
  const length = t.length;
  let i = 0;
  const sign = t.charCodeAt(0);
  if (sign === PLUS || sign === MINUS) i = 1;
  if (i === length) return undefined;
  for (let k = i; k < length; k++) if (!isDigit(t.charCodeAt(k))) return undefined;
  if (length - i <= SAFE_DIGITS) return Number(t);
  const value = BigInt(t);
  return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
}

/** Decimal notation with optional sign, fraction and exponent: `-12`, `3.50`, `.5`, `1e-3`. No NaN, no hex. */
export function castNumber(text: string): JsonValue | undefined {
  const t = trimmed(text);
  const length = t.length;
  let i = 0;
  const sign = t.charCodeAt(0);
  if (sign === PLUS || sign === MINUS) i = 1;
  const intStart = i;
  while (i < length && isDigit(t.charCodeAt(i))) i++;
  const intEnd = i;
  let fracStart = i;
  let fracEnd = i;
  if (i < length && t.charCodeAt(i) === DOT) {
    fracStart = ++i;
    while (i < length && isDigit(t.charCodeAt(i))) i++;
    fracEnd = i;
  }
  const digits = intEnd - intStart + (fracEnd - fracStart);
  if (digits === 0) return undefined;
  const expStart = i;
  if (i < length && (t.charCodeAt(i) | 0x20) === 101 /* e or E */) {
    i++;
    if (i < length && (t.charCodeAt(i) === PLUS || t.charCodeAt(i) === MINUS)) i++;
    const expDigits = i;
    while (i < length && isDigit(t.charCodeAt(i))) i++;
    if (i === expDigits) return undefined;
  }
  if (i !== length) return undefined;
  if (expStart === length && digits <= SAFE_DIGITS) return Number(t);
  // The rare long or exponent form: rewrite as a JSON number literal, which exactNumber requires.
  let integer = t.slice(intStart, intEnd).replace(/^0+(?=\d)/, '');
  if (integer === '') integer = '0';
  const fraction = t.slice(fracStart, fracEnd);
  const literal = `${sign === MINUS ? '-' : ''}${integer}${fraction === '' ? '' : `.${fraction}`}${t.slice(expStart)}`;
  return exactNumber(literal);
}

const BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['false', false],
  ['t', true],
  ['f', false],
  ['yes', true],
  ['no', false],
  ['y', true],
  ['n', false],
  ['1', true],
  ['0', false],
]);

/** true/false, t/f, yes/no, y/n, 1/0, in any case. */
export function castBoolean(text: string): JsonValue | undefined {
  return BOOLEANS.get(trimmed(text).toLowerCase());
}

/** The cast for a column type; strings need none. */
export function castFor(type: ColumnType): Cast | undefined {
  switch (type) {
    case 'integer':
      return castInteger;
    case 'number':
      return castNumber;
    case 'boolean':
      return castBoolean;
    case 'string':
      return undefined;
  }
}

const ARTICLES: Readonly<Record<ColumnType, string>> = { string: 'a string', integer: 'an integer', number: 'a number', boolean: 'a boolean' };

export function describeType(type: ColumnType): string {
  return ARTICLES[type];
}
