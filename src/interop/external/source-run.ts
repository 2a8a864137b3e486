/**
 * A source's read as a child process, for every external source: the files it is given are written
 * privately and removed afterwards; its stdout is decoded as it streams (pulled by the engine, so a slow
 * destination slows the child through the pipe); its stderr goes to the run's logs. A non-zero exit fails
 * the read with the child's last stderr line, after the messages before it. When the run is cancelled,
 * the child is stopped (SIGTERM, SIGKILL 2 s later) in the background and the read returns at once.
 */
import type { LineBatch } from '../../protocol/lines.ts';
import type { ConnectorContext } from '../../sdk/context.ts';
import { SluiceError } from '../../sdk/errors.ts';
import type { SourceMessage } from '../../sdk/source.ts';
import { ExternalProcess } from './child.ts';
import { childLines } from './lines.ts';
import type { Redact } from './redact.ts';
import { SecretFiles } from './secret-files.ts';
import type { ExternalConfig } from './spec-fields.ts';

export interface SourceRun {
  readonly config: ExternalConfig;
  readonly ctx: ConnectorContext;
  readonly redact: Redact;
  /** For the log line that names the child and its pid: `Singer tap`, `Airbyte source`. */
  readonly kind: string;
  readonly args: (files: SecretFiles) => Promise<readonly string[]>;
  readonly decode: (lines: AsyncIterable<LineBatch>, child: ExternalProcess) => AsyncIterable<SourceMessage>;
}

export async function* runSource(run: SourceRun): AsyncGenerator<SourceMessage> {
  const { config, ctx } = run;
  if (ctx.signal.aborted) return;
  // A generator cannot yield from inside withSecretFiles' callback: the files are removed in finally.
  const files = await SecretFiles.create();
  let child: ExternalProcess | undefined;
  try {
    child = new ExternalProcess({ command: config.command, args: await run.args(files), env: config.env, logger: ctx.logger, redact: run.redact });
    ctx.logger.info({ pid: child.pid }, `started ${child.name} (${run.kind})`);
    yield* run.decode(childLines(child.stdout, ctx.signal), child);
    const exit = await child.exitUnless(ctx.signal);
    if (exit === undefined) return;
    if (exit.code !== 0) throw new SluiceError('SOURCE_FAILED', child.describeExit(exit));
  } finally {
    const stopped = (child?.stop() ?? Promise.resolve()).then(() => files.remove());
    // Cancelled: return now, and let a slow child take its grace period in the background.
    if (ctx.signal.aborted) stopped.catch(() => undefined);
    else await stopped;
  }
}
