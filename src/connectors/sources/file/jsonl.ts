/**
 * JSON Lines files: one JSON object per line, parsed with `parseJson` so long integers and decimals stay
 * exact. Blank lines are skipped; a line that is not JSON, or not an object, becomes an `invalid` message
 * naming the file and line, and reading goes on. Lines are split by hand on the decoded chunks (no
 * readline): it is the hot loop. A line longer than MAX_LINE_CHARS is reported and skipped, not buffered.
 */
import type { SourceMessage } from '../../../sdk/source.ts';
import { parseJson } from '../../../protocol/json.ts';
import type { JsonValue } from '../../../protocol/json.ts';
import { type FileTarget, type FormatReader, describeJsonKind, errorMessage, invalidMessage, isJsonObject } from './messages.ts';
import { readText } from './text.ts';

export const MAX_LINE_CHARS = 16 * 1024 * 1024;

async function* readJsonl(target: FileTarget): AsyncGenerator<SourceMessage[]> {
  let pending = '';
  let line = 1;
  // After an oversized line, input is dropped up to the next line break.
  let discarding = false;
  for await (const chunk of readText(target.file, target.config.encoding, target.ctx.signal)) {
    let text = chunk;
    if (discarding) {
      const lf = text.indexOf('\n');
      if (lf === -1) continue;
      discarding = false;
      text = text.slice(lf + 1);
    }
    if (pending !== '') text = pending + text;
    const out: SourceMessage[] = [];
    let pos = 0;
    let lf = text.indexOf('\n');
    while (lf !== -1) {
      parseLine(target, text, pos, lf, line, out);
      line++;
      pos = lf + 1;
      lf = text.indexOf('\n', pos);
    }
    pending = text.slice(pos);
    if (pending.length > MAX_LINE_CHARS) {
      out.push(invalidMessage(target, line, `the line is longer than ${MAX_LINE_CHARS} characters`, pending));
      pending = '';
      discarding = true;
      line++;
    }
    if (out.length > 0) yield out;
  }
  if (pending !== '' && !discarding) {
    const out: SourceMessage[] = [];
    parseLine(target, pending, 0, pending.length, line, out);
    if (out.length > 0) yield out;
  }
}

function parseLine(target: FileTarget, text: string, start: number, lf: number, line: number, out: SourceMessage[]): void {
  let end = lf;
  if (end > start && text.charCodeAt(end - 1) === 13) end--;
  if (end === start) return;
  const source = text.slice(start, end);
  let value: JsonValue;
  try {
    value = parseJson(source);
  } catch (error) {
    // A whitespace-only line is blank, not malformed; checked here so ordinary lines never pay for a trim.
    if (source.trim() !== '') out.push(invalidMessage(target, line, errorMessage(error), source));
    return;
  }
  if (isJsonObject(value)) {
    out.push({ type: 'record', stream: target.stream, data: value, origin: { file: target.file, line } });
  } else {
    out.push(invalidMessage(target, line, `expected a JSON object, found ${describeJsonKind(value)}`, source));
  }
}

export const jsonlReader: FormatReader = { read: readJsonl };
