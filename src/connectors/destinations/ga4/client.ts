/**
 * GA4's Measurement Protocol behind a keep-alive connection pool: `collect` posts a request to
 * `/mp/collect`, `validate` the same request to `/debug/mp/collect`, both with `?measurement_id=…` (web) or
 * `?firebase_app_id=…` (app) and `&api_secret=…`. Each reports what came back — status, Retry-After, the
 * body text (capped) — and decides nothing: what an answer means is decided in index.ts.
 *
 * Requests in flight are bounded across the whole run by `concurrency` (a write sends several requests,
 * and several writes run at once). The api_secret travels in the query string, so GA4 is named by host
 * only, and response text is redacted before it leaves.
 */
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { type Ga4Config, ga4BaseUrl } from './spec.ts';
import { readBodyCapped } from '../../../sdk/http.ts';

export interface Ga4Reply {
  readonly status: number;
  readonly retryAfter: string | string[] | undefined;
  /** The body text, redacted and capped. */
  readonly body: string;
}

/** A validation answer lists a few messages per event: 25 events' worth fits easily. */
const MAX_BODY_BYTES = 256 * 1024;

export class Ga4Client {
  /** `host[:port]`: what messages name. */
  readonly host: string;
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly query: string;
  private readonly secret: string;
  private readonly timeoutMs: number;
  private readonly slots: Semaphore;

  constructor(config: Ga4Config, connections = config.concurrency) {
    const base = new URL(ga4BaseUrl(config));
    this.host = base.host;
    this.prefix = base.pathname.replace(/\/+$/, '');
    const stream = config.measurement_id === undefined ? `firebase_app_id=${encodeURIComponent(config.firebase_app_id ?? '')}` : `measurement_id=${encodeURIComponent(config.measurement_id)}`;
    this.query = `?${stream}&api_secret=${encodeURIComponent(config.api_secret)}`;
    this.secret = config.api_secret;
    this.timeoutMs = config.timeout_ms;
    this.slots = new Semaphore(connections);
    this.pool = new Pool(base.origin, {
      connections,
      headersTimeout: config.timeout_ms,
      bodyTimeout: config.timeout_ms,
      connect: { timeout: Math.min(config.timeout_ms, 30_000) },
    });
  }

  /** `POST /mp/collect`: GA4 answers 2xx with no body, whatever it makes of the events. */
  collect(body: string, signal?: AbortSignal): Promise<Ga4Reply> {
    return this.post('/mp/collect', body, signal);
  }

  /** `POST /debug/mp/collect`: the same request checked, answered with `{ validationMessages }`; nothing is recorded. */
  validate(body: string, signal?: AbortSignal): Promise<Ga4Reply> {
    return this.post('/debug/mp/collect', body, signal);
  }

  /** Replace the api_secret in text sent back to the engine (reasons, error messages) with `***`. */
  redact(text: string): string {
    if (this.secret.length < 4) return text;
    return text.replaceAll(this.secret, '***').replaceAll(encodeURIComponent(this.secret), '***');
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async post(path: string, body: string, signal: AbortSignal | undefined): Promise<Ga4Reply> {
    const release = await this.slots.acquire(signal);
    try {
      const response = await this.pool.request({
        path: `${this.prefix}${path}${this.query}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal,
      });
      return await this.reply(response);
    } finally {
      release();
    }
  }

  private async reply(response: Dispatcher.ResponseData): Promise<Ga4Reply> {
    const { statusCode, headers, body } = response;
    const text = await readBodyCapped(body, MAX_BODY_BYTES);
    return { status: statusCode, retryAfter: headers['retry-after'], body: this.redact(text) };
  }
}

/** At most `size` holders at once; the rest wait in order. */
class Semaphore {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.free > 0) {
      this.free--;
      return this.releaser();
    }
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        const at = this.waiting.indexOf(wake);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      this.waiting.push(wake);
      signal?.addEventListener('abort', abort, { once: true });
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next === undefined) this.free++;
      else next();
    };
  }
}

