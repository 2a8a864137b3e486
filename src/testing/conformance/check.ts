/**
 * `check` checks, for sources and destinations alike: the valid config passes; a config that parses but
 * cannot work is refused — without throwing — with a reason a user can act on that holds no secret. A
 * canary is planted in every secret field of the failing config to prove the last point.
 */
import type { z } from 'zod';
import type { CheckResult as ConnectorCheckResult, ConnectorContext } from '../../sdk/context.ts';
import { describeError } from '../../sdk/errors.ts';
import { parseConfig } from '../../sdk/spec.ts';
import { breakConfig } from '../break-config.ts';
import { newCanary, plantCanary, secretValues } from '../canary.ts';
import { type Check, CheckFailed, CheckSkipped, expectThat, resolveConfigInput } from '../checks.ts';
import type { CommonConformanceOptions, ConfigScope, RawConfig } from '../types.ts';

export interface CheckSubject {
  readonly spec: z.ZodType;
  check(config: never, ctx: ConnectorContext): Promise<ConnectorCheckResult>;
}

/** Why a reason is no help to a user, or undefined when it reads fine. */
export function unreadableReason(reason: unknown): string | undefined {
  if (typeof reason !== 'string' || reason.trim() === '') return 'the reason is empty';
  if (/\[object \w+\]|^(undefined|null|error)$/i.test(reason.trim())) return `the reason says nothing: "${reason}"`;
  if (/\n\s+at [^\n]+:\d+/.test(reason)) return 'the reason holds a stack trace';
  if (reason.length > 1000) return `the reason is ${reason.length} characters long; say it in a sentence`;
  return undefined;
}

export function parseOrFail(spec: z.ZodType, config: RawConfig, what: string): unknown {
  const parsed = parseConfig(spec, config);
  if (!parsed.ok) throw new CheckFailed(`the ${what} config is refused by the spec: ${parsed.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  return parsed.value;
}

/** The invalid config: the one given, or one derived from the valid config. */
async function invalidConfig(subject: CheckSubject, options: CommonConformanceOptions, scope: ConfigScope): Promise<{ config: RawConfig; note: string }> {
  if (options.invalidConfig !== undefined) return { config: await resolveConfigInput(options.invalidConfig, scope), note: '' };
  const broken = breakConfig(subject.spec, await resolveConfigInput(options.validConfig, scope));
  if (broken === undefined) throw new CheckSkipped('no invalid config given, and none could be derived (give one that parses but cannot work)');
  return { config: broken.config, note: ` (derived: ${broken.changes.join(', ')})` };
}

async function callCheck(subject: CheckSubject, config: unknown, ctx: ConnectorContext): Promise<ConnectorCheckResult> {
  try {
    return await subject.check(config as never, ctx);
  } catch (error) {
    throw new CheckFailed(`check threw instead of returning { ok: false, reason }: ${describeError(error)}`);
  }
}

export function checkChecks(subject: CheckSubject, options: CommonConformanceOptions): Check[] {
  return [
    {
      id: 'check.valid',
      title: 'check passes on the valid config',
      async run(ctx) {
        const raw = await resolveConfigInput(options.validConfig, ctx.scope);
        for (const secret of secretValues(subject.spec, raw)) ctx.secrets.add(secret);
        const result = await callCheck(subject, parseOrFail(subject.spec, raw, 'valid'), ctx.connector);
        expectThat(result.ok, `check refused the valid config: ${result.ok ? '' : result.reason}`);
      },
    },
    {
      id: 'check.invalid',
      title: 'check refuses a config that cannot work, with a readable reason and no secret in it',
      async run(ctx) {
        const { config, note } = await invalidConfig(subject, options, ctx.scope);
        const canary = newCanary();
        ctx.secrets.add(canary);
        const planted = plantCanary(subject.spec, config, canary);
        const result = await callCheck(subject, parseOrFail(subject.spec, planted.config, 'invalid'), ctx.connector);
        expectThat(!result.ok, `check passed a config that cannot work${note}`);
        const problem = unreadableReason(result.reason);
        expectThat(problem === undefined, `${problem}${note}`);
        expectThat(!result.reason.includes(canary), `the reason reveals a secret field's value: ${result.reason.replaceAll(canary, '<SECRET>')}`);
        const secrets = planted.planted.length === 0 ? 'no secret fields' : `canary in ${planted.planted.join(', ')}`;
        const skipped = planted.unplantable.length === 0 ? '' : `; could not plant in ${planted.unplantable.join(', ')}`;
        return `"${result.reason}"${note} [${secrets}${skipped}]`;
      },
    },
  ];
}
