/**
 * The `singer-target` destination: a Singer target run as a child process for the length of a run. Each
 * batch is confirmed by the target printing back the state that follows it, so a record counts as
 * delivered only once the target has stored it — which requires a target that prints each state as it
 * comes (Sluice's own does; buffering targets do not: see README.md). The target's stderr goes to the
 * run's logs (secrets masked); a crash, a non-zero exit or a silent target fails the run with its own
 * last words.
 */
import { text } from 'node:stream/consumers';
import { programName } from '../../../interop/external/child.ts';
import { redactor } from '../../../interop/external/redact.ts';
import { runToCompletion } from '../../../interop/external/run.ts';
import { TargetSession } from '../../../interop/external/target-session.ts';
import { defineDestination } from '../../../sdk/destination.ts';
import { describeError } from '../../../sdk/errors.ts';
import { singerProtocol } from './protocol.ts';
import { singerTargetSpec } from './spec.ts';
import { type SingerTargetSession, writeBatch } from './write.ts';

export default defineDestination<typeof singerTargetSpec, SingerTargetSession>({
  id: 'singer-target',
  title: 'Singer target',
  description: 'Runs an external Singer target and sends it the records; each batch counts as delivered once the target confirms it.',
  spec: singerTargetSpec,
  // Singer has no check command: the small real call is a run on empty input, which must start, accept
  // the config and exit 0 without writing anything.
  async check(config, ctx) {
    const redact = redactor(config.config, config.env);
    try {
      const result = await runToCompletion({
        config,
        args: singerProtocol(config.config).args,
        logger: ctx.logger,
        redact,
        signal: ctx.signal,
        consume: (stdout) => text(stdout),
        emptyInput: true,
      });
      return result.exit.code === 0 ? { ok: true } : { ok: false, reason: result.failure };
    } catch (error) {
      return { ok: false, reason: `${programName(config.command)}: ${redact(describeError(error))}` };
    }
  },
  open: async (config, ctx) => ({
    target: new TargetSession({ config, echoTimeoutMs: config.echo_timeout_ms, logger: ctx.logger }, singerProtocol(config.config)),
    prefixes: new Map(),
  }),
  close: (session, _ctx, end) => session.target.close(end.complete),
  objects: {
    records: {
      title: 'Records',
      description: 'Every record, as a RECORD of the configured stream (or of its source stream), in the order they arrive.',
      syncModes: ['append'],
      batch: (config) => ({ maxRecords: config.batch_size, maxBytes: 16_000_000, maxWaitMs: config.max_wait_ms }),
      write: writeBatch,
    },
  },
  // One batch at a time: the target reads one input stream, and each batch waits for its confirmation.
  limits: { concurrency: 1 },
});
