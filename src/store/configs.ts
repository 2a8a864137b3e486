/**
 * Config versions: append-only, each a whole Sluice config (sources, destinations, activations) with its
 * secrets already encrypted; the newest is current. Labels are unique (Tightlock's rule), so re-posting
 * a label is a conflict rather than a silent overwrite.
 */
import type { Queryable } from './db.ts';
import { fromJsonText, iso, jsonParam } from './rows.ts';

export interface StoredConfig {
  readonly id: number;
  readonly label: string;
  /** As stored: secret values are `{ "$secret": "v1:…" }` tokens. */
  readonly value: Record<string, unknown>;
  readonly create_date: string;
  readonly created_by: string | null;
}

const COLUMNS = 'id, label, value::text as value, created_at, created_by';

function toConfig(row: Record<string, unknown>): StoredConfig {
  return {
    id: Number(row.id),
    label: String(row.label),
    value: (fromJsonText(row.value) ?? {}) as Record<string, unknown>,
    create_date: iso(row.created_at) ?? '',
    created_by: (row.created_by as string | null) ?? null,
  };
}

export class LabelTakenError extends Error {
  constructor(readonly label: string) {
    super(`Config label ${label} already exists.`);
  }
}

export async function insertConfig(db: Queryable, input: { label: string; value: unknown; createdBy?: string }): Promise<StoredConfig> {
  try {
    const { rows } = await db.query(
      `insert into sluice.configs (label, value, created_by) values ($1, $2::jsonb, $3) returning ${COLUMNS}`,
      [input.label, jsonParam(input.value), input.createdBy ?? null],
    );
    return toConfig(rows[0]!);
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw new LabelTakenError(input.label);
    throw error;
  }
}

export async function getConfig(db: Queryable, id: number): Promise<StoredConfig | undefined> {
  const { rows } = await db.query(`select ${COLUMNS} from sluice.configs where id = $1`, [id]);
  return rows[0] === undefined ? undefined : toConfig(rows[0]);
}

export async function latestConfig(db: Queryable): Promise<StoredConfig | undefined> {
  const { rows } = await db.query(`select ${COLUMNS} from sluice.configs order by id desc limit 1`);
  return rows[0] === undefined ? undefined : toConfig(rows[0]);
}

export async function listConfigs(db: Queryable): Promise<StoredConfig[]> {
  const { rows } = await db.query(`select ${COLUMNS} from sluice.configs order by id`);
  return rows.map(toConfig);
}

export async function nextConfigLabel(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ n: string }>(`select count(*) + 1 as n from sluice.configs`);
  return `version ${rows[0]?.n ?? 1} (${new Date().toISOString()})`;
}
