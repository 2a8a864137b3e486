/**
 * Marketo's identity and bulk lead import APIs behind a keep-alive connection pool. The client owns the
 * access token: it fetches one from `GET /identity/oauth/token` (client credentials), reuses it until
 * shortly before `expires_in` runs out, and when a call is answered 601 (token invalid) or 602 (token
 * expired) it fetches a new one and makes the call again. Every other `success: false` answer becomes a
 * SluiceError through codes.ts; HTTP-level failures through the shared status map. Calls are paced to
 * `rate_limit` over Marketo's 20-second window.
 *
 * The client secret and the tokens are secrets: nothing this module returns or throws contains them (text
 * from the server is redacted before it leaves, and the identity URL, which carries the secret, is never
 * quoted). Marketo is named by host only.
 */
import { openAsBlob } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { FormData, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { SluiceError, classifyHttpStatus } from '../../../sdk/errors.ts';
import { excerpt, outcomeForNetworkError, parseRetryAfter, readBodyCapped } from '../../../sdk/http.ts';
import { type MarketoErrorEntry, TOKEN_CODES, marketoError } from './codes.ts';
import { type MarketoBulkConfig, marketoBaseUrl } from './spec.ts';

/** What Marketo says about an import batch (`result[0]` of the status and create calls). */
export interface MarketoBatch {
  readonly batchId: number;
  readonly status: 'Queued' | 'Importing' | 'Complete' | 'Failed' | string;
  readonly numOfLeadsProcessed?: number;
  readonly numOfRowsFailed?: number;
  readonly numOfRowsWithWarning?: number;
  readonly message?: string;
}

export interface ImportParams {
  readonly lookupField: string;
  readonly listId?: number | undefined;
  readonly partitionName?: string | undefined;
}

interface Envelope {
  readonly success?: unknown;
  readonly result?: unknown;
  readonly errors?: unknown;
}

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly retryAfter: string | string[] | undefined;
  /** Redacted text: whole (up to a cap) for 2xx, the start of it otherwise. */
  readonly body: string;
}

/** Failures and warnings files hold at most a 10 MB upload's rows plus a reason each. */
const MAX_FILE_REPLY_BYTES = 32 * 1024 * 1024;
const MAX_ERROR_BYTES = 8 * 1024;
/** Renew a token this long before Marketo says it expires (less for short-lived tokens). */
const TOKEN_MARGIN_MS = 60_000;
/** A call answered 601/602 is made again with a fresh token at most this many times. */
const TOKEN_RETRIES = 2;
/** Marketo counts calls per instance over 20 seconds (100 allowed); `rate_limit` is spread over the same window. */
const RATE_WINDOW_MS = 20_000;

export class MarketoClient {
  /** `host[:port]`: what messages name. */
  readonly host: string;
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly clientId: string;
  private readonly secret: string;
  private readonly timeoutMs: number;
  private token: { readonly value: string; readonly renewAt: number } | undefined;
  private pendingToken: Promise<string> | undefined;
  /** Every token handed out, so that an echo of an old one is redacted too. */
  private readonly tokens = new Set<string>();
  /** Start times of the calls in the current rate window, and how many the window allows. */
  private readonly recent: number[] = [];
  private readonly callsPerWindow: number;

  constructor(config: MarketoBulkConfig, connections = Math.min(10, config.max_jobs + 1)) {
    const base = new URL(marketoBaseUrl(config));
    this.host = base.host;
    this.prefix = base.pathname.replace(/\/+$/, '');
    this.clientId = config.client_id;
    this.secret = config.client_secret;
    this.timeoutMs = config.timeout_ms;
    this.callsPerWindow = Math.max(1, Math.floor(config.rate_limit * (RATE_WINDOW_MS / 1000)));
    this.pool = new Pool(base.origin, {
      connections,
      headersTimeout: config.timeout_ms,
      bodyTimeout: config.timeout_ms,
      connect: { timeout: Math.min(config.timeout_ms, 30_000) },
    });
  }

