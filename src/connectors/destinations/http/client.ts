/**
 * One HTTP endpoint behind a keep-alive connection pool. `send` delivers a body and reports what came back —
 * the status, Retry-After and, for failures only, a capped and redacted excerpt of the response body. It
 * never decides what a status means: that mapping lives in sdk/http.ts, in one place.
 *
 * With a signing secret, every request is signed the Standard Webhooks way (signing.ts): the signature
 * covers the exact body sent, and the timestamp is taken per attempt.
 *
 * Header values and signing secrets are secrets. Nothing this module returns or throws contains them:
 * response text is redacted before it leaves (a server may echo a token back), and the endpoint is named
 * by host only.
 */
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { CONTENT_TYPES } from './body.ts';
import { WebhookSigner, signingSecrets, webhookId } from './signing.ts';
import type { HttpConfig } from './spec.ts';
import { readBodyCapped } from '../../../sdk/http.ts';

export interface HttpReply {
  readonly status: number;
  readonly retryAfter: string | string[] | undefined;
  /** Empty for 2xx (the body is drained unread); otherwise the start of the body, redacted. */
  readonly body: string;
}

/** Enough of an error body to explain it; the rest is discarded so a huge page cannot fill memory. */
const MAX_ERROR_BODY_BYTES = 8 * 1024;

export class HttpClient {
  /** `host[:port]` — what messages name, as the full URL may carry tokens in its query string. */
  readonly host: string;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly method: HttpConfig['method'];
  private readonly headers: Readonly<Record<string, string>>;
  private readonly timeoutMs: number;
  private readonly secrets: readonly string[];
  private readonly signer: WebhookSigner | undefined;

  constructor(config: HttpConfig, connections = config.concurrency) {
    const url = new URL(config.url);
    this.host = url.host;
    this.path = `${url.pathname}${url.search}`;
    this.method = config.method;
    this.timeoutMs = config.timeout_ms;
    // Lower-cased so a user's Content-Type replaces ours instead of being sent beside it.
    const headers: Record<string, string> = { 'content-type': CONTENT_TYPES[config.format] };
    for (const [name, value] of Object.entries(config.headers)) headers[name.toLowerCase()] = value;
    this.headers = headers;
    const signing = signingSecrets(config.signing_secret);
    this.signer = signing.length === 0 ? undefined : new WebhookSigner(signing);
    this.secrets = secretsOf(config.headers, signing);
    this.pool = new Pool(url.origin, {
      connections,
      headersTimeout: config.timeout_ms,
      bodyTimeout: config.timeout_ms,
      connect: { timeout: config.timeout_ms },
    });
  }

  async send(body: string, idempotencyKey: string, signal?: AbortSignal): Promise<HttpReply> {
    const signature = this.signer?.headers(webhookId(idempotencyKey), body);
    const response = await this.pool.request({
      path: this.path,
      method: this.method,
      headers: { ...this.headers, 'idempotency-key': idempotencyKey, ...signature },
      body,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      signal,
    });
    return this.reply(response);
  }

  /** A bodiless OPTIONS request with the configured headers: proves the host answers and accepts them. */
  async probe(signal?: AbortSignal): Promise<HttpReply> {
    const response = await this.pool.request({
      path: this.path,
      method: 'OPTIONS',
      headers: this.headers,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      signal,
    });
    return this.reply(response);
  }

  /** Replace every secret in text sent back to the engine (reasons, error messages) with `***`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.replaceAll(secret, '***');
    return out;
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async reply(response: Dispatcher.ResponseData): Promise<HttpReply> {
    const { statusCode, headers, body } = response;
    const retryAfter = headers['retry-after'];
    if (statusCode >= 200 && statusCode < 300) {
      // Drained, not read: a keep-alive connection can be reused only once its body is consumed.
      await body.dump();
      return { status: statusCode, retryAfter, body: '' };
    }
    return { status: statusCode, retryAfter, body: this.redact(await readBodyCapped(body, MAX_ERROR_BODY_BYTES)) };
  }
}


/**
 * What to scrub from response text: each header value, and its longer words on their own, since a server
 * may echo just the token of `Bearer <token>`; and the signing secrets. Longest first, so a value is
 * replaced before its parts.
 */
function secretsOf(headers: Readonly<Record<string, string>>, signing: readonly string[]): string[] {
  const secrets = new Set<string>();
  for (const secret of signing) if (secret.length >= 4) secrets.add(secret);
  for (const value of Object.values(headers)) {
    if (value.length >= 4) secrets.add(value);
    for (const word of value.split(/\s+/)) if (word.length >= 8) secrets.add(word);
  }
  return [...secrets].sort((a, b) => b.length - a.length);
}
