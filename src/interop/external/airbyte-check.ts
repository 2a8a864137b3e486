/**
 * `check` for external Airbyte connectors, sources and destinations alike: `<command> check --config F`
 * and its CONNECTION_STATUS. FAILED is an answer with the connector's reason; a TRACE ERROR, a crash or no
 * answer at all is a failed check with what is known. Never throws; reasons are masked.
 */
import { isObject } from '../../protocol/lines.ts';
import type { CheckResult, ConnectorContext } from '../../sdk/context.ts';
import { describeError } from '../../sdk/errors.ts';
import { readAirbyteAnswer } from './airbyte-output.ts';
import { programName } from './child.ts';
import { redactor } from './redact.ts';
import { runToCompletion } from './run.ts';
import type { ExternalConfig } from './spec-fields.ts';

export async function airbyteCheck(config: ExternalConfig, ctx: ConnectorContext): Promise<CheckResult> {
  const redact = redactor(config.config, config.env);
  const name = programName(config.command);
  try {
    const result = await runToCompletion({
      config,
      args: async (files) => ['check', '--config', await files.write('config.json', config.config)],
      logger: ctx.logger,
      redact,
      signal: ctx.signal,
      consume: (stdout) => readAirbyteAnswer(stdout, 'CONNECTION_STATUS', { name, logger: ctx.logger, redact }),
    });
    const status = result.value.message?.connectionStatus;
    if (isObject(status) && status.status === 'SUCCEEDED') return { ok: true };
    if (isObject(status) && status.status === 'FAILED') {
      return { ok: false, reason: typeof status.message === 'string' && status.message !== '' ? redact(status.message) : `${name} reports that the check failed` };
    }
    if (result.value.error !== undefined) return { ok: false, reason: result.value.error };
    return { ok: false, reason: result.exit.code === 0 ? `${name} printed no CONNECTION_STATUS` : result.failure };
  } catch (error) {
    return { ok: false, reason: redact(describeError(error)) };
  }
}
