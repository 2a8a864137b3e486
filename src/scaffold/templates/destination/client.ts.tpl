/**
 * One __Title__ endpoint behind a keep-alive connection pool. `send` posts a batch and reports what came
 * back — status, Retry-After and, for failures, the start of the answer; what a status means is decided
 * in one place for every connector (`outcomeForHttpResponse`). The API key never appears in what this
 * returns: a server may echo it back, so answers are redacted.
 */
import { Pool } from 'undici';
import type { __Pascal__Config } from './spec.ts';

export interface Reply {
  readonly status: number;
  readonly retryAfter: string | string[] | undefined;
  readonly body: string;
}

/** Enough of an answer to explain a failure. */
const MAX_BODY_CHARS = 1000;

export class __Pascal__Client {
  /** `host[:port]`: what messages name, never the full URL. */
  readonly host: string;
  private readonly pool: Pool;
  private readonly path: string;

  constructor(private readonly config: __Pascal__Config) {
    const url = new URL(config.url);
    this.host = url.host;
    this.path = `${url.pathname}${url.search}`;
    const timeout = config.timeout_ms;
    this.pool = new Pool(url.origin, { connections: 4, headersTimeout: timeout, bodyTimeout: timeout, connect: { timeout } });
  }

  /** Post a batch; the idempotency key lets the API drop a retried repeat. */
  send(body: string, idempotencyKey: string, signal?: AbortSignal): Promise<Reply> {
    return this.request('POST', body, { 'idempotency-key': idempotencyKey }, signal);
  }

  /** A bodiless request: proves the endpoint answers and accepts the key. */
  probe(signal?: AbortSignal): Promise<Reply> {
    return this.request('OPTIONS', undefined, {}, signal);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async request(method: 'POST' | 'OPTIONS', body: string | undefined, headers: Record<string, string>, signal?: AbortSignal): Promise<Reply> {
    const response = await this.pool.request({
      path: this.path,
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.config.api_key}`, ...headers },
      body,
      signal,
    });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      retryAfter: response.headers['retry-after'],
      body: text.replaceAll(this.config.api_key, '***').slice(0, MAX_BODY_CHARS),
    };
  }
}