  /** A valid access token: the cached one, or a new one from the identity endpoint. */
  accessToken(signal?: AbortSignal): Promise<string> {
    const cached = this.token;
    if (cached !== undefined && Date.now() < cached.renewAt) return Promise.resolve(cached.value);
    this.pendingToken ??= this.fetchToken(signal).finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  /** `GET /rest/v1/leads/describe.json`: the lead fields, by REST API name (what `check` reads). */
  async describeLeads(signal?: AbortSignal): Promise<Array<{ name: string; dataType: string }>> {
    const result = await this.json('GET', '/rest/v1/leads/describe.json', 'the lead field list', signal);
    return result.flatMap((item) => {
      const { rest, dataType } = (item ?? {}) as { rest?: { name?: unknown }; dataType?: unknown };
      return typeof rest?.name === 'string' ? [{ name: rest.name, dataType: typeof dataType === 'string' ? dataType : '' }] : [];
    });
  }

  /** `POST /bulk/v1/leads.json` (multipart: file, format=csv, lookupField, listId, partitionName): creates an import job. */
  async importLeads(path: string, fileName: string, params: ImportParams, signal?: AbortSignal): Promise<MarketoBatch> {
    const what = `the import of ${fileName}`;
    const result = await this.json('POST', '/bulk/v1/leads.json', what, signal, async () => {
      const form = new FormData();
      form.append('format', 'csv');
      form.append('lookupField', params.lookupField);
      if (params.listId !== undefined) form.append('listId', String(params.listId));
      if (params.partitionName !== undefined) form.append('partitionName', params.partitionName);
      form.append('file', await openAsBlob(path, { type: 'text/csv' }), fileName);
      return form;
    });
    return this.batchOf(result, what);
  }

  /** `GET /bulk/v1/leads/batch/{batchId}.json`: the job's status and row counts. */
  async batchStatus(batchId: number, signal?: AbortSignal): Promise<MarketoBatch> {
    const what = `the status of import batch ${batchId}`;
    return this.batchOf(await this.json('GET', `/bulk/v1/leads/batch/${batchId}.json`, what, signal), what);
  }

  /** `GET /bulk/v1/leads/batch/{batchId}/failures.json` or `…/warnings.json`: the rows, as CSV, each with a reason column appended. */
  async batchRows(batchId: number, kind: 'failures' | 'warnings', signal?: AbortSignal): Promise<string> {
    const what = `the ${kind} of import batch ${batchId}`;
    const reply = await this.authorized('GET', `/bulk/v1/leads/batch/${batchId}/${kind}.json`, what, signal);
    // A file comes back as text/csv; an error as the usual JSON envelope (or an HTTP error).
    if (reply.status < 200 || reply.status >= 300 || /json/i.test(reply.contentType) || /^\s*\{/.test(reply.body)) {
      this.result(reply, what);
      throw new SluiceError('DESTINATION_FAILED', `Marketo answered ${what} with JSON instead of a CSV file`, { retryClass: 'transient' });
    }
    return reply.body;
  }

  /** Replace the client secret and every token in text sent back to the engine (reasons, messages) with `***`. */
  redact(text: string): string {
    let out = text;
    for (const value of [this.secret, ...this.tokens]) if (value.length >= 4) out = out.replaceAll(value, '***');
    return out;
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async fetchToken(signal: AbortSignal | undefined): Promise<string> {
    const query = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.clientId, client_secret: this.secret });
    // The URL carries the secret: it must never reach a message, so errors here are described, not quoted.
    const reply = await this.send('GET', `${this.prefix}/identity/oauth/token?${query}`, undefined, signal, 'an access token');
    const kind = classifyHttpStatus(reply.status);
    if (kind === 'auth' || reply.status === 400) {
      throw new SluiceError('AUTH_REFUSED', `${this.host} refused the client id and secret (HTTP ${reply.status}${detail(reply.body)}): check client_id and client_secret in Admin > Integration > LaunchPoint`);
    }
    if (kind !== 'ok') throw httpError(reply, `${this.host} answered HTTP ${reply.status} when asked for an access token${detail(reply.body)}`);
    const parsed = parseJsonObject(reply.body) as { access_token?: unknown; expires_in?: unknown } & Envelope | undefined;
    if (parsed !== undefined && parsed.success === false) throw marketoError('an access token', errorsOf(parsed));
    const token = parsed?.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new SluiceError('DESTINATION_FAILED', `${this.host} answered the token request with no access_token: check munchkin_id or base_url`, { retryClass: 'transient' });
    }
    this.tokens.add(token);
    const lifeMs = Math.max(0, Number(parsed?.expires_in ?? 0) * 1000);
    this.token = { value: token, renewAt: Date.now() + lifeMs - Math.min(TOKEN_MARGIN_MS, lifeMs / 10) };
    return token;
  }

