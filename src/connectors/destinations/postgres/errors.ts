/**
 * What a PostgreSQL or driver error means for a batch:
 * - `data`: the rows are at fault (SQLSTATE classes 21 cardinality, 22 data exception, 23 integrity
 *   constraint): find the offending rows, reject them, deliver the rest;
 * - `transient`: the connection or the server is unavailable for now (refused, reset, class 08, shutdown,
 *   out of resources, serialization failure, deadlock, lock or statement timeout): retry the records;
 * - `auth`: credentials or privileges refused (class 28, 42501): the run fails with AUTH_REFUSED;
 * - `config`: the database or schema is missing, or the table cannot take the write (undefined column,
 *   wrong type): the run fails with a message to act on.
 * Messages quoting the server never carry a secret: `scrub` replaces every secret value of the config.
 */
import { SluiceError } from '../../../sdk/errors.ts';

export type ErrorKind = 'data' | 'transient' | 'auth' | 'config';

interface PgErrorFields {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly detail?: unknown;
  readonly column?: unknown;
  readonly where?: unknown;
  readonly constraint?: unknown;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
const TRANSIENT_STATES = new Set(['40001', '40P01', '55P03', '57014', '57P01', '57P02', '57P03', '58000', '58030']);

function fields(error: unknown): PgErrorFields {
  return error !== null && typeof error === 'object' ? (error as PgErrorFields) : {};
}

export function sqlState(error: unknown): string | undefined {
  const code = fields(error).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function classifyError(error: unknown): ErrorKind {
  const state = sqlState(error);
  if (state !== undefined) {
    const klass = state.slice(0, 2);
    if (klass === '21' || klass === '22' || klass === '23') return 'data';
    if (klass === '28' || state === '42501') return 'auth';
    if (klass === '08' || klass === '53' || TRANSIENT_STATES.has(state)) return 'transient';
    return 'config';
  }
  const code = fields(error).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'transient';
  const message = error instanceof Error ? error.message : String(error);
  // What pg says when a connection drops or times out underneath a query.
  if (/connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|socket|ECONN/i.test(message)) return 'transient';
  return 'config';
}

/** The COPY line (1-based) a COPY error names, when it is about one row's data. */
export function copyLine(error: unknown): number | undefined {
  const where = fields(error).where;
  if (typeof where !== 'string') return undefined;
  const match = /\bCOPY [^,]+, line (\d+)/.exec(where);
  return match === null ? undefined : Number(match[1]);
}

/** The column a data error is about: the server's `column` field, or the one COPY names. */
export function errorColumn(error: unknown): string | undefined {
  const { column, where } = fields(error);
  if (typeof column === 'string' && column !== '') return column;
  if (typeof where === 'string') {
    const match = /\bCOPY [^,]+, line \d+, column ([^:]+)/.exec(where);
    if (match !== null) return match[1];
  }
  return undefined;
}

/** Replace every secret value in a message. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) if (secret.length > 0) out = out.replaceAll(secret, '***');
  return out;
}

/** The reason a rejected row gets: the server's message, the column it names, and its detail. */
export function rowReason(error: unknown, secrets: readonly string[]): string {
  const { message, detail } = fields(error);
  const column = errorColumn(error);
  let reason = typeof message === 'string' && message !== '' ? message : String(error);
  if (column !== undefined && !reason.includes(`"${column}"`)) reason += ` (column ${column})`;
  if (typeof detail === 'string' && detail !== '') reason += `: ${detail}`;
  const state = sqlState(error);
  return scrub(`postgres refused the row${state === undefined ? '' : ` [${state}]`}: ${reason}`, secrets);
}

/** One line about a failure that is not about a row, for retry reasons and run errors. */
export function describePgError(error: unknown, secrets: readonly string[]): string {
  const { message, detail } = fields(error);
  const state = sqlState(error);
  const code = fields(error).code;
  let text = typeof message === 'string' && message !== '' ? message : typeof code === 'string' ? code : String(error);
  if (typeof detail === 'string' && detail !== '') text += ` (${detail})`;
  if (state !== undefined) text += ` [${state}]`;
  return scrub(text, secrets);
}

/** The SluiceError a batch-wide failure of a given kind becomes (data errors are handled row by row). */
export function sluiceErrorFor(error: unknown, where: string, secrets: readonly string[]): SluiceError {
  const text = `${where}: ${describePgError(error, secrets)}`;
  switch (classifyError(error)) {
    case 'auth':
      return new SluiceError('AUTH_REFUSED', text, { cause: error });
    case 'transient':
      return new SluiceError('NETWORK', text, { cause: error });
    case 'data':
      return new SluiceError('DESTINATION_REJECTED', text, { cause: error });
    default:
      return new SluiceError('DESTINATION_FAILED', text, { cause: error });
  }
}
