/**
 * What the engine hands a connector on every call: a logger (never log config values — secrets live
 * there), a signal that aborts when the run is cancelled, and the run's id.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ConnectorContext {
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly runId: string;
}

export type CheckResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** A logger that drops everything, for tests and one-off calls. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export function defaultContext(overrides: Partial<ConnectorContext> = {}): ConnectorContext {
  return { logger: silentLogger, signal: new AbortController().signal, runId: 'adhoc', ...overrides };
}
