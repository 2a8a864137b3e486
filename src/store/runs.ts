/**
 * Runs: one row per execution of an activation, from `queued` through `running` to an end status, with
 * the config version it used, counters, timings and an error summary.
 *
 * Exactly-once execution rests on the row, not on the queue: a worker *claims* a queued run with one
 * conditional UPDATE, then renews a heartbeat while it works. A run whose heartbeat stops (its worker was
 * killed) is put back to `queued` by any live worker and claimed again, resuming from its last committed
 * state. The database allows one active (queued or running) run per activation, and an Idempotency-Key
 * names at most one run.
 */
import type { Queryable } from './db.ts';
import { parseJson } from '../protocol/json.ts';
import { decodeCursor, encodeCursor, fromJsonText, iso, jsonParam } from './rows.ts';

export type RunRowStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted' | 'cancelled';
export const ACTIVE_STATUSES: readonly RunRowStatus[] = ['queued', 'running'];
export const RUN_STATUSES: readonly RunRowStatus[] = ['queued', 'running', 'succeeded', 'failed', 'interrupted', 'cancelled'];

export interface RunCountersRow {
  readonly read: number;
  readonly delivered: number;
  readonly rejected: number;
  /** Diff modes: read but not sent. */
  readonly unchanged: number;
  /** Mirror: deletes delivered. */
  readonly deleted: number;
  readonly retried: number;
  readonly batches: number;
}

/** What changed in the source stream's columns (engine/drift.ts). */
export interface RunDriftRow {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly { readonly column: string; readonly from: string; readonly to: string }[];
}

export interface RunRecord {
  readonly id: string;
  readonly activation: string;
  readonly config_id: number;
  readonly status: RunRowStatus;
  /** `api`, `schedule` or `cli`. */
  readonly trigger: string;
  readonly dry_run: boolean;
  /** The run overrides the activation's max_change_ratio guard. */
  readonly force: boolean;
  readonly counters: RunCountersRow;
  readonly unsettled: number;
  readonly plan: unknown;
  readonly error: string | null;
  /** The source schema drift the run found, if any. */
  readonly drift: RunDriftRow | null;
  readonly created_at: string;
  readonly started_at: string | null;
  readonly finished_at: string | null;
  readonly duration_ms: number | null;
  readonly worker: string | null;
  readonly attempts: number;
  readonly cancel_requested: boolean;
}

const COLUMNS = `id, activation, config_id, status, trigger, dry_run, force, counters::text as counters, unsettled, plan::text as plan,
  error, drift::text as drift, created_at, started_at, finished_at, worker, attempts, cancel_requested`;

/** The same columns as JSON values, for pages aggregated with json_agg. */
const PAGE_COLUMNS = `id, activation, config_id, status, trigger, dry_run, force, counters, unsettled, plan, error, created_at,
  started_at, finished_at, worker, attempts, cancel_requested, drift`;

const ZERO: RunCountersRow = { read: 0, delivered: 0, rejected: 0, unchanged: 0, deleted: 0, retried: 0, batches: 0 };

/** A jsonb column read as `::text` (single rows), or already parsed (pages come as one JSON document). */
function jsonColumn<T>(value: unknown): T | null {
  return typeof value === 'string' ? fromJsonText<T>(value) : ((value ?? null) as T | null);
}

function toRun(row: Record<string, unknown>): RunRecord {
  const started = iso(row.started_at);
  const finished = iso(row.finished_at);
  return {
    id: String(row.id),
    activation: String(row.activation),
    config_id: Number(row.config_id),
    status: row.status as RunRowStatus,
    trigger: String(row.trigger),
    dry_run: Boolean(row.dry_run),
    force: Boolean(row.force),
    counters: { ...ZERO, ...(jsonColumn<Partial<RunCountersRow>>(row.counters) ?? {}) },
    unsettled: Number(row.unsettled ?? 0),
    plan: jsonColumn(row.plan),
    error: (row.error as string | null) ?? null,
    drift: jsonColumn<RunDriftRow>(row.drift),
    created_at: iso(row.created_at) ?? '',
    started_at: started,
    finished_at: finished,
    duration_ms: started !== null && finished !== null ? Date.parse(finished) - Date.parse(started) : null,
    worker: (row.worker as string | null) ?? null,
    attempts: Number(row.attempts ?? 0),
    cancel_requested: Boolean(row.cancel_requested),
  };
}

export interface NewRun {
  readonly id: string;
  readonly activation: string;
  readonly configId: number;
  readonly trigger: string;
  readonly dryRun: boolean;
  readonly force?: boolean;
  readonly idempotencyKey?: string;
}

