/**
 * A peer for the protocol-target benchmark: a minimal Airbyte destination written the way Faros writes its
 * own, with `faros-airbyte-cdk` — an `AirbyteDestination` whose `write` reads Airbyte messages from stdin
 * (readline, the CDK's `parseAirbyteMessage`), appends each RECORD's `data` as a JSON line to a file
 * stream (with backpressure), and yields each STATE once the records before it have been written; the
 * CDK's `AirbyteDestinationRunner` provides the `spec` / `check` / `write --config --catalog` command line
 * and writes the yielded states to stdout.
 *
 * The CDK's package index also loads its source framework, which requires `faros-js-client` (and
 * `lodash`), neither of them declared as its dependencies; the destination modules are imported by path
 * instead, which needs only `lodash` (a dev dependency here for that reason).
 *
 *   node --import tsx bench/peers/faros-destination.ts write --config out.json --catalog catalog.json < airbyte.jsonl
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { AirbyteDestination } from 'faros-airbyte-cdk/lib/destinations/destination.js';
import { AirbyteDestinationRunner } from 'faros-airbyte-cdk/lib/destinations/destination-runner.js';
import { AirbyteLogger } from 'faros-airbyte-cdk/lib/logger.js';
import {
  type AirbyteConfig,
  type AirbyteConfiguredCatalog,
  AirbyteConnectionStatus,
  AirbyteConnectionStatusMessage,
  AirbyteMessageType,
  type AirbyteRecord,
  AirbyteSpec,
  type AirbyteStateMessage,
  DestinationSyncMode,
  isStateMessage,
  parseAirbyteMessage,
} from 'faros-airbyte-cdk/lib/protocol.js';

interface FileConfig extends AirbyteConfig {
  readonly path: string;
}

/** Resolves once everything written to the stream so far has reached the file. */
function written(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => stream.write('', (error) => (error ? reject(error) : resolve())));
}

class JsonlFileDestination extends AirbyteDestination<FileConfig> {
  async spec(): Promise<AirbyteSpec> {
    return new AirbyteSpec({
      connectionSpecification: { type: 'object', required: ['path'], properties: { path: { type: 'string', description: 'The JSONL file to write.' } } },
      supported_destination_sync_modes: [DestinationSyncMode.OVERWRITE],
    });
  }

  async check(config: AirbyteConfig): Promise<AirbyteConnectionStatusMessage> {
    const ok = typeof (config as Partial<FileConfig>).path === 'string';
    return new AirbyteConnectionStatusMessage({ status: ok ? AirbyteConnectionStatus.SUCCEEDED : AirbyteConnectionStatus.FAILED, ...(ok ? {} : { message: 'path is required' }) });
  }

  async *write(config: FileConfig, _redacted: AirbyteConfig, catalog: AirbyteConfiguredCatalog, stdin: NodeJS.ReadStream, dryRun: boolean): AsyncGenerator<AirbyteStateMessage> {
    const streams = new Set(catalog.streams.map((configured) => configured.stream.name));
    // flush: fsync before close, as Sluice's file destination does.
    const out = createWriteStream(config.path, { flush: true });
    const lines = createInterface({ input: stdin, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const message = parseAirbyteMessage(line);
      if (isStateMessage(message)) {
        await written(out);
        yield message;
      } else if (message.type === AirbyteMessageType.RECORD) {
        const { record } = message as AirbyteRecord;
        if (!streams.has(record.stream)) throw new Error(`record of stream ${record.stream}, which is not in the catalog`);
        if (!dryRun && !out.write(`${JSON.stringify(record.data)}\n`)) await once(out, 'drain');
      }
    }
    out.end();
    await once(out, 'close');
  }
}

await new AirbyteDestinationRunner(new AirbyteLogger(), new JsonlFileDestination()).mainCommand().parseAsync(process.argv);
