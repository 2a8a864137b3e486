/**
 * Helpers for destinations that speak HTTP: turn a response or a network failure into an outcome, using the
 * one status → retry-class map in errors.ts, honour `Retry-After` (seconds or an HTTP-date, capped), and
 * read a response body only up to a cap.
 */
import { classifyHttpStatus } from './errors.ts';
import { type Outcome, delivered, rejected, retry } from './outcome.ts';

/** Retry-After values beyond this are clamped: a peer must not park a run for hours. */
export const RETRY_AFTER_CAP_MS = 5 * 60_000;

/**
 * The epoch-ms time a `Retry-After` header asks us to wait until, or undefined when absent or unreadable.
 * Accepts delta-seconds (`120`) and HTTP-dates (`Wed, 21 Oct 2015 07:28:00 GMT`); capped at `capMs` from now.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now(), capMs = RETRY_AFTER_CAP_MS): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  let waitMs: number;
  if (/^\d+$/.test(trimmed)) {
    waitMs = Number(trimmed) * 1000;
  } else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    waitMs = date - now;
  }
  return now + Math.min(Math.max(waitMs, 0), capMs);
}

/** How much of a response body goes into a rejection reason. */
const EXCERPT_CHARS = 300;

export function excerpt(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

/** The outcome of a whole-batch HTTP response. */
export function outcomeForHttpResponse(status: number, retryAfter: string | string[] | undefined, body: string): Outcome {
  const kind = classifyHttpStatus(status);
  if (kind === 'ok') return delivered();
  const detail = body === '' ? `HTTP ${status}` : `HTTP ${status}: ${excerpt(body)}`;
  if (kind === 'transient') return retry(detail, parseRetryAfter(retryAfter));
  return rejected(detail);
}

/** Network-level failures (refused, reset, timed out) are always worth another try. */
export function outcomeForNetworkError(error: unknown): Outcome {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return retry(typeof code === 'string' ? `${code}: ${message}` : message);
}

/**
 * A response body as text, at most `maxBytes` of it (a peer's error page or answer can be any size).
 * Leaving the loop early destroys the body, which closes that one connection: fine for a rare huge body.
 */
export async function readBodyCapped(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    chunks.push(buffer);
    size += buffer.length;
    if (size >= maxBytes) break;
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}
