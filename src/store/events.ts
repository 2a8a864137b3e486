/**
 * The event log of the tracking API and what its delivery keeps: events (appended before the 200, in one
 * statement per group of requests) and the events their batches rejected, each event activation's cursor
 * and lease, and dead letters.
 *
 * - The log holds one row per append — the events of a request, or of the requests written together —
 *   as a JSON array (`body`), not a row per event: measured on PGlite, a row per group takes ~30% less time
 *   per event than a row per event, which is what lets the embedded store take 25,000 events/s.
 * - An event's position is `seq * 65536 + index` (its row, its place in the row's array; a row holds at
 *   most 65,536 events): cursors and dead letters name positions, so a reader may stop mid-row.
 * - `seq` is the log's order. On PostgreSQL several API processes append at once, and a sequence value
 *   taken early may commit late: a reader that already passed it would skip those events forever. So
 *   appends are serialised by a transaction-scoped advisory lock taken before the first `nextval`: seq
 *   order is then commit order. PGlite has one backend, which serialises every statement already.
 * - Deduplication: `event_ids` holds every logged message id per source; an event whose id is there is
 *   not logged again (its position is listed in the row's `skip`). Ids older than the retention are pruned
 *   with the events (at least 24 h: see pruneEvents).
 * - A cursor row belongs to one worker at a time (`owner` under a lease, like runs): a cursor is moved only
 *   by its owner, in the same statement or transaction as the dead letters of the events it passes.
 */
import type { Database, Queryable } from './db.ts';
import { decodeCursor, encodeCursor, iso } from './rows.ts';

/** Any number, the same everywhere: serialises appends to the log on PostgreSQL. */
const APPEND_LOCK = 727275;

/** Events per log row at most: an event's position is `seq * ROW_SPAN + index`. */
export const ROW_SPAN = 65_536;

export interface EventAppend {
  readonly source: string;
  /** When the request was received (ISO): the row keeps the earliest of its requests'. */
  readonly receivedAt: string;
  /** Normalised events: their messageId, and their JSON object text (with `messageId` and `receivedAt`). */
  readonly events: readonly { readonly messageId: string; readonly json: string }[];
  /** Events of the request rejected by a per-event rule: where, why, and the JSON text as sent. */
  readonly rejected?: readonly EventRejectInput[];
}

export interface EventRejectInput {
  readonly path: string;
  readonly reason: string;
  /** The event's messageId when it had one: a reject is recorded once per source and messageId. */
  readonly messageId: string | undefined;
  readonly event: string;
}

const REJECT = `insert into sluice.event_rejects (source, received_at, path, reason, message_id, event)
  select r.source, r.received_at::timestamptz, r.path, r.reason, r.message_id, r.event
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) as r(source, received_at, path, reason, message_id, event)
  on conflict do nothing`;

/** The rejected events of a group of requests, in one statement (none when there are none). */
async function insertRejects(db: Queryable, appends: readonly EventAppend[]): Promise<void> {
  const columns: [string[], string[], string[], string[], (string | null)[], string[]] = [[], [], [], [], [], []];
  for (const append of appends) {
    for (const reject of append.rejected ?? []) {
      columns[0].push(append.source);
      columns[1].push(append.receivedAt);
      columns[2].push(reject.path);
      columns[3].push(reject.reason);
      columns[4].push(reject.messageId ?? null);
      columns[5].push(reject.event);
    }
  }
  if (columns[0].length > 0) await db.query(REJECT, columns);
}

const APPEND = `with input as (select m, i from unnest($2::text[]) with ordinality as u(m, i)),
  fresh as (insert into sluice.event_ids (source, message_id, received_at) select $1, m, $3::timestamptz from input
            on conflict do nothing returning message_id)
  insert into sluice.events (source, received_at, count, skip, body)
  select $1, $3::timestamptz, (select count(*) from fresh),
         (select array_agg(i - 1 order by i) from input where not exists (select 1 from fresh where fresh.message_id = input.m)), $4
  where exists (select 1 from fresh)
  returning count`;

