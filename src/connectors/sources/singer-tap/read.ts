/**
 * A read: `<command> --config F --catalog C [--state S]`, its stdout decoded as it streams (messages.ts),
 * its stderr in the run's logs. A non-zero exit fails the run with the tap's last stderr line, after the
 * records before it — state stays at the tap's last STATE whose records have all settled. When the run is
 * cancelled, the tap is stopped (SIGTERM, SIGKILL 2 s later) and the read returns at once.
 */
import { ExternalProcess } from '../../../interop/external/child.ts';
import { childLines } from '../../../interop/external/lines.ts';
import { redactor } from '../../../interop/external/redact.ts';
import { SecretFiles } from '../../../interop/external/secret-files.ts';
import type { ConnectorContext } from '../../../sdk/context.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import type { ReadRequest, SourceMessage } from '../../../sdk/source.ts';
import { selectCatalog, tapCatalog } from './catalog.ts';
import { tapMessages } from './messages.ts';
import type { SingerTapConfig } from './spec.ts';
import { singerStateValue } from './state.ts';

export async function* readTap(config: SingerTapConfig, request: ReadRequest, ctx: ConnectorContext): AsyncGenerator<SourceMessage> {
  const redact = redactor(config.config, config.env);
  const catalog = selectCatalog(await tapCatalog(config, ctx, redact), request.streams, config.catalog_flag === '--properties');
  if (ctx.signal.aborted) return;
  // A generator cannot yield from inside withSecretFiles' callback: the files are removed in finally.
  const files = await SecretFiles.create();
  let child: ExternalProcess | undefined;
  try {
    const args = ['--config', await files.write('config.json', config.config), config.catalog_flag, await files.write('catalog.json', catalog)];
    if (request.state !== undefined) args.push('--state', await files.write('state.json', singerStateValue(request.state)));
    child = new ExternalProcess({ command: config.command, args, env: config.env, logger: ctx.logger, redact });
    ctx.logger.info({ pid: child.pid }, `started ${child.name} (Singer tap)`);
    const output = { label: `${child.name} stdout`, streams: new Set(request.streams.map((stream) => stream.name)), logger: ctx.logger, redact };
    yield* tapMessages(childLines(child.stdout, ctx.signal), output);
    const exit = await child.exitUnless(ctx.signal);
    if (exit === undefined) return;
    if (exit.code !== 0) throw new SluiceError('SOURCE_FAILED', child.describeExit(exit));
  } finally {
    await child?.stop();
    await files.remove();
  }
}
