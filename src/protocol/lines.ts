/**
 * A byte stream as lines, with 1-based line numbers, for protocol streams on stdin and JSON Lines files.
 *
 * Promises: lines come out in order, batched per input chunk (one await per chunk, not per line — this is
 * the hot loop of every protocol target); a line ends at LF, a CR before it is dropped; UTF-8 split across
 * chunks is decoded correctly; the last line needs no newline. Memory stays bounded: a line longer than
 * `maxLineChars` is not buffered — it is reported once as `tooLong` (with its line number) and skipped.
 *
 * Also here, for the Singer and Airbyte codecs: one line → one JSON object with a `type`, or a `LineError`;
 * and a verbatim parse for lines that are echoed.
 */
import { StringDecoder } from 'node:string_decoder';
import { parse as losslessParse } from 'lossless-json';
import { ExactDecimal, type JsonObject, type JsonValue, LosslessNumber, parseScannedJson } from './json.ts';
import { type JsonScan, scanJson } from './json-scan.ts';

export const DEFAULT_MAX_LINE_CHARS = 64 * 1024 * 1024;

export interface LineBatch {
  /** The line number of `lines[0]`; `lines[i]` is line `first + i`. */
  readonly first: number;
  readonly lines: readonly string[];
  /** Lines over the limit, by number; their text is not in `lines` (an empty string holds their place). */
  readonly tooLong: readonly number[];
  /**
   * The chunk of input the lines were cut from, and where each starts in it (-1 for a line that is not a
   * piece of it: one begun in an earlier chunk, or a line over the limit). Scanning a line inside its
   * chunk is faster than scanning the substring (see `scanJson`).
   */
  readonly text?: string;
  readonly offsets?: readonly number[];
}

export interface ReadLinesOptions {
  readonly maxLineChars?: number;
}

export async function* readLines(input: AsyncIterable<Buffer | string>, options: ReadLinesOptions = {}): AsyncGenerator<LineBatch> {
  const max = options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
  const decoder = new StringDecoder('utf8');
  // The unfinished last line, kept as parts: re-joining a long line on every chunk would be quadratic.
  let parts: string[] = [];
  let partsLength = 0;
  let next = 1;
  // After an over-long line, input is dropped up to the next line break.
  let discarding = false;
  for await (const chunk of input) {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (discarding) {
      const lf = text.indexOf('\n');
      if (lf === -1) continue;
      discarding = false;
      text = text.slice(lf + 1);
      next++;
    }
    let lf = text.indexOf('\n');
    if (lf === -1) {
      parts.push(text);
      partsLength += text.length;
      if (partsLength > max) {
        // Report it now and skip the rest of it as it arrives.
        yield { first: next, lines: [''], tooLong: [next] };
        parts = [];
        partsLength = 0;
        discarding = true;
      }
      continue;
    }
    const first = next;
    const lines: string[] = [];
    const offsets: number[] = [];
    const tooLong: number[] = [];
    let pos = 0;
    if (partsLength > 0) {
      // The line begun in earlier chunks ends here. Join just that line: prepending it to the chunk would
      // copy the whole chunk (the first indexOf flattens the concatenation) — once per chunk, for every line.
      parts.push(text.slice(0, lf));
      let line = parts.join('');
      parts = [];
      partsLength = 0;
      if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      if (line.length > max) {
        tooLong.push(next);
        lines.push('');
      } else lines.push(line);
      offsets.push(-1);
      next++;
      pos = lf + 1;
      lf = text.indexOf('\n', pos);
    }
    while (lf !== -1) {
      const end = lf > pos && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf;
      if (end - pos > max) {
        tooLong.push(next);
        lines.push('');
        offsets.push(-1);
      } else {
        lines.push(text.slice(pos, end));
        offsets.push(pos);
      }
      next++;
      pos = lf + 1;
      lf = text.indexOf('\n', pos);
    }
    if (pos < text.length) {
      parts.push(text.slice(pos));
      partsLength = text.length - pos;
    }
    yield { first, lines, tooLong, text, offsets };
    if (partsLength > max) {
      yield { first: next, lines: [''], tooLong: [next] };
      parts = [];
      partsLength = 0;
      discarding = true;
    }
  }
  const last = parts.join('') + decoder.end();
  if (last !== '' && !discarding) {
    const end = last.endsWith('\r') ? last.length - 1 : last.length;
    if (end > max) yield { first: next, lines: [''], tooLong: [next] };
    else yield { first: next, lines: [last.slice(0, end)], tooLong: [] };
  }
}

/** A line that could not become a message: the reason, without the line number (see `line`). */
export interface LineError {
  readonly type: 'ERROR';
  readonly line: number;
  readonly reason: string;
}

/** A message of type `name` that lacks something: `RECORD has no "stream"`. */
export function lineError(line: number, name: string, reason: string): LineError {
  return { type: 'ERROR', line, reason: `${name} ${reason}` };
}

/**
 * The JSON object on a line and its upper-cased `type`, or why not. Shared by the Singer and Airbyte codecs.
 * `recordPath` is where a RECORD keeps its record (`record`, `record.data`): `scan` then locates it in the
 * text, so the record can be passed on as the text it came as (see `memberText`). `chunk` and `offset`,
 * when given, say where the line lies in its chunk of input (`LineBatch.text`, `offsets`): it is scanned
 * there, which is faster, and `scan`'s offsets are then in `chunk`.
 */
export function parseObjectLine(
  text: string,
  line: number,
  recordPath?: readonly string[],
  chunk?: string,
  offset = 0,
): { object: JsonObject; name: string; scan: JsonScan } | LineError | undefined {
  let value: JsonValue;
  const scan = chunk === undefined ? scanJson(text, recordPath) : scanJson(chunk, recordPath, offset, offset + text.length);
  try {
    value = parseScannedJson(text, scan);
  } catch (error) {
    if (text.trim() === '') return undefined;
    return { type: 'ERROR', line, reason: `not valid JSON (${(error as Error).message})` };
  }
  if (!isObject(value)) return { type: 'ERROR', line, reason: 'not a JSON object' };
  if (typeof value.type !== 'string') return { type: 'ERROR', line, reason: 'the message has no "type"' };
  return { object: value, name: value.type.toUpperCase(), scan };
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof LosslessNumber);
}


/**
 * Parse keeping every number exactly as written — `2.0` stays `2.0`, not `2` — for messages that are
 * echoed rather than used (states). Slower than `parseJson`; meant for the rare line that needs it.
 */
export function parseJsonVerbatim(text: string): JsonValue {
  return losslessParse(text, null, (digits) => new ExactDecimal(digits)) as JsonValue;
}
