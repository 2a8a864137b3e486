/**
 * A run's logger: every line goes both to the process logger (tagged with the run id and activation) and
 * to the run's own log in the store (`sluice.run_logs`, what `GET /runs/:id/logs` shows), buffered and
 * written about every 500 ms and at the end.
 *
 * Promises:
 * - no secret value of the run's config reaches either place: every message and every string inside the
 *   fields passes through a redactor built from the config's secrets (as stored, and after `${VAR}`
 *   substitution, and the substituted variables themselves);
 * - a failed write to the store is reported on the process logger and never fails the run;
 * - at most MAX_STORED_LINES lines are stored per run attempt (then one line says so); the process
 *   logger still gets them all.
 */
import { redactor, type Redact } from '../interop/external/redact.ts';
import type { Logger } from '../sdk/context.ts';
import { describeError } from '../sdk/errors.ts';
import { secretValues } from '../store/config-secrets.ts';
import type { Queryable } from '../store/db.ts';
import { appendRunLogs, type RunLogLine } from '../store/run-records.ts';

const FLUSH_MS = 500;
const MAX_STORED_LINES = 10_000;
const MAX_DEPTH = 6;
const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** The redactor for a run: every secret of its stored config, before and after `${VAR}` substitution. */
export function configRedactor(stored: unknown, key: Buffer, env: NodeJS.ProcessEnv): Redact {
  const values: string[] = [];
  for (const secret of secretValues(stored, key)) {
    values.push(secret);
    if (!secret.includes('${')) continue;
    values.push(secret.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? ''));
    for (const [, name] of secret.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
      const value = name === undefined ? undefined : env[name];
      if (value !== undefined) values.push(value);
    }
  }
  return redactor(values);
}

export interface RunLogger {
  readonly logger: Logger;
  /** Writes what is buffered; resolves when it is stored (or the failure was reported). */
  flush(): Promise<void>;
  /** Stops the timer and writes the rest. */
  close(): Promise<void>;
}

export function createRunLogger(input: {
  readonly db: Queryable;
  readonly runId: string;
  readonly activation: string;
  readonly base: Logger;
  readonly redact: Redact;
}): RunLogger {
  const { db, runId, activation, base, redact } = input;
  let buffer: RunLogLine[] = [];
  let stored = 0;
  let writing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    const lines = buffer;
    buffer = [];
    if (lines.length > 0) {
      writing = writing.then(() =>
        appendRunLogs(db, runId, lines).catch((error: unknown) => {
          base.warn({ runId, activation, lines: lines.length, error: describeError(error) }, 'could not store run log lines');
        }),
      );
    }
    return writing;
  };
  const timer = setInterval(() => void flush(), FLUSH_MS);

  const line = (level: (typeof LEVELS)[number]) => (obj: object, msg?: string) => {
    const data = clean(obj, redact, 0) as Record<string, unknown>;
    const message = redact(msg ?? '');
    base[level]({ ...data, runId, activation }, message);
    if (stored < MAX_STORED_LINES) {
      buffer.push({ at: new Date().toISOString(), level, message, ...(Object.keys(data).length > 0 ? { data } : {}) });
    } else if (stored === MAX_STORED_LINES) {
      buffer.push({ at: new Date().toISOString(), level: 'warn', message: `more than ${MAX_STORED_LINES} log lines: the rest are not stored` });
    }
    stored++;
  };
  const logger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };

  return {
    logger,
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

/** A JSON-safe copy of log fields with every string redacted (errors become their redacted message). */
function clean(value: unknown, redact: Redact, depth: number): unknown {
  if (typeof value === 'string') return redact(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return redact(describeError(value));
  if (value instanceof Date) return value.toISOString();
  if (typeof value !== 'object') return undefined;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((item) => clean(item, redact, depth + 1) ?? null);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const cleaned = clean(item, redact, depth + 1);
    if (cleaned !== undefined) out[key] = cleaned;
  }
  return out;
}