export type CreateRunResult =
  | { readonly kind: 'created'; readonly run: RunRecord }
  /** The Idempotency-Key was seen before: the run it created. */
  | { readonly kind: 'replayed'; readonly run: RunRecord }
  /** The key was used for another activation. */
  | { readonly kind: 'key-reused'; readonly run: RunRecord }
  /** The activation already has a queued or running run. */
  | { readonly kind: 'busy'; readonly run: RunRecord };

export async function createRun(db: Queryable, input: NewRun): Promise<CreateRunResult> {
  const replay = async (): Promise<CreateRunResult | undefined> => {
    if (input.idempotencyKey === undefined) return undefined;
    const { rows } = await db.query(`select ${COLUMNS} from sluice.runs where idempotency_key = $1`, [input.idempotencyKey]);
    if (rows[0] === undefined) return undefined;
    const run = toRun(rows[0]);
    return { kind: run.activation === input.activation ? 'replayed' : 'key-reused', run };
  };
  const earlier = await replay();
  if (earlier !== undefined) return earlier;
  const { rows } = await db.query(
    `insert into sluice.runs (id, activation, config_id, status, trigger, dry_run, idempotency_key, force)
     values ($1, $2, $3, 'queued', $4, $5, $6, $7) on conflict do nothing returning ${COLUMNS}`,
    [input.id, input.activation, input.configId, input.trigger, input.dryRun, input.idempotencyKey ?? null, input.force ?? false],
  );
  if (rows[0] !== undefined) return { kind: 'created', run: toRun(rows[0]) };
  // Nothing inserted: either the key raced with another request, or the activation is busy.
  const raced = await replay();
  if (raced !== undefined) return raced;
  const active = await activeRun(db, input.activation);
  if (active !== undefined) return { kind: 'busy', run: active };
  throw new Error(`run ${input.id} could not be created`);
}

export async function getRun(db: Queryable, id: string): Promise<RunRecord | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const { rows } = await db.query(`select ${COLUMNS} from sluice.runs where id = $1`, [id]);
  return rows[0] === undefined ? undefined : toRun(rows[0]);
}

export async function activeRun(db: Queryable, activation: string): Promise<RunRecord | undefined> {
  const { rows } = await db.query(`select ${COLUMNS} from sluice.runs where activation = $1 and status in ('queued', 'running')`, [activation]);
  return rows[0] === undefined ? undefined : toRun(rows[0]);
}

export interface RunPageQuery {
  readonly activations?: readonly string[];
  readonly status?: RunRowStatus;
  readonly limit: number;
  readonly cursor?: string;
  /** Offset paging, for Tightlock's `page`/`page_size`; ignored when a cursor is given. */
  readonly offset?: number;
  readonly withTotal?: boolean;
}

export interface RunPage {
  readonly runs: RunRecord[];
  readonly next_cursor: string | null;
  readonly total?: number;
}

/** Newest first, keyset-paginated on (created_at, id) so deep pages cost what the first does. */
export async function listRuns(db: Queryable, query: RunPageQuery): Promise<RunPage> {
  const after = decodeCursor(query.cursor);
  const where: string[] = [];
  const params: unknown[] = [];
  if (query.activations !== undefined && query.activations.length === 1) {
    // One activation as `=`, so the planner can walk runs_activation_newest.
    params.push(query.activations[0]);
    where.push(`activation = $${params.length}`);
  } else if (query.activations !== undefined) {
    params.push(query.activations);
    where.push(`activation = any($${params.length}::text[])`);
  }
  if (query.status !== undefined) {
    params.push(query.status);
    where.push(`status = $${params.length}`);
  }
  const filter = where.length > 0 ? `where ${where.join(' and ')}` : '';
  const pageWhere = [...where];
  const pageParams = [...params];
  if (after !== undefined) {
    pageParams.push(String(after[0]), String(after[1]));
    pageWhere.push(`(created_at, id) < ($${pageParams.length - 1}::timestamptz, $${pageParams.length}::uuid)`);
  }
  pageParams.push(query.limit + 1);
  let sql = `select ${PAGE_COLUMNS} from sluice.runs ${pageWhere.length > 0 ? `where ${pageWhere.join(' and ')}` : ''}
    order by created_at desc, id desc limit $${pageParams.length}`;
  if (after === undefined && query.offset !== undefined && query.offset > 0) {
    pageParams.push(query.offset);
    sql += ` offset $${pageParams.length}`;
  }
  // The page comes back as one JSON document: on PGlite, handing over one value instead of 51 rows of
  // 18 columns halves the query's cost (measured), and the listing is the API's hottest path.
  // The total, when asked for, rides in the same statement (its filter uses the same leading parameters).
  const totalColumn = query.withTotal === true ? `, (select count(*) from sluice.runs ${filter}) as total` : '';
  const { rows: pageRows } = await db.query<{ page: string; total?: string | number }>(
    `select coalesce(json_agg(r order by r.created_at desc, r.id desc), '[]')::text as page${totalColumn} from (${sql}) r`,
    pageParams,
  );
  const rows = parseJson(pageRows[0]?.page ?? '[]') as Record<string, unknown>[];
  const runs = rows.slice(0, query.limit).map(toRun);
  const last = runs[runs.length - 1];
  // The cursor keeps the database's own text of created_at (JSON keeps its microseconds; an ISO string from
  // a Date would round them away).
  const lastRow = rows[runs.length - 1];
  const next = rows.length > query.limit && last !== undefined && lastRow !== undefined ? encodeCursor([String(lastRow.created_at), last.id]) : null;
  const total = query.withTotal === true ? Number(pageRows[0]?.total ?? 0) : undefined;
  return { runs, next_cursor: next, ...(total === undefined ? {} : { total }) };
}