/**
 * Appends the events of one or more requests; resolves once they are committed. Returns how many were new
 * (the rest were duplicates of events already in the log, or of each other).
 */
export async function appendEvents(db: Database, appends: readonly EventAppend[]): Promise<number> {
  const bySource = new Map<string, { receivedAt: string; ids: string[]; texts: string[]; seen: Set<string> }>();
  for (const append of appends) {
    let entry = bySource.get(append.source);
    if (entry === undefined) bySource.set(append.source, (entry = { receivedAt: append.receivedAt, ids: [], texts: [], seen: new Set() }));
    if (append.receivedAt < entry.receivedAt) entry.receivedAt = append.receivedAt;
    for (const event of append.events) {
      if (entry.seen.has(event.messageId)) continue; // a repeat within the group: the first one is logged
      entry.seen.add(event.messageId);
      entry.ids.push(event.messageId);
      entry.texts.push(event.json);
    }
  }
  const insert = async (tx: Queryable, source: string, entry: { receivedAt: string; ids: string[]; texts: string[] }) => {
    let logged = 0;
    for (let start = 0; start < entry.ids.length; start += ROW_SPAN) {
      const ids = entry.ids.slice(start, start + ROW_SPAN);
      const { rows } = await tx.query<{ count: number }>(APPEND, [source, ids, entry.receivedAt, `[${entry.texts.slice(start, start + ROW_SPAN).join(',')}]`]);
      logged += Number(rows[0]?.count ?? 0);
    }
    return logged;
  };
  if (db.kind === 'pglite') {
    // A statement per source, each atomic; the embedded event log takes no transactions. A failure part-way
    // fails every request of the group, and their retries find what was logged as duplicates.
    let logged = 0;
    for (const [source, entry] of bySource) logged += await insert(db, source, entry);
    await insertRejects(db, appends);
    return logged;
  }
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [APPEND_LOCK]);
    let logged = 0;
    for (const [source, entry] of bySource) logged += await insert(tx, source, entry);
    await insertRejects(tx, appends);
    return logged;
  });
}

export interface EventPage {
  readonly events: LoggedEvent[];
  /**
   * The position of the log's last event when it was read: when `events` is empty, no event for this
   * activation exists up to here (appends commit in seq order), so a reader may continue after it.
   */
  readonly horizon: number;
}

export interface LoggedEvent {
  /** The event's position in the log. */
  readonly seq: number;
  readonly event: Record<string, unknown>;
  /** Set on a replayed dead letter. */
  readonly replayed: boolean;
}

/** Log rows read per query: a row holds up to 65,536 events, usually a hundred or a few thousand. */
const ROWS_PER_READ = 16;

/** Up to `limit` events of `source` after position `after` that `activation` should see, in log order. */
export async function readEvents(db: Queryable, source: string, activation: string, after: number, limit: number): Promise<EventPage> {
  const events: LoggedEvent[] = [];
  let fromRow = Math.floor(after / ROW_SPAN);
  let horizonRow: number | undefined;
  for (;;) {
    const { rows } = await db.query<{ seq: string | null; body: string | null; skip: number[] | null; replay_for: string | null; horizon: string | null }>(
      `with horizon as (select coalesce($5::bigint, max(seq)) as seq from sluice.events)
       select e.seq, e.body, e.skip, e.replay_for, h.seq as horizon from horizon h
       left join lateral (
         select seq, body, skip, replay_for from sluice.events
         where seq >= $2 and seq <= h.seq and source = $1 and (replay_for is null or replay_for = $3)
         order by seq limit $4) e on true`,
      [source, fromRow, activation, ROWS_PER_READ, horizonRow ?? null],
    );
    horizonRow ??= rows[0]?.horizon == null ? 0 : Number(rows[0].horizon);
    let read = 0;
    for (const row of rows) {
      if (row.seq === null || row.body === null) continue;
      read++;
      fromRow = Number(row.seq) + 1;
      const base = Number(row.seq) * ROW_SPAN;
      const skip = row.skip === null ? undefined : new Set(row.skip.map(Number));
      const list = JSON.parse(row.body) as Record<string, unknown>[];
      for (let index = 0; index < list.length && events.length < limit; index++) {
        const position = base + index;
        if (position <= after || skip?.has(index)) continue;
        events.push({ seq: position, event: list[index]!, replayed: row.replay_for !== null });
      }
      if (events.length >= limit) break;
    }
    if (events.length >= limit || read < ROWS_PER_READ) break;
  }
  return { events, horizon: horizonRow * ROW_SPAN + (ROW_SPAN - 1) };
}

