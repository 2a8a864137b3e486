/**
 * Reads the __Title__ API one page at a time: `GET <url>?limit=N&cursor=C` answers
 * `{ "items": [...], "next": "<cursor>" | null }`. Numbers are parsed exactly (big integers stay exact).
 * Failures name the host and status, never the API key.
 */
import { Pool } from 'undici';
import { SluiceError, classifyHttpStatus, excerpt, parseJson } from 'sluice/sdk';
import type { JsonObject } from 'sluice/sdk';
import type { __Pascal__Config } from './spec.ts';

export interface Page {
  readonly items: readonly JsonObject[];
  readonly next: string | null;
}

export class __Pascal__Client {
  readonly host: string;
  private readonly pool: Pool;
  private readonly url: URL;

  constructor(private readonly config: __Pascal__Config) {
    this.url = new URL(config.url);
    this.host = this.url.host;
    const timeout = config.timeout_ms;
    this.pool = new Pool(this.url.origin, { connections: 1, headersTimeout: timeout, bodyTimeout: timeout, connect: { timeout } });
  }

  async page(cursor: string | undefined, limit: number, signal?: AbortSignal): Promise<Page> {
    const query = new URLSearchParams(this.url.search);
    query.set('limit', String(limit));
    if (cursor !== undefined) query.set('cursor', cursor);
    const response = await this.pool.request({
      path: `${this.url.pathname}?${query}`,
      method: 'GET',
      headers: { accept: 'application/json', authorization: `Bearer ${this.config.api_key}` },
      signal,
    });
    const text = (await response.body.text()).replaceAll(this.config.api_key, '***');
    const kind = classifyHttpStatus(response.statusCode);
    if (kind === 'auth') throw new SluiceError('AUTH_REFUSED', `${this.host} refused the API key (HTTP ${response.statusCode})`);
    if (kind !== 'ok') throw new SluiceError('SOURCE_FAILED', `${this.host} answered HTTP ${response.statusCode}: ${excerpt(text)}`);
    const body = parseJson(text) as { items?: JsonObject[]; next?: string | null };
    if (!Array.isArray(body.items)) throw new SluiceError('SOURCE_FAILED', `${this.host} answered without an "items" array`);
    return { items: body.items, next: typeof body.next === 'string' ? body.next : null };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
