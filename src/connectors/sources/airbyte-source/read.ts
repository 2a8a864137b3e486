/**
 * A read: `<command> read --config F --catalog C [--state S]` (see interop/external/source-run.ts for the
 * process side), its stdout decoded by messages.ts — where a TRACE ERROR fails the read with its message.
 * The configured catalog holds the activation's stream; the state passed is the connector's own last
 * state message that Sluice committed.
 */
import { redactor } from '../../../interop/external/redact.ts';
import { runSource } from '../../../interop/external/source-run.ts';
import type { ConnectorContext } from '../../../sdk/context.ts';
import type { ReadRequest, SourceMessage } from '../../../sdk/source.ts';
import { configuredCatalog, sourceCatalog } from './catalog.ts';
import { readMessages } from './messages.ts';
import type { AirbyteSourceConfig } from './spec.ts';
import { airbyteStateFile } from './state.ts';

export async function* readSource(config: AirbyteSourceConfig, request: ReadRequest, ctx: ConnectorContext): AsyncGenerator<SourceMessage> {
  const redact = redactor(config.config, config.env);
  const catalog = configuredCatalog(await sourceCatalog(config, ctx, redact), request.streams);
  const streams = new Set(request.streams.map((stream) => stream.name));
  yield* runSource({
    config,
    ctx,
    redact,
    kind: 'Airbyte source',
    async args(files) {
      const args = ['read', '--config', await files.write('config.json', config.config), '--catalog', await files.write('catalog.json', catalog)];
      if (request.state !== undefined) args.push('--state', await files.write('state.json', airbyteStateFile(request.state)));
      return args;
    },
    decode: (lines, child) => readMessages(lines, { name: child.name, label: `${child.name} stdout`, streams, logger: ctx.logger, redact }),
  });
}