// ---------------------------------------------------------------------------------------------- cursors

export interface CursorClaim {
  readonly activation: string;
  readonly source: string;
  readonly owner: string;
  readonly leaseSeconds: number;
  /** Take the cursor even from a live owner (the embedded store: only this process can be one). */
  readonly takeOver?: boolean;
  /** A new cursor starts after the events received before this time (when the activation was posted); default: the log's end. */
  readonly startAt?: string;
}

/**
 * Claims an activation's cursor for `owner`: returns its seq, or undefined while another worker's lease
 * runs. A new activation starts with the events received from `startAt` on (when it was posted), else at
 * the log's end. A cursor whose activation now reads another source starts over the same way.
 */
export async function claimCursor(db: Queryable, claim: CursorClaim): Promise<number | undefined> {
  const { rows } = await db.query<{ seq: string }>(
    `insert into sluice.event_cursors (activation, source, seq, owner, lease_until)
     values ($1, $2, (select coalesce(max(seq), 0) * ${ROW_SPAN} + ${ROW_SPAN - 1} from sluice.events where $6::timestamptz is null or received_at < $6::timestamptz),
             $3, now() + make_interval(secs => $4))
     on conflict (activation) do update set
       owner = excluded.owner,
       lease_until = excluded.lease_until,
       source = excluded.source,
       seq = case when sluice.event_cursors.source = excluded.source then sluice.event_cursors.seq else excluded.seq end,
       updated_at = now()
     where $5 or sluice.event_cursors.owner is null or sluice.event_cursors.owner = excluded.owner or sluice.event_cursors.lease_until < now()
     returning seq`,
    [claim.activation, claim.source, claim.owner, claim.leaseSeconds, claim.takeOver === true, claim.startAt ?? null],
  );
  return rows[0] === undefined ? undefined : Number(rows[0].seq);
}

/** Renews the lease; false when the cursor is no longer this owner's. */
export async function renewCursorLease(db: Queryable, activation: string, owner: string, leaseSeconds: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `update sluice.event_cursors set lease_until = now() + make_interval(secs => $3) where activation = $1 and owner = $2`,
    [activation, owner, leaseSeconds],
  );
  return rowCount > 0;
}

/** Lets go of a cursor (a stopping worker), so another can take it at once. */
export async function releaseCursor(db: Queryable, activation: string, owner: string): Promise<void> {
  await db.query(`update sluice.event_cursors set owner = null, lease_until = null where activation = $1 and owner = $2`, [activation, owner]);
}

export interface DeadLetterInput {
  /** The event's position in the log. */
  readonly seq: number;
  readonly messageId: string | undefined;
  /** The event as logged, JSON text. */
  readonly event: string;
  readonly reason: string;
  readonly attempts: number;
}

/**
 * Moves the cursor to `seq` and stores the dead letters of the events it passes, in one transaction.
 * False (and nothing written) when the cursor is no longer this owner's.
 */
