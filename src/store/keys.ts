/**
 * API keys: random 32-byte tokens shown once at creation and stored only as SHA-256 hashes (the keys are
 * high-entropy, so a fast hash is enough and keeps every request's check cheap). A key can be revoked
 * by id or by its visible prefix.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './db.ts';
import { iso } from './rows.ts';

export interface ApiKeyInfo {
  readonly id: number;
  readonly name: string;
  readonly prefix: string;
  readonly created_at: string;
  readonly revoked_at: string | null;
  readonly last_used_at: string | null;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return `slk_${randomBytes(24).toString('base64url')}`;
}

/** Stores a key (a new random one unless given) and returns it in plain text: the only time it is. */
export async function createApiKey(db: Queryable, name: string, key: string = generateApiKey()): Promise<{ key: string; info: ApiKeyInfo }> {
  const { rows } = await db.query(
    `insert into sluice.api_keys (name, prefix, hash) values ($1, $2, $3)
     on conflict (hash) do update set revoked_at = null
     returning id, name, prefix, created_at, revoked_at, last_used_at`,
    [name, key.slice(0, 8), hashApiKey(key)],
  );
  return { key, info: toInfo(rows[0]!) };
}

/** The key's record when it exists and is not revoked. */
export async function verifyApiKey(db: Queryable, key: string): Promise<ApiKeyInfo | undefined> {
  const { rows } = await db.query(
    `select id, name, prefix, created_at, revoked_at, last_used_at from sluice.api_keys where hash = $1 and revoked_at is null`,
    [hashApiKey(key)],
  );
  return rows[0] === undefined ? undefined : toInfo(rows[0]);
}

export async function touchApiKey(db: Queryable, id: number): Promise<void> {
  await db.query('update sluice.api_keys set last_used_at = now() where id = $1', [id]);
}

/** Revokes by numeric id or by prefix; returns how many keys it revoked. */
export async function revokeApiKey(db: Queryable, idOrPrefix: string): Promise<number> {
  const byId = /^\d+$/.test(idOrPrefix);
  const { rowCount } = await db.query(
    `update sluice.api_keys set revoked_at = now() where revoked_at is null and ${byId ? 'id = $1::bigint' : 'prefix = $1'}`,
    [idOrPrefix],
  );
  return rowCount;
}

export async function listApiKeys(db: Queryable): Promise<ApiKeyInfo[]> {
  const { rows } = await db.query('select id, name, prefix, created_at, revoked_at, last_used_at from sluice.api_keys order by id');
  return rows.map(toInfo);
}

export async function countActiveApiKeys(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: string }>('select count(*) as n from sluice.api_keys where revoked_at is null');
  return Number(rows[0]?.n ?? 0);
}

function toInfo(row: Record<string, unknown>): ApiKeyInfo {
  return {
    id: Number(row.id),
    name: String(row.name),
    prefix: String(row.prefix),
    created_at: iso(row.created_at) ?? '',
    revoked_at: iso(row.revoked_at),
    last_used_at: iso(row.last_used_at),
  };
}
