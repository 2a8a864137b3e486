/**
 * The audit log: who changed a config, triggered or cancelled a run, reverted a state or managed keys,
 * and when. Details never hold secret values (callers pass masked data).
 */
import type { Queryable } from './db.ts';
import { decodeCursor, encodeCursor, fromJsonText, iso, jsonParam } from './rows.ts';

export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly detail: unknown;
}

export async function audit(db: Queryable, entry: { actor: string; action: string; target?: string; detail?: unknown }): Promise<void> {
  await db.query('insert into sluice.audit_log (actor, action, target, detail) values ($1, $2, $3, $4::jsonb)', [
    entry.actor,
    entry.action,
    entry.target ?? null,
    jsonParam(entry.detail),
  ]);
}

export async function listAudit(db: Queryable, page: { limit: number; cursor?: string }): Promise<{ entries: AuditEntry[]; next_cursor: string | null }> {
  const before = decodeCursor(page.cursor)?.[0];
  const { rows } = await db.query(
    `select id, at, actor, action, target, detail::text as detail from sluice.audit_log
     where ($1::bigint is null or id < $1) order by id desc limit $2`,
    [before ?? null, page.limit + 1],
  );
  const entries = rows.slice(0, page.limit).map((row) => ({
    id: Number(row.id),
    at: iso(row.at) ?? '',
    actor: String(row.actor),
    action: String(row.action),
    target: (row.target as string | null) ?? null,
    detail: fromJsonText(row.detail),
  }));
  const last = entries[entries.length - 1];
  return { entries, next_cursor: rows.length > page.limit && last !== undefined ? encodeCursor([last.id]) : null };
}