export async function advanceCursor(
  db: Database,
  cursor: { readonly activation: string; readonly source: string; readonly destination: string; readonly owner: string },
  seq: number,
  deadLetters: readonly DeadLetterInput[],
): Promise<boolean> {
  const move = async (tx: Queryable) => {
    const { rowCount } = await tx.query(`update sluice.event_cursors set seq = $3, updated_at = now() where activation = $1 and owner = $2 and seq <= $3`, [
      cursor.activation,
      cursor.owner,
      seq,
    ]);
    return rowCount > 0;
  };
  if (deadLetters.length === 0) return move(db);
  if (db.kind === 'pglite') {
    // One statement: the dead letters are written only when the cursor moved.
    const { rows } = await db.query<{ moved: string | number }>(
      `with moved as (
         update sluice.event_cursors set seq = $5, updated_at = now() where activation = $1 and owner = $6 and seq <= $5 returning 1),
       letters as (
         insert into sluice.dead_letters (activation, source, destination, seq, message_id, event, reason, attempts)
         select $1, $2, $3, (d->>'seq')::bigint, d->>'messageId', (d->>'event')::jsonb, d->>'reason', (d->>'attempts')::int
         from jsonb_array_elements($4::jsonb) as d where exists (select 1 from moved) returning 1)
       select (select count(*) from moved) as moved, (select count(*) from letters) as letters`,
      [cursor.activation, cursor.source, cursor.destination, JSON.stringify(deadLetters), seq, cursor.owner],
    );
    return Number(rows[0]?.moved ?? 0) > 0;
  }
  return db.transaction(async (tx) => {
    if (!(await move(tx))) return false;
    await tx.query(
      `insert into sluice.dead_letters (activation, source, destination, seq, message_id, event, reason, attempts)
       select $1, $2, $3, (d->>'seq')::bigint, d->>'messageId', (d->>'event')::jsonb, d->>'reason', (d->>'attempts')::int
       from jsonb_array_elements($4::jsonb) as d`,
      [cursor.activation, cursor.source, cursor.destination, JSON.stringify(deadLetters)],
    );
    return true;
  });
}

export interface CursorRow {
  readonly activation: string;
  readonly source: string;
  readonly seq: number;
  readonly owner: string | null;
  readonly updated_at: string | null;
}

export async function listCursors(db: Queryable): Promise<CursorRow[]> {
  const { rows } = await db.query<{ activation: string; source: string; seq: string; owner: string | null; updated_at: unknown }>(
    'select activation, source, seq, owner, updated_at from sluice.event_cursors order by activation',
  );
  return rows.map((row) => ({ activation: row.activation, source: row.source, seq: Number(row.seq), owner: row.owner, updated_at: iso(row.updated_at) }));
}

// ---------------------------------------------------------------------------------------- dead letters

export interface DeadLetter {
  readonly id: number;
  readonly activation: string;
  readonly source: string;
  readonly destination: string;
  readonly seq: number;
  readonly message_id: string | null;
  readonly event: Record<string, unknown>;
  readonly reason: string;
  readonly attempts: number;
  readonly at: string;
  readonly replayed_at: string | null;
}

export interface DeadLetterQuery {
  readonly activation?: string;
  /** Dead-lettered at or after (ISO time). */
  readonly from?: string;
  /** Dead-lettered before (ISO time). */
  readonly to?: string;
  /** `pending` (not replayed yet; default), `replayed` or `all`. */
  readonly status?: 'pending' | 'replayed' | 'all';
}

function deadLetterWhere(query: DeadLetterQuery, params: unknown[]): string {
  const where: string[] = [];
  if (query.activation !== undefined) where.push(`activation = $${params.push(query.activation)}`);
  if (query.from !== undefined) where.push(`at >= $${params.push(query.from)}::timestamptz`);
  if (query.to !== undefined) where.push(`at < $${params.push(query.to)}::timestamptz`);
  const status = query.status ?? 'pending';
  if (status === 'pending') where.push('replayed_at is null');
  if (status === 'replayed') where.push('replayed_at is not null');
  return where.length === 0 ? '' : `where ${where.join(' and ')}`;
}

function deadLetterOf(row: Record<string, unknown>): DeadLetter {
  return {
    id: Number(row.id),
    activation: String(row.activation),
    source: String(row.source),
    destination: String(row.destination),
    seq: Number(row.seq),
    message_id: (row.message_id as string | null) ?? null,
    event: JSON.parse(String(row.event)) as Record<string, unknown>,
    reason: String(row.reason),
    attempts: Number(row.attempts),
    at: iso(row.at) ?? '',
    replayed_at: iso(row.replayed_at),
  };
}

