/**
 * Errors a connector or the engine can raise. Every error carries a stable `code` (documented in
 * docs/errors.md, kept in sync by errors.test.ts) and a retry class that tells the engine what to do:
 *
 * - `config`    the configuration is wrong; retrying cannot help, the run fails.
 * - `auth`      credentials were refused; retrying cannot help, the run fails.
 * - `transient` the peer is busy or away (429, 408, 5xx, timeouts, resets); retry with backoff.
 * - `record`    this record (or batch) is unacceptable to the destination; reject it, go on with the rest.
 */
export type RetryClass = 'config' | 'auth' | 'transient' | 'record';

/** Every code Sluice raises, with the one-line meaning users see in docs/errors.md. */
export const ERROR_CODES = {
  CONFIG_INVALID: 'A configuration value is missing or wrong; the message names the JSON path.',
  CONNECTOR_UNKNOWN: 'The `type` names no registered connector.',
  AUTH_REFUSED: 'The destination refused the credentials (HTTP 401 or 403).',
  HTTP_TRANSIENT: 'The destination answered 408, 429 or a 5xx other than 501; the request is retried.',
  DESTINATION_REJECTED: 'The destination refused the record (for HTTP: a 4xx other than 401/403/408/429, or 501); the reason quotes its answer.',
  NETWORK: 'The connection failed, was reset or timed out; the request is retried.',
  RECORD_INVALID: "A record does not match the destination object's schema; the message names the field.",
  RECORD_MALFORMED: 'A source line could not be parsed; the message names the file and line.',
  MAPPING_FAILED: 'A mapping could not be applied to a record.',
  RETRIES_EXHAUSTED: 'A record stayed undeliverable after the maximum attempts or elapsed time.',
  SOURCE_FAILED: 'The source failed while reading; the run stops after saving state over settled records.',
  DESTINATION_FAILED: 'The destination failed in a way that is not specific to one record.',
  CHANGE_LIMIT: "The run's plan changes more of the rows last delivered than the activation's `max_change_ratio` allows; nothing was sent.",
  SCHEMA_CHANGED: "The source stream's columns changed and the activation's `on_schema_change` is `fail`; nothing was read.",
  BULK_JOB_FAILED: 'A bulk job (an uploaded file) failed as a whole, again after one re-upload: its rows are rejected with the job\'s reason.',
  BULK_JOB_TIMEOUT: "A bulk job did not finish within the object's job timeout: its rows stay unsettled and the next run polls the job again.",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface SluiceErrorOptions {
  readonly retryClass?: RetryClass;
  readonly cause?: unknown;
  /** For transient errors: do not retry before this time (epoch ms), e.g. from `Retry-After`. */
  readonly notBefore?: number;
}

const DEFAULT_CLASS: Record<ErrorCode, RetryClass> = {
  CONFIG_INVALID: 'config',
  CONNECTOR_UNKNOWN: 'config',
  AUTH_REFUSED: 'auth',
  HTTP_TRANSIENT: 'transient',
  DESTINATION_REJECTED: 'record',
  NETWORK: 'transient',
  RECORD_INVALID: 'record',
  RECORD_MALFORMED: 'record',
  MAPPING_FAILED: 'record',
  RETRIES_EXHAUSTED: 'record',
  SOURCE_FAILED: 'config',
  DESTINATION_FAILED: 'config',
  CHANGE_LIMIT: 'config',
  SCHEMA_CHANGED: 'config',
  BULK_JOB_FAILED: 'record',
  BULK_JOB_TIMEOUT: 'transient',
};

export class SluiceError extends Error {
  override readonly name = 'SluiceError';
  readonly code: ErrorCode;
  readonly retryClass: RetryClass;
  readonly notBefore: number | undefined;

  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryClass = options.retryClass ?? DEFAULT_CLASS[code];
    this.notBefore = options.notBefore;
  }
}

/** One line for users: the code and message, never a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof SluiceError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * The one place where HTTP statuses map to retry classes: 408, 429 and 5xx (except 501 Not Implemented)
 * are transient; 401 and 403 are auth failures; every other non-2xx is permanent for the request.
 */
export function classifyHttpStatus(status: number): 'ok' | RetryClass {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 408 || status === 429) return 'transient';
  if (status >= 500 && status !== 501) return 'transient';
  if (status === 401 || status === 403) return 'auth';
  return 'record';
}
