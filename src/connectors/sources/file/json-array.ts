/**
 * JSON files holding one top-level array of objects, streamed element by element (see
 * json-array-splitter.ts) and parsed with `parseJson`, so long numbers stay exact. An element that is not
 * valid JSON, or not an object, becomes an `invalid` message naming the file and the line it starts on.
 * A file that is not an array at all fails the read with SOURCE_FAILED.
 */
import { SluiceError } from '../../../sdk/errors.ts';
import type { SourceMessage } from '../../../sdk/source.ts';
import { parseJson } from '../../../protocol/json.ts';
import type { JsonValue } from '../../../protocol/json.ts';
import { JsonArraySplitter, type JsonElementSink, JsonShapeError } from './json-array-splitter.ts';
import { type FileTarget, type FormatReader, describeJsonKind, errorMessage, invalidMessage, isJsonObject } from './messages.ts';
import { readText } from './text.ts';

class JsonRecords implements JsonElementSink {
  out: SourceMessage[] = [];
  private readonly target: FileTarget;

  constructor(target: FileTarget) {
    this.target = target;
  }

  take(): SourceMessage[] {
    const batch = this.out;
    this.out = [];
    return batch;
  }

  element(text: string, line: number): void {
    let value: JsonValue;
    try {
      value = parseJson(text);
    } catch (error) {
      this.out.push(invalidMessage(this.target, line, errorMessage(error), text.trim()));
      return;
    }
    if (isJsonObject(value)) {
      this.out.push({ type: 'record', stream: this.target.stream, data: value, origin: { file: this.target.file, line } });
    } else {
      this.out.push(invalidMessage(this.target, line, `expected a JSON object, found ${describeJsonKind(value)}`, text.trim()));
    }
  }

  malformed(line: number, problem: string, raw: string): void {
    this.out.push(invalidMessage(this.target, line, problem, raw));
  }
}

async function* readJsonArray(target: FileTarget): AsyncGenerator<SourceMessage[]> {
  const records = new JsonRecords(target);
  const splitter = new JsonArraySplitter(records);
  try {
    for await (const chunk of readText(target.file, target.config.encoding, target.ctx.signal)) {
      splitter.write(chunk);
      if (records.out.length > 0) yield records.take();
    }
  } catch (error) {
    if (!(error instanceof JsonShapeError)) throw error;
    throw new SluiceError('SOURCE_FAILED', `${target.file} line ${error.line}: ${error.message}`, { cause: error });
  }
  splitter.end();
  if (records.out.length > 0) yield records.take();
}

export const jsonArrayReader: FormatReader = { read: readJsonArray };