/** Dead letters, oldest first, keyset-paginated by id (`next_cursor`). */
export async function listDeadLetters(db: Queryable, query: DeadLetterQuery & { limit: number; cursor?: string }) {
  const params: unknown[] = [];
  const after = decodeCursor(query.cursor);
  let where = deadLetterWhere(query, params);
  if (after !== undefined) where = `${where === '' ? 'where' : `${where} and`} id > $${params.push(Number(after[0]))}`;
  const { rows } = await db.query(
    `select id, activation, source, destination, seq, message_id, event::text as event, reason, attempts, at, replayed_at
     from sluice.dead_letters ${where} order by id limit $${params.push(query.limit)}`,
    params,
  );
  const deadLetters = rows.map(deadLetterOf);
  const last = deadLetters[deadLetters.length - 1];
  return { dead_letters: deadLetters, next_cursor: deadLetters.length === query.limit && last !== undefined ? encodeCursor([last.id]) : null };
}

/**
 * Replays dead letters: each selected one (pending, matching `query` and `accept`) is appended to the log
 * again for its activation only, and marked replayed, page by page in transactions. Returns the count.
 */
export async function replayDeadLetters(
  db: Database,
  query: DeadLetterQuery & { readonly activation: string },
  accept: (event: Record<string, unknown>) => boolean = () => true,
): Promise<number> {
  let replayed = 0;
  let afterId = 0;
  for (;;) {
    const params: unknown[] = [];
    const where = deadLetterWhere({ ...query, status: 'pending' }, params);
    const { rows } = await db.query(
      `select id, activation, source, destination, seq, message_id, event::text as event, reason, attempts, at, replayed_at
       from sluice.dead_letters ${where} and id > $${params.push(afterId)} order by id limit 500`,
      params,
    );
    if (rows.length === 0) return replayed;
    const page = rows.map(deadLetterOf);
    afterId = page[page.length - 1]!.id;
    const chosen = page.filter((letter) => accept(letter.event));
    if (chosen.length === 0) continue;
    const ids = chosen.map((letter) => letter.id);
    // One log row per page: the events in dead-letter order, for this activation only.
    const replay = `with chosen as (
         update sluice.dead_letters set replayed_at = now() where id = any($1::bigint[]) and replayed_at is null
         returning id, source, activation, event)
       insert into sluice.events (source, received_at, replay_for, count, body)
       select source, now(), activation, count(*), json_agg(event order by id)::text from chosen group by source, activation`;
    if (db.kind === 'pglite') await db.query(replay, [ids]);
    else {
      await db.transaction(async (tx) => {
        await tx.query('select pg_advisory_xact_lock($1)', [APPEND_LOCK]);
        await tx.query(replay, [ids]);
      });
    }
    replayed += chosen.length;
  }
}

// ------------------------------------------------------------------------------------- sources, pruning

export interface EventSourceStats {
  readonly source: string;
  readonly events: number;
  readonly last_received_at: string | null;
}

/** Per source: events in the log (replays excluded) and the latest arrival. */
export async function eventSourceStats(db: Queryable): Promise<Map<string, EventSourceStats>> {
  const { rows } = await db.query<{ source: string; events: string | null; last: unknown }>(
    `select source, sum(count) filter (where replay_for is null) as events, max(received_at) as last from sluice.events group by source`,
  );
  return new Map(rows.map((row) => [row.source, { source: row.source, events: Number(row.events ?? 0), last_received_at: iso(row.last) }]));
}

export interface EventReject {
  readonly id: number;
  readonly source: string;
  readonly received_at: string | null;
  /** Where in the request: `batch[3]`. */
  readonly path: string;
  readonly reason: string;
  /** The event as sent (any JSON value). */
  readonly event: unknown;
}