/** Takes a queued run for this worker; undefined when another worker has it or it is no longer queued. */
export async function claimRun(db: Queryable, id: string, worker: string): Promise<RunRecord | undefined> {
  const { rows } = await db.query(
    `update sluice.runs set status = 'running', worker = $2, attempts = attempts + 1,
       started_at = coalesce(started_at, now()), heartbeat_at = now()
     where id = $1 and status = 'queued' returning ${COLUMNS}`,
    [id, worker],
  );
  return rows[0] === undefined ? undefined : toRun(rows[0]);
}

/** Renews the lease and saves progress; undefined when the run is no longer this worker's. */
export async function heartbeat(db: Queryable, id: string, worker: string, counters?: RunCountersRow): Promise<{ cancelRequested: boolean } | undefined> {
  const { rows } = await db.query<{ cancel_requested: boolean }>(
    `update sluice.runs set heartbeat_at = now(), counters = coalesce($3::jsonb, counters)
     where id = $1 and worker = $2 and status = 'running' returning cancel_requested`,
    [id, worker, jsonParam(counters)],
  );
  return rows[0] === undefined ? undefined : { cancelRequested: Boolean(rows[0].cancel_requested) };
}

export interface RunEnd {
  readonly status: Exclude<RunRowStatus, 'queued' | 'running'>;
  readonly counters: RunCountersRow;
  readonly unsettled: number;
  readonly plan?: unknown;
  readonly error?: string;
  readonly drift?: RunDriftRow;
}

export async function finishRun(db: Queryable, id: string, worker: string, end: RunEnd): Promise<RunRecord | undefined> {
  const { rows } = await db.query(
    `update sluice.runs set status = $3, counters = $4::jsonb, unsettled = $5, plan = $6::jsonb, error = $7, drift = $8::jsonb, finished_at = now()
     where id = $1 and worker = $2 and status = 'running' returning ${COLUMNS}`,
    [id, worker, end.status, jsonParam(end.counters), end.unsettled, jsonParam(end.plan), end.error ?? null, jsonParam(end.drift)],
  );
  return rows[0] === undefined ? undefined : toRun(rows[0]);
}

/** A queued run is cancelled at once; a running one is flagged, and its worker stops it at the next heartbeat. */
export async function requestCancel(db: Queryable, id: string): Promise<RunRecord | undefined> {
  const { rows } = await db.query(
    `update sluice.runs set
       status = case when status = 'queued' then 'cancelled' else status end,
       finished_at = case when status = 'queued' then now() else finished_at end,
       cancel_requested = case when status = 'running' then true else cancel_requested end
     where id = $1 returning ${COLUMNS}`,
    [id],
  );
  return rows[0] === undefined ? undefined : toRun(rows[0]);
}

/** Runs whose worker stopped renewing its lease go back to `queued`; returns their ids to enqueue again. */
export async function requeueStaleRuns(db: Queryable, leaseSeconds: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `update sluice.runs set status = 'queued', worker = null
     where status = 'running' and heartbeat_at < now() - make_interval(secs => $1) returning id`,
    [leaseSeconds],
  );
  return rows.map((row) => String(row.id));
}

/** Queued runs older than `seconds`: their queue job may have been lost between insert and enqueue. */
export async function longQueuedRuns(db: Queryable, seconds: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select id from sluice.runs where status = 'queued' and created_at < now() - make_interval(secs => $1)`,
    [seconds],
  );
  return rows.map((row) => String(row.id));
}

export async function countRunsByStatus(db: Queryable): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; n: string }>(`select status, count(*) as n from sluice.runs group by status`);
  const counts: Record<string, number> = Object.fromEntries(RUN_STATUSES.map((status) => [status, 0]));
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}

export async function lastRuns(db: Queryable, activations: readonly string[]): Promise<Map<string, RunRecord>> {
  const { rows } = await db.query(
    `select distinct on (activation) ${COLUMNS} from sluice.runs where activation = any($1::text[])
     order by activation, created_at desc, id desc`,
    [activations],
  );
  return new Map(rows.map((row) => [String(row.activation), toRun(row)]));
}