  /** Call with the token; on 601/602 renew it and call again. Returns the reply of the last call. */
  private async authorized(method: 'GET' | 'POST', path: string, what: string, signal: AbortSignal | undefined, body?: () => Promise<FormData>): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.accessToken(signal);
      await this.pace(signal);
      const reply = await this.send(method, `${this.prefix}${path}`, { token, ...(body === undefined ? {} : { body: await body() }) }, signal, what);
      const errors = /json/i.test(reply.contentType) || /^\s*\{/.test(reply.body) ? tokenErrors(reply.body) : [];
      if (errors.length === 0) return reply;
      if (this.token?.value === token) this.token = undefined;
      if (attempt >= TOKEN_RETRIES) {
        throw new SluiceError('AUTH_REFUSED', `${this.host} kept refusing fresh access tokens for ${what}: ${errors.map((error) => `${error.code} ${error.message}`).join('; ')}`);
      }
    }
  }

  /**
   * Wait for room in the rate window. Marketo limits calls per 20 seconds, not per second, so short bursts
   * are fine; identity calls do not count (Marketo does not count them either). The engine does not pace a
   * bulk object's calls, so the client does.
   */
  private async pace(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      const now = Date.now();
      while (this.recent.length > 0 && this.recent[0]! <= now - RATE_WINDOW_MS) this.recent.shift();
      if (this.recent.length < this.callsPerWindow) {
        this.recent.push(now);
        return;
      }
      await sleep(this.recent[0]! + RATE_WINDOW_MS - now, undefined, { signal });
    }
  }

  /** The `result` array of a successful JSON answer; throws for HTTP errors and `success: false`. */
  private async json(method: 'GET' | 'POST', path: string, what: string, signal: AbortSignal | undefined, body?: () => Promise<FormData>): Promise<unknown[]> {
    return this.result(await this.authorized(method, path, what, signal, body), what);
  }

  private result(reply: Reply, what: string): unknown[] {
    const kind = classifyHttpStatus(reply.status);
    if (kind === 'auth') throw new SluiceError('AUTH_REFUSED', `${this.host} refused ${what} (HTTP ${reply.status}${detail(reply.body)})`);
    if (reply.status === 404) throw new SluiceError('DESTINATION_FAILED', `${this.host} has no Marketo bulk API (HTTP 404 for ${what}): check munchkin_id or base_url`);
    if (reply.status === 413) throw new SluiceError('DESTINATION_REJECTED', `Marketo refused ${what} as too large (HTTP 413): import files must stay under 10 MB (lower max_file_bytes)`);
    if (kind !== 'ok') throw httpError(reply, `${this.host} answered HTTP ${reply.status} to ${what}${detail(reply.body)}`);
    const envelope = parseJsonObject(reply.body) as Envelope | undefined;
    if (envelope === undefined) {
      throw new SluiceError('DESTINATION_FAILED', `${this.host} answered ${what} with something that is not a Marketo response: ${excerpt(reply.body) || '(empty)'}`, { retryClass: 'transient' });
    }
    if (envelope.success !== true) throw marketoError(what, errorsOf(envelope));
    return Array.isArray(envelope.result) ? envelope.result : [];
  }

  private batchOf(result: readonly unknown[], what: string): MarketoBatch {
    const batch = result[0] as Partial<MarketoBatch> | undefined;
    if (batch === undefined || typeof batch.batchId !== 'number' || typeof batch.status !== 'string') {
      throw new SluiceError('DESTINATION_FAILED', `Marketo answered ${what} without a batch id and status`, { retryClass: 'transient' });
    }
    return batch as MarketoBatch;
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    auth: { token: string; body?: FormData } | undefined,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<Reply> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.pool.request({
        path,
        method,
        headers: { accept: 'application/json', ...(auth === undefined ? {} : { authorization: `Bearer ${auth.token}` }) },
        ...(auth?.body === undefined ? {} : { body: auth.body }),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal,
      });
    } catch (error) {
      const outcome = outcomeForNetworkError(error);
      const reason = this.redact(outcome.status === 'retry' ? outcome.reason : String(error));
      if ((error as { code?: unknown } | null)?.code === 'UND_ERR_INVALID_ARG') {
        throw new SluiceError('DESTINATION_FAILED', `cannot build a request to ${this.host} for ${what}: ${reason}`);
      }
      throw new SluiceError('NETWORK', `cannot reach ${this.host} for ${what}: ${reason}`);
    }
    const { statusCode, headers, body } = response;
    const ok = statusCode >= 200 && statusCode < 300;
    const text = await readBodyCapped(body, ok ? MAX_FILE_REPLY_BYTES : MAX_ERROR_BYTES);
    const contentType = headers['content-type'];
    return {
      status: statusCode,
      contentType: (Array.isArray(contentType) ? contentType[0] : contentType) ?? '',
      retryAfter: headers['retry-after'],
      body: this.redact(text),
    };
  }
}

function detail(body: string): string {
  return body.trim() === '' ? '' : `: ${excerpt(body)}`;
}

function httpError(reply: Reply, message: string): SluiceError {
  const kind = classifyHttpStatus(reply.status);
  if (kind === 'transient') return new SluiceError('HTTP_TRANSIENT', message, { notBefore: parseRetryAfter(reply.retryAfter) });
  return new SluiceError('DESTINATION_FAILED', message);
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function errorsOf(envelope: Envelope): MarketoErrorEntry[] {
  if (!Array.isArray(envelope.errors)) return [];
  return envelope.errors.map((error) => {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    return { code: code === undefined || code === null ? '' : String(code), message: typeof message === 'string' ? message : '' };
  });
}

/** The 601/602 entries of a `success: false` answer (empty for anything else). */
function tokenErrors(body: string): MarketoErrorEntry[] {
  const envelope = parseJsonObject(body) as Envelope | undefined;
  if (envelope === undefined || envelope.success !== false) return [];
  return errorsOf(envelope).filter((error) => TOKEN_CODES.has(error.code));
}

