/**
 * What a run leaves behind besides its counters: its log lines and its ledger of rejected records, each
 * appended in batches (one INSERT per batch, from JSON) and read back in pages by id.
 */
import type { RejectEntry, RejectLedger } from '../engine/ledger.ts';
import { stringifyJson, type JsonValue } from '../protocol/json.ts';
import type { Queryable } from './db.ts';
import { fromJsonText, iso } from './rows.ts';

export interface RunLogLine {
  readonly at: string;
  readonly level: string;
  readonly message: string;
  readonly data?: Record<string, unknown>;
}

export async function appendRunLogs(db: Queryable, runId: string, lines: readonly RunLogLine[]): Promise<void> {
  if (lines.length === 0) return;
  await db.query(
    `insert into sluice.run_logs (run_id, at, level, message, data)
     select $1, (l->>'at')::timestamptz, l->>'level', l->>'message', l->'data' from jsonb_array_elements($2::jsonb) as l`,
    [runId, stringifyJson(lines as unknown as JsonValue)],
  );
}

export async function listRunLogs(db: Queryable, runId: string, page: { after?: number; limit: number }) {
  const { rows } = await db.query(
    `select id, at, level, message, data::text as data from sluice.run_logs where run_id = $1 and id > $2 order by id limit $3`,
    [runId, page.after ?? 0, page.limit],
  );
  const logs = rows.map((row) => ({
    id: Number(row.id),
    at: iso(row.at) ?? '',
    level: String(row.level),
    message: String(row.message),
    data: fromJsonText(row.data),
  }));
  return { logs, next_after: logs.length === page.limit ? (logs[logs.length - 1]?.id ?? null) : null };
}

export async function appendRejects(db: Queryable, runId: string, entries: readonly RejectEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((entry) => ({
    stream: entry.stream,
    object: entry.object ?? null,
    code: entry.code,
    reason: entry.reason,
    attempts: entry.attempts,
    record: entry.record,
    origin: entry.origin ?? null,
  }));
  await db.query(
    `insert into sluice.run_rejects (run_id, stream, object, code, reason, attempts, record, origin)
     select $1, r->>'stream', r->>'object', r->>'code', r->>'reason', (r->>'attempts')::int, r->'record', r->'origin'
     from jsonb_array_elements($2::jsonb) as r`,
    [runId, stringifyJson(rows as unknown as JsonValue)],
  );
}

export async function listRejects(db: Queryable, runId: string, page: { after?: number; limit: number }) {
  const { rows } = await db.query(
    `select id, at, stream, object, code, reason, attempts, record::text as record, origin::text as origin
     from sluice.run_rejects where run_id = $1 and id > $2 order by id limit $3`,
    [runId, page.after ?? 0, page.limit],
  );
  const rejects = rows.map((row) => ({
    id: Number(row.id),
    at: iso(row.at) ?? '',
    stream: String(row.stream),
    object: (row.object as string | null) ?? null,
    code: String(row.code),
    reason: String(row.reason),
    attempts: Number(row.attempts),
    record: fromJsonText(row.record),
    origin: fromJsonText(row.origin),
  }));
  return { rejects, next_after: rejects.length === page.limit ? (rejects[rejects.length - 1]?.id ?? null) : null };
}

/**
 * The engine's reject ledger, kept in the store: entries are buffered and written in batches; `flush`
 * and `close` wait for them, so a run's rejects are durable before the run is marked finished.
 */
export class StoreLedger implements RejectLedger {
  private buffer: RejectEntry[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Queryable,
    private readonly runId: string,
    private readonly batchSize = 500,
  ) {}

  add(entry: RejectEntry): void {
    this.buffer.push(entry);
    if (this.buffer.length >= this.batchSize) void this.flush();
  }

  flush(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length > 0) this.writing = this.writing.then(() => appendRejects(this.db, this.runId, batch));
    return this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
