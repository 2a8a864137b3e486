/**
 * Activation state, versioned: every state a run commits is a new version, the newest is current, and a
 * revert appends a copy of an older version (so history is never rewritten and a revert can be undone).
 * States travel as exact JSON text: cursors may be integers beyond 2^53.
 */
import type { StateStore } from '../engine/state-store.ts';
import { stringifyJson, type JsonValue } from '../protocol/json.ts';
import type { State } from '../sdk/source.ts';
import type { Database, Queryable } from './db.ts';
import { fromJsonText, iso } from './rows.ts';

export interface StateVersion {
  readonly activation: string;
  readonly version: number;
  readonly state: State;
  readonly run_id: string | null;
  readonly reverted_from: number | null;
  readonly created_at: string;
}

const COLUMNS = 'activation, version, state::text as state, run_id, reverted_from, created_at';

function toVersion(row: Record<string, unknown>): StateVersion {
  return {
    activation: String(row.activation),
    version: Number(row.version),
    state: fromJsonText<State>(row.state) ?? {},
    run_id: (row.run_id as string | null) ?? null,
    reverted_from: row.reverted_from === null || row.reverted_from === undefined ? null : Number(row.reverted_from),
    created_at: iso(row.created_at) ?? '',
  };
}

export async function currentState(db: Queryable, activation: string): Promise<StateVersion | undefined> {
  const { rows } = await db.query(`select ${COLUMNS} from sluice.state_versions where activation = $1 order by version desc limit 1`, [activation]);
  return rows[0] === undefined ? undefined : toVersion(rows[0]);
}

export async function getStateVersion(db: Queryable, activation: string, version: number): Promise<StateVersion | undefined> {
  const { rows } = await db.query(`select ${COLUMNS} from sluice.state_versions where activation = $1 and version = $2`, [activation, version]);
  return rows[0] === undefined ? undefined : toVersion(rows[0]);
}

export async function listStateVersions(db: Queryable, activation: string, page: { limit: number; before?: number }): Promise<StateVersion[]> {
  const { rows } = await db.query(
    `select ${COLUMNS} from sluice.state_versions where activation = $1 and ($2::int is null or version < $2)
     order by version desc limit $3`,
    [activation, page.before ?? null, page.limit],
  );
  return rows.map(toVersion);
}

/** Appends a version; the number is taken under the primary key, so concurrent writers cannot share one. */
export async function saveStateVersion(
  db: Database,
  input: { activation: string; state: State; runId?: string; revertedFrom?: number },
): Promise<StateVersion> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `insert into sluice.state_versions (activation, version, state, run_id, reverted_from)
       values ($1, coalesce((select max(version) from sluice.state_versions where activation = $1), 0) + 1, $2::jsonb, $3, $4)
       returning ${COLUMNS}`,
      [input.activation, stringifyJson(input.state as JsonValue), input.runId ?? null, input.revertedFrom ?? null],
    );
    return toVersion(rows[0]!);
  });
}

/** Makes an older version current again, as a new version. */
export async function revertState(db: Database, activation: string, version: number): Promise<StateVersion | undefined> {
  const target = await getStateVersion(db, activation, version);
  if (target === undefined) return undefined;
  return saveStateVersion(db, { activation, state: target.state, revertedFrom: version });
}

/** The engine's state store for one activation's run. */
export class StoreStateStore implements StateStore {
  constructor(
    private readonly db: Database,
    private readonly activation: string,
    private readonly runId?: string,
  ) {}

  async load(): Promise<State | undefined> {
    return (await currentState(this.db, this.activation))?.state;
  }

  async save(state: State): Promise<void> {
    await saveStateVersion(this.db, { activation: this.activation, state, ...(this.runId === undefined ? {} : { runId: this.runId }) });
  }
}
