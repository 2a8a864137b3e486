/**
 * Reading `sluice.schedules` (written by the scheduler, platform/scheduler.ts): when each scheduled
 * activation fires next, and when it last did.
 */
import type { Queryable } from './db.ts';
import { iso } from './rows.ts';

export interface ScheduleTimes {
  readonly next_at: string;
  readonly last_at: string | null;
}

export async function scheduleTimes(db: Queryable, activations: readonly string[]): Promise<Map<string, ScheduleTimes>> {
  const { rows } = await db.query(`select activation, next_at, last_at from sluice.schedules where activation = any($1::text[])`, [activations]);
  return new Map(rows.map((row) => [String(row.activation), { next_at: iso(row.next_at) ?? '', last_at: iso(row.last_at) }]));
}
