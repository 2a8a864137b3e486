/**
 * A read: `<command> --config F --catalog C [--state S]` (see interop/external/source-run.ts for the
 * process side), its stdout decoded by messages.ts. The catalog selects the activation's stream; the state
 * passed is the tap's own last STATE value that Sluice committed.
 */
import { redactor } from '../../../interop/external/redact.ts';
import { runSource } from '../../../interop/external/source-run.ts';
import type { ConnectorContext } from '../../../sdk/context.ts';
import type { ReadRequest, SourceMessage } from '../../../sdk/source.ts';
import { selectCatalog, tapCatalog } from './catalog.ts';
import { tapMessages } from './messages.ts';
import type { SingerTapConfig } from './spec.ts';
import { singerStateValue } from './state.ts';

export async function* readTap(config: SingerTapConfig, request: ReadRequest, ctx: ConnectorContext): AsyncGenerator<SourceMessage> {
  const redact = redactor(config.config, config.env);
  const catalog = selectCatalog(await tapCatalog(config, ctx, redact), request.streams, config.catalog_flag === '--properties');
  const streams = new Set(request.streams.map((stream) => stream.name));
  yield* runSource({
    config,
    ctx,
    redact,
    kind: 'Singer tap',
    async args(files) {
      const args = ['--config', await files.write('config.json', config.config), config.catalog_flag, await files.write('catalog.json', catalog)];
      if (request.state !== undefined) args.push('--state', await files.write('state.json', singerStateValue(request.state)));
      return args;
    },
    decode: (lines, child) => tapMessages(lines, { label: `${child.name} stdout`, streams, logger: ctx.logger }),
  });
}
