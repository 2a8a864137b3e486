/**
 * JSON that keeps numbers exact. JavaScript numbers lose integers beyond 2^53 and decimals beyond ~15
 * significant digits; data pipelines must not. Parsing keeps such numbers as `bigint` (integers) or
 * `LosslessNumber` (decimals), and stringifying writes them back digit for digit.
 *
 * Both directions take a fast path (plain `JSON.parse` / `JSON.stringify`) and fall back to lossless-json
 * only when a long number is present, so ordinary data pays next to nothing.
 */
import { LosslessNumber, isInteger, isSafeNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';

export { LosslessNumber };

/**
 * A decimal kept as its digits. Plain `JSON.stringify` cannot write it exactly, so it refuses (throws),
 * which sends `stringifyJson` down the exact path; lossless-json checks `isLosslessNumber` before `toJSON`.
 */
export class ExactDecimal extends LosslessNumber {
  toJSON(): never {
    throw new TypeError('ExactDecimal needs stringifyJson');
  }
}

export type JsonValue = null | boolean | number | string | bigint | LosslessNumber | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * Whether the text may hold a number a double cannot keep: 16+ digits in a row (dots allowed) or an
 * exponent of 3+ digits. A plain loop: a regex here cost as much as JSON.parse itself. False positives
 * (long digit runs inside strings) only take the slower exact path.
 */
function mayHoldLongNumber(text: string): boolean {
  let digits = 0;
  let exponentDigits = -1;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if ((code >= 48 && code <= 57) || code === 46) {
      if (++digits >= 16) return true;
      if (exponentDigits >= 0 && code !== 46 && ++exponentDigits >= 3) return true;
    } else if ((code === 101 || code === 69) && digits > 0) {
      digits = 0;
      exponentDigits = 0;
    } else if ((code === 43 || code === 45) && exponentDigits === 0) {
      // the exponent's sign
    } else {
      digits = 0;
      exponentDigits = -1;
    }
  }
  return false;
}

/** Turn a JSON number literal into the most exact JavaScript value for it. */
export function exactNumber(text: string): number | bigint | LosslessNumber {
  if (isSafeNumber(text)) return Number(text);
  if (isInteger(text)) return BigInt(text);
  return new ExactDecimal(text);
}

/** Parse JSON text, keeping long numbers exact. Throws SyntaxError on malformed input. */
export function parseJson(text: string): JsonValue {
  if (!mayHoldLongNumber(text)) return JSON.parse(text) as JsonValue;
  return losslessParse(text, null, exactNumber) as JsonValue;
}

/**
 * Stringify a value, writing bigint and LosslessNumber values as exact JSON numbers. Plain JSON.stringify
 * throws on both (bigint natively, ExactDecimal by design), which is how the rare slow path is chosen.
 */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return losslessStringify(value) ?? 'null';
  }
}
