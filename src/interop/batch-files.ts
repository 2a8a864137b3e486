/**
 * Singer SDK BATCH messages: a stream's records in files listed by a manifest, instead of inline RECORDs.
 * Supported where it makes sense locally: `file://` URLs, `jsonl` encoding, optionally gzip-compressed.
 * Anything else (other URL schemes, Parquet) is reported as an invalid input naming the message's line,
 * so the records it stood for are counted as rejected rather than silently lost.
 */
import { createReadStream } from 'node:fs';
import { type Readable, pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { type JsonValue, parseJson } from '../protocol/json.ts';
import { isObject, readLines } from '../protocol/lines.ts';
import type { SingerBatch } from '../protocol/singer.ts';
import type { SourceMessage } from '../sdk/source.ts';
import { invalidLine } from './stdin-source.ts';

/** The batch's records, in manifest order; `line` is the BATCH message's line on stdin. */
export async function* readBatchFiles(message: SingerBatch, line: number): AsyncGenerator<SourceMessage[]> {
  const { stream } = message;
  if (message.format !== 'jsonl') {
    yield [invalidLine(line, `BATCH encoding "${message.format}" is not supported (only jsonl)`, '', stream)];
    return;
  }
  for (const url of message.manifest) {
    if (!url.startsWith('file://')) {
      yield [invalidLine(line, `BATCH file ${url} is not a file:// URL`, url, stream)];
      continue;
    }
    const path = fileURLToPath(url);
    const gzip = message.compression === 'gzip' || (message.compression === undefined && path.endsWith('.gz'));
    // pipeline, not pipe: a missing file must fail the gunzip stream too, or reading would wait forever.
    const input: Readable = gzip ? pipeline(createReadStream(path), createGunzip(), () => {}) : createReadStream(path);
    try {
      for await (const batch of readLines(input)) {
        const out: SourceMessage[] = [];
        batch.lines.forEach((text, index) => {
          const at = batch.first + index;
          const parsed = batch.tooLong.includes(at) ? invalid(stream, path, at, 'the line is too long to read', '') : toRecord(stream, path, at, text);
          if (parsed !== undefined) out.push(parsed);
        });
        yield out;
      }
    } catch (error) {
      yield [invalidLine(line, `BATCH file ${path} could not be read: ${(error as Error).message}`, url, stream)];
    }
  }
}

function toRecord(stream: string, file: string, line: number, text: string): SourceMessage | undefined {
  if (text.trim() === '') return undefined;
  let value: JsonValue;
  try {
    value = parseJson(text);
  } catch (error) {
    return invalid(stream, file, line, `not valid JSON (${(error as Error).message})`, text);
  }
  if (!isObject(value)) return invalid(stream, file, line, 'not a JSON object', text);
  return { type: 'record', stream, data: value, origin: { file, line } };
}

function invalid(stream: string, file: string, line: number, reason: string, raw: string): SourceMessage {
  return { type: 'invalid', stream, reason: `${file} line ${line}: ${reason}`, raw, origin: { file, line } };
}
