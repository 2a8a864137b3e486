/**
 * Pendo's metadata API behind a keep-alive connection pool: `setValues` posts a bulk update, `schema` reads
 * a kind's metadata schema (the cheap authenticated call `check` makes). Each reports what came back — the
 * status, Retry-After and the body text (capped) — and decides nothing: what a status or a result means is
 * decided in index.ts and results.ts.
 *
 * The integration key is a secret. Nothing this module returns or throws contains it: response text is
 * redacted before it leaves (a server may echo the key back), and Pendo is named by host only.
 */
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { type PendoConfig, pendoBaseUrl } from './spec.ts';
import { readBodyCapped } from '../../../sdk/http.ts';

export type PendoKind = 'visitor' | 'account';

export interface PendoReply {
  readonly status: number;
  readonly retryAfter: string | string[] | undefined;
  /** The body text, redacted: whole (up to a generous cap) for 2xx, whose per-record results we need; the start of it otherwise. */
  readonly body: string;
}

/** A 2xx result lists missing ids and errors: enough room for the largest batch's worth of them. */
const MAX_RESULT_BYTES = 16 * 1024 * 1024;
/** Enough of an error page to explain it; the rest is discarded so a huge page cannot fill memory. */
const MAX_ERROR_BYTES = 8 * 1024;

export class PendoClient {
  /** `host[:port]`: what messages name. */
  readonly host: string;
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly key: string;
  private readonly timeoutMs: number;

  constructor(config: PendoConfig, connections = config.concurrency) {
    const base = new URL(pendoBaseUrl(config));
    this.host = base.host;
    this.prefix = base.pathname.replace(/\/+$/, '');
    this.key = config.integration_key;
    this.timeoutMs = config.timeout_ms;
    this.pool = new Pool(base.origin, {
      connections,
      headersTimeout: config.timeout_ms,
      bodyTimeout: config.timeout_ms,
      connect: { timeout: Math.min(config.timeout_ms, 30_000) },
    });
  }

  /** `POST /api/v1/metadata/{kind}/{group}/value[?create=true]` with a JSON array of `{visitorId|accountId, values}`. */
  setValues(kind: PendoKind, group: PendoConfig['group'], create: boolean, body: string, signal?: AbortSignal): Promise<PendoReply> {
    return this.request('POST', `/api/v1/metadata/${kind}/${group}/value${create ? '?create=true' : ''}`, body, signal);
  }

  /** `GET /api/v1/metadata/schema/{kind}`: the fields of each metadata group, by name. */
  schema(kind: PendoKind, signal?: AbortSignal): Promise<PendoReply> {
    return this.request('GET', `/api/v1/metadata/schema/${kind}`, undefined, signal);
  }

  /** Replace the integration key in text sent back to the engine (reasons, error messages) with `***`. */
  redact(text: string): string {
    return this.key.length >= 4 ? text.replaceAll(this.key, '***') : text;
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async request(method: 'GET' | 'POST', path: string, body: string | undefined, signal: AbortSignal | undefined): Promise<PendoReply> {
    const response = await this.pool.request({
      path: `${this.prefix}${path}`,
      method,
      headers: {
        'x-pendo-integration-key': this.key,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      ...(body === undefined ? {} : { body }),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      signal,
    });
    return this.reply(response);
  }

  private async reply(response: Dispatcher.ResponseData): Promise<PendoReply> {
    const { statusCode, headers, body } = response;
    const ok = statusCode >= 200 && statusCode < 300;
    const text = await readBodyCapped(body, ok ? MAX_RESULT_BYTES : MAX_ERROR_BYTES);
    return { status: statusCode, retryAfter: headers['retry-after'], body: this.redact(text) };
  }
}

