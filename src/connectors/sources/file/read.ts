/**
 * `read` and `discover` over all matched files: one stream, files in sorted order, each file's messages
 * in file order. The file source is full refresh only, so it keeps no state between runs.
 */
import type { ConnectorContext } from '../../../sdk/context.ts';
import type { ReadRequest, SourceMessage, StreamDescriptor } from '../../../sdk/source.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import { Flatten } from './flatten.ts';
import { resolveFormat, streamName } from './format.ts';
import { resolveFiles } from './glob.ts';
import type { FileTarget, FormatReader } from './messages.ts';
import { readerFor } from './readers.ts';
import { SAMPLE_SIZE, inferSchema } from './schema.ts';
import type { FileConfig } from './spec.ts';

export function readFiles(config: FileConfig, request: ReadRequest, ctx: ConnectorContext): AsyncIterable<SourceMessage> {
  return new Flatten(readBatches(config, request, ctx));
}

async function* readBatches(config: FileConfig, request: ReadRequest, ctx: ConnectorContext): AsyncGenerator<SourceMessage[]> {
  const stream = streamName(config);
  // An empty selection means every stream; a selection without ours means nothing to read.
  if (request.streams.length > 0 && !request.streams.some((configured) => configured.name === stream)) return;
  const reader = await readerFor(resolveFormat(config));
  const files = await resolveFiles(config.path);
  for (const file of files) yield* reader.read({ file, stream, config, ctx });
}

export async function discoverStream(config: FileConfig, ctx: ConnectorContext): Promise<StreamDescriptor> {
  const reader = await readerFor(resolveFormat(config));
  const [file] = await resolveFiles(config.path);
  const target: FileTarget = { file: file as string, stream: streamName(config), config, ctx };
  const jsonSchema = reader.schema !== undefined ? await reader.schema(target) : inferSchema(await sampleRecords(reader, target));
  return { name: target.stream, jsonSchema, syncModes: ['full_refresh'] };
}

/** The first SAMPLE_SIZE records of a file; reading stops there. */
async function sampleRecords(reader: FormatReader, target: FileTarget): Promise<JsonObject[]> {
  const records: JsonObject[] = [];
  for await (const batch of reader.read(target)) {
    for (const message of batch) {
      if (message.type !== 'record') continue;
      records.push(message.data);
      if (records.length >= SAMPLE_SIZE) return records;
    }
  }
  return records;
}
