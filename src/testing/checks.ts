/**
 * How a conformance check runs: in a fresh scratch directory with a tag of its own, under a time limit,
 * with a logger that captures every line — so that after the check, any secret it learnt of (a config's
 * secret values, a planted canary) that shows up in a log line fails it. A check passes by returning
 * (optionally a note of what it measured), fails by throwing `CheckFailed` (or anything else), and skips
 * by throwing `CheckSkipped` with the reason.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectorContext, Logger } from '../sdk/context.ts';
import { describeError } from '../sdk/errors.ts';
import { stringifyJson } from '../protocol/json.ts';
import type { CheckResult, ConfigInput, ConfigScope, RawConfig } from './types.ts';

export class CheckFailed extends Error {
  override readonly name = 'CheckFailed';
}

export class CheckSkipped extends Error {
  override readonly name = 'CheckSkipped';
}

/** Fail the check with `message` unless `condition` holds. */
export function expectThat(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

export interface CheckContext {
  readonly scope: ConfigScope;
  /** Every line logged during the check, as JSON text: scanned for secrets afterwards. */
  readonly logLines: string[];
  /** Values that must never appear in a log line; checks add what they plant or read. */
  readonly secrets: Set<string>;
  /** The context to hand connector calls: the capturing logger and the check's abort signal. */
  readonly connector: ConnectorContext;
}

export interface Check {
  readonly id: string;
  readonly title: string;
  run(ctx: CheckContext): Promise<string | void>;
}

export interface RunCheckOptions {
  readonly skip?: Readonly<Record<string, string>> | undefined;
  readonly timeoutMs?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export async function runCheck(check: Check, options: RunCheckOptions = {}): Promise<CheckResult> {
  const started = performance.now();
  const result = (status: CheckResult['status'], message: string): CheckResult => ({
    id: check.id,
    title: check.title,
    status,
    message,
    durationMs: Math.round(performance.now() - started),
  });
  const skipReason = options.skip?.[check.id];
  if (skipReason !== undefined) return result('skip', skipReason);

  const dir = await mkdtemp(join(tmpdir(), 'sluice-conformance-'));
  const controller = new AbortController();
  const logLines: string[] = [];
  const ctx: CheckContext = {
    scope: { dir, tag: `${check.id}-${randomBytes(4).toString('hex')}` },
    logLines,
    secrets: new Set(),
    connector: { logger: capturingLogger(logLines), signal: controller.signal, runId: `conformance-${randomBytes(4).toString('hex')}` },
  };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new CheckFailed(`did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const note = await Promise.race([check.run(ctx), timeout]);
    const leak = findLeak(logLines, ctx.secrets);
    if (leak !== undefined) return result('fail', leak);
    return result('pass', note ?? '');
  } catch (error) {
    if (error instanceof CheckSkipped) return result('skip', error.message);
    if (error instanceof CheckFailed) return result('fail', error.message);
    return result('fail', `threw: ${describeError(error)}`);
  } finally {
    clearTimeout(timer);
    controller.abort();
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Resolve a config input for a scope. */
export async function resolveConfigInput(input: ConfigInput, scope: ConfigScope): Promise<RawConfig> {
  return typeof input === 'function' ? await input(scope) : input;
}

function capturingLogger(lines: string[]): Logger {
  const log = (level: string) => (obj: object, msg?: string) => {
    lines.push(`${level} ${msg ?? ''} ${safeJson(obj)}`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function safeJson(value: unknown): string {
  try {
    return stringifyJson(value);
  } catch {
    return String(value);
  }
}

/** A one-line description of the first secret found in a log line, or undefined. */
export function findLeak(lines: readonly string[], secrets: ReadonlySet<string>): string | undefined {
  for (const line of lines) {
    for (const secret of secrets) {
      if (line.includes(secret)) return `a secret value appeared in a log line: ${line.replaceAll(secret, '<SECRET>').slice(0, 200)}`;
    }
  }
  return undefined;
}
