/**
 * JSON that keeps numbers exact. JavaScript numbers lose integers beyond 2^53 and decimals beyond ~15
 * significant digits; data pipelines must not. Parsing keeps such numbers as `bigint` (integers) or
 * `LosslessNumber` (decimals), and stringifying writes them back digit for digit.
 *
 * Both directions take a fast path (plain `JSON.parse` / `JSON.stringify`) and fall back to lossless-json
 * only when a long number is present, so ordinary data pays next to nothing: spotting one is a scan that
 * skips string contents (json-scan.ts) — a character-by-character loop cost as much as JSON.parse itself.
 */
import { LosslessNumber, isInteger, isSafeNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { type JsonScan, scanJson } from './json-scan.ts';

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

/** Turn a JSON number literal into the most exact JavaScript value for it. */
export function exactNumber(text: string): number | bigint | LosslessNumber {
  if (isSafeNumber(text)) return Number(text);
  if (isInteger(text)) return BigInt(text);
  return new ExactDecimal(text);
}

/** Parse JSON text, keeping long numbers exact. Throws SyntaxError on malformed input. */
export function parseJson(text: string): JsonValue {
  return parseScannedJson(text, scanJson(text));
}

/**
 * `parseJson` for a caller that has scanned the text already (`scanJson`): the scan says whether a long
 * number may be there — a plain JSON.parse keeps every shorter one exactly — so only such text takes the
 * slower exact parser.
 */
export function parseScannedJson(text: string, scan: JsonScan): JsonValue {
  if (!scan.longNumber) return JSON.parse(text) as JsonValue;
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
