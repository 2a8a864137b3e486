/**
 * Tells a webhook that a run failed (an activation's `notify.webhook_url`). The body is a Slack-compatible
 * incoming-webhook message — `{ text, blocks: [one mrkdwn section] }` — which Slack, Mattermost and most chat
 * tools accept, and which any other receiver can read as JSON.
 *
 * Promises:
 * - never throws and never rejects: it resolves true when the webhook answered 2xx, false otherwise;
 * - at most 3 attempts, retrying only on a network error or timeout, 429 or 5xx, after a short backoff
 *   (0.5 s, then 1 s) or the answer's `Retry-After` (capped at 30 s);
 * - never logs the URL, which for Slack carries a secret token in its path: only its origin (scheme + host).
 */
import { request } from 'undici';

export interface FailedRunNotice {
  readonly runId: string;
  readonly activation: string;
  readonly error: string;
  readonly startedAt?: Date | string;
  readonly finishedAt?: Date | string;
  readonly counters?: { readonly read: number; readonly delivered: number; readonly rejected: number };
  /** Where a person can see the run (e.g. the UI's run page). */
  readonly link?: string;
}

export interface NotifyOptions {
  /** Per attempt; default 10 s. */
  readonly timeoutMs?: number;
  readonly logger?: { warn(obj: object, msg?: string): void };
}

const MAX_ATTEMPTS = 3;
const BASE_BACKOFF_MS = 500;
const MAX_RETRY_AFTER_MS = 30_000;
/** Slack rejects a section text over 3000 characters. */
const MAX_ERROR_CHARS = 1500;

export async function notifyRunFailed(url: string, run: FailedRunNotice, options: NotifyOptions = {}): Promise<boolean> {
  const logger = options.logger;
  const timeoutMs = options.timeoutMs ?? 10_000;

  let origin: string;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
    origin = parsed.origin;
  } catch {
    // The URL itself may hold a token; not even a malformed one is logged.
    logger?.warn({ runId: run.runId, activation: run.activation }, 'run-failed notification skipped: the webhook URL is not a valid http(s) URL');
    return false;
  }
  const fields = { webhook: origin, runId: run.runId, activation: run.activation };
  const body = JSON.stringify(failedRunMessage(run));

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    let retryAfterMs: number | undefined;
    let outcome: string;
    try {
      const response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'sluice' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await response.body.dump().catch(() => {});
      const status = response.statusCode;
      if (status >= 200 && status < 300) return true;
      if (status !== 429 && status < 500) {
        logger?.warn({ ...fields, status, attempt }, 'run-failed notification refused by the webhook; not retrying');
        return false;
      }
      outcome = `HTTP ${status}`;
      retryAfterMs = parseRetryAfter(response.headers['retry-after']);
    } catch (error) {
      // Report only the error's code/name: undici messages can quote the request.
      const err = error as { code?: unknown; name?: unknown };
      outcome = typeof err.code === 'string' ? err.code : typeof err.name === 'string' ? err.name : 'network error';
    }
    if (attempt === MAX_ATTEMPTS) {
      logger?.warn({ ...fields, attempt, outcome }, 'run-failed notification not delivered; giving up');
      return false;
    }
    const delayMs = Math.min(retryAfterMs ?? BASE_BACKOFF_MS * 2 ** (attempt - 1), MAX_RETRY_AFTER_MS);
    logger?.warn({ ...fields, attempt, outcome, retryInMs: delayMs }, 'run-failed notification not delivered; retrying');
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  return false;
}

/** The webhook body for a failed run (exported for tests and for previews). */
export function failedRunMessage(run: FailedRunNotice): { text: string; blocks: unknown[] } {
  const error = run.error.length > MAX_ERROR_CHARS ? `${run.error.slice(0, MAX_ERROR_CHARS)}…` : run.error;
  const lines = [
    `*Sluice run failed*`,
    `*Activation:* ${escape(run.activation)}`,
    `*Run:* ${escape(run.runId)}`,
    `*Error:* ${escape(error)}`,
  ];
  if (run.counters) {
    const { read, delivered, rejected } = run.counters;
    lines.push(`*Records:* ${read} read, ${delivered} delivered, ${rejected} rejected`);
  }
  if (run.startedAt !== undefined) lines.push(`*Started:* ${iso(run.startedAt)}`);
  if (run.finishedAt !== undefined) lines.push(`*Finished:* ${iso(run.finishedAt)}`);
  if (run.link) lines.push(`<${escape(run.link).replaceAll('|', '%7C')}|View the run>`);
  return {
    text: `Sluice run failed: ${escape(run.activation)} — ${escape(error)}`,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }],
  };
}

/** Slack's mrkdwn needs only these three escaped. */
function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function iso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : value;
}

function parseRetryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
