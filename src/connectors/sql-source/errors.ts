/**
 * Failures of the SQL sources as sentences a user can act on — which server, what went wrong, what to
 * check — and as SluiceErrors whose class tells the engine what to do (a refused login fails the run, a
 * dropped connection may be retried). Every message is scrubbed of the config's secrets: drivers never
 * quote passwords, but a URL can end up in a message, and this is the one place that makes sure.
 */
import { type ErrorCode, SluiceError } from '../../sdk/errors.ts';
import { scrub } from './spec.ts';

const NETWORK: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'the connection was refused: is the server running, and are the host and port right?',
  ENOTFOUND: 'the host name does not resolve: check the host',
  EAI_AGAIN: 'the host name could not be looked up (DNS): check the host and the network',
  ETIMEDOUT: 'the connection timed out: check the host, the port and any firewall between',
  EHOSTUNREACH: 'the host is unreachable: check the host and the network',
  ENETUNREACH: 'the network is unreachable: check the host and the network',
  ECONNRESET: 'the server closed the connection',
  EPIPE: 'the server closed the connection',
};

/** The problem in a driver's network error, or undefined when it is not one. */
export function networkProblem(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? NETWORK[code] : undefined;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A SluiceError with the secrets scrubbed from its message; the driver's error stays as the cause. */
export function sqlError(code: ErrorCode, message: string, secrets: readonly string[], cause?: unknown): SluiceError {
  return new SluiceError(code, scrub(message, secrets), cause === undefined ? {} : { cause });
}

/** What `check` returns for a failure: the message alone, scrubbed, without the error code. */
export function checkReason(error: unknown, secrets: readonly string[]): string {
  const text = error instanceof SluiceError ? error.message : errorText(error);
  return scrub(text.split('\n')[0] ?? text, secrets);
}