/** Rejected events, oldest first, optionally of one source and a time range; keyset-paged by id. */
export async function listEventRejects(db: Queryable, query: { source?: string; from?: string; to?: string; limit: number; cursor?: string }) {
  const params: unknown[] = [];
  const conditions: string[] = [];
  if (query.source !== undefined) conditions.push(`source = $${params.push(query.source)}`);
  if (query.from !== undefined) conditions.push(`received_at >= $${params.push(query.from)}::timestamptz`);
  if (query.to !== undefined) conditions.push(`received_at < $${params.push(query.to)}::timestamptz`);
  const after = decodeCursor(query.cursor);
  if (after !== undefined) conditions.push(`id > $${params.push(Number(after[0]))}`);
  const { rows } = await db.query<{ id: string; source: string; received_at: unknown; path: string; reason: string; event: string }>(
    `select id, source, received_at, path, reason, event from sluice.event_rejects
     ${conditions.length === 0 ? '' : `where ${conditions.join(' and ')}`} order by id limit $${params.push(query.limit)}`,
    params,
  );
  const rejects: EventReject[] = rows.map((row) => ({
    id: Number(row.id),
    source: row.source,
    received_at: iso(row.received_at),
    path: row.path,
    reason: row.reason,
    event: JSON.parse(row.event) as unknown,
  }));
  const last = rejects[rejects.length - 1];
  return { rejects, next_cursor: rejects.length === query.limit && last !== undefined ? encodeCursor([last.id]) : null };
}

/** Rejected events per source (kept for the retention period). */
export async function eventRejectCounts(db: Queryable): Promise<Map<string, number>> {
  const { rows } = await db.query<{ source: string; count: string }>('select source, count(*) as count from sluice.event_rejects group by source');
  return new Map(rows.map((row) => [row.source, Number(row.count)]));
}

/** Per cursor: how many events of its source are logged after it (replays excluded; a row it is part-way through counts whole). */
export async function cursorLags(db: Queryable): Promise<Map<string, number>> {
  const { rows } = await db.query<{ activation: string; lag: string | null }>(
    `select c.activation, (select sum(e.count) from sluice.events e where e.source = c.source and e.seq > c.seq / ${ROW_SPAN} and e.replay_for is null) as lag
     from sluice.event_cursors c`,
  );
  return new Map(rows.map((row) => [row.activation, Number(row.lag ?? 0)]));
}

/** Pending dead letters per activation. */
export async function pendingDeadLetterCounts(db: Queryable): Promise<Map<string, number>> {
  const { rows } = await db.query<{ activation: string; count: string }>(
    'select activation, count(*) as count from sluice.dead_letters where replayed_at is null group by activation',
  );
  return new Map(rows.map((row) => [row.activation, Number(row.count)]));
}

/**
 * Deletes the log rows received before `before` that every listed activation of their source has passed
 * (an event some activation still has to deliver stays, however old), and the message ids received before
 * it (deduplication holds for as long as that). Returns the number of rows deleted.
 */
export async function pruneEvents(db: Queryable, before: Date, activations: readonly { readonly name: string; readonly source: string }[]): Promise<number> {
  const { rowCount } = await db.query(
    `delete from sluice.events e
     where e.received_at < $1::timestamptz
       and not exists (
         select 1 from sluice.event_cursors c
         join unnest($2::text[], $3::text[]) as a(activation, source) on a.activation = c.activation and a.source = c.source
         where c.source = e.source and c.seq < e.seq * ${ROW_SPAN} + ${ROW_SPAN - 1})`,
    [before.toISOString(), activations.map((activation) => activation.name), activations.map((activation) => activation.source)],
  );
  await db.query('delete from sluice.event_ids where received_at < $1::timestamptz', [before.toISOString()]);
  await db.query('delete from sluice.event_rejects where received_at < $1::timestamptz', [before.toISOString()]);
  return rowCount;
}

/** Every logged event (replays excluded) with its source and position, in log order: for tests and diagnostics. */
export async function dumpEvents(db: Queryable): Promise<Array<{ source: string; seq: number; event: Record<string, any> }>> {
  const { rows } = await db.query<{ source: string; seq: string; body: string; skip: number[] | null }>(
    'select source, seq, body, skip from sluice.events where replay_for is null order by seq',
  );
  return rows.flatMap((row) => {
    const skip = new Set((row.skip ?? []).map(Number));
    return (JSON.parse(row.body) as Record<string, any>[]).flatMap((event, index) => (skip.has(index) ? [] : [{ source: row.source, seq: Number(row.seq) * ROW_SPAN + index, event }]));
  });
}
