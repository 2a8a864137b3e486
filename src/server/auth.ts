/**
 * API key authentication for `/api/v1`: every request carries `X-API-Key` (Tightlock's header), checked
 * against the stored keys' hashes. A missing, unknown or revoked key gets 401 `{ error: 'Invalid API Key' }`.
 *
 * The hot path stays cheap: a verified key is remembered for `cacheMs` (10 s, so a revocation takes effect
 * within that), and its `last_used_at` is written at most once a minute, in the background (never awaited).
 * The request's `actor` (for the audit log) is `key:<prefix>`; the key itself is never logged.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../sdk/context.ts';
import type { Queryable } from '../store/db.ts';
import { type ApiKeyInfo, hashApiKey, touchApiKey, verifyApiKey } from '../store/keys.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking, for the audit log: `key:<prefix>` once authenticated. */
    actor: string;
  }
}

export interface ApiKeyAuthOptions {
  readonly cacheMs?: number;
  readonly touchEveryMs?: number;
  readonly logger?: Pick<Logger, 'warn'>;
}

export function apiKeyAuth(db: Queryable, options: ApiKeyAuthOptions = {}) {
  const cacheMs = options.cacheMs ?? 10_000;
  const touchEveryMs = options.touchEveryMs ?? 60_000;
  const verified = new Map<string, { info: ApiKeyInfo; until: number }>();
  const touched = new Map<number, number>();

  async function lookup(key: string): Promise<ApiKeyInfo | undefined> {
    const hash = hashApiKey(key);
    const now = Date.now();
    const cached = verified.get(hash);
    if (cached !== undefined && cached.until > now) return cached.info;
    verified.delete(hash);
    const info = await verifyApiKey(db, key);
    if (info === undefined) return undefined;
    // Bounded: an attacker cannot grow it with wrong keys, and real deployments hold few keys.
    if (verified.size >= 1000) verified.clear();
    verified.set(hash, { info, until: now + cacheMs });
    return info;
  }

  function touch(info: ApiKeyInfo): void {
    const now = Date.now();
    if ((touched.get(info.id) ?? 0) + touchEveryMs > now) return;
    touched.set(info.id, now);
    touchApiKey(db, info.id).catch((error: unknown) => options.logger?.warn({ err: error, keyId: info.id }, 'could not record API key use'));
  }

  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const header = request.headers['x-api-key'];
    const key = typeof header === 'string' ? header : undefined;
    const info = key === undefined || key === '' ? undefined : await lookup(key);
    if (info === undefined) return reply.code(401).send({ error: 'Invalid API Key' });
    request.actor = `key:${info.prefix}`;
    touch(info);
    return undefined;
  };
}
