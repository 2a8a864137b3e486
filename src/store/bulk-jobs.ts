/**
 * Bulk jobs in the store (`sluice.bulk_jobs`): the engine's job records for one activation (see
 * engine/bulk-jobs.ts), used by `sluice worker` and `sluice serve`. Files, jobs and states travel as exact
 * JSON text; `created_at` is the time the file was cut, which orders runs.
 */
import type { BulkJobRecord, BulkJobStore } from '../engine/bulk-jobs.ts';
import type { BulkFile } from '../sdk/destination.ts';
import type { State } from '../sdk/source.ts';
import type { Queryable } from './db.ts';
import { fromJsonText, iso, jsonParam } from './rows.ts';

export class StoreBulkJobStore implements BulkJobStore {
  constructor(
    private readonly db: Queryable,
    private readonly activation: string,
  ) {}

  async list(): Promise<BulkJobRecord[]> {
    const { rows } = await this.db.query(
      `select run_id, file_index, status, attempt, file::text as file, job::text as job, state_after::text as state_after, created_at
       from sluice.bulk_jobs where activation = $1
       order by min(created_at) over (partition by run_id), run_id, file_index`,
      [this.activation],
    );
    return rows.map((row) => {
      const job = fromJsonText(row.job);
      const stateAfter = fromJsonText<State>(row.state_after);
      return {
        runId: String(row.run_id),
        fileIndex: Number(row.file_index),
        status: row.status as BulkJobRecord['status'],
        attempt: Number(row.attempt),
        file: fromJsonText<BulkFile>(row.file)!,
        ...(job === null ? {} : { job }),
        ...(stateAfter === null ? {} : { stateAfter }),
        createdAt: iso(row.created_at) ?? '',
      };
    });
  }

  async put(record: BulkJobRecord): Promise<void> {
    await this.db.query(
      `insert into sluice.bulk_jobs (activation, run_id, file_index, status, attempt, file, job, state_after, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9, now())
       on conflict (activation, run_id, file_index) do update set
         status = excluded.status, attempt = excluded.attempt, file = excluded.file, job = excluded.job,
         state_after = excluded.state_after, updated_at = now()`,
      [
        this.activation,
        record.runId,
        record.fileIndex,
        record.status,
        record.attempt,
        jsonParam(record.file),
        record.job === undefined ? null : jsonParam(record.job),
        jsonParam(record.stateAfter),
        record.createdAt,
      ],
    );
  }

  async remove(runId: string, fileIndex: number): Promise<void> {
    await this.db.query('delete from sluice.bulk_jobs where activation = $1 and run_id = $2 and file_index = $3', [this.activation, runId, fileIndex]);
  }
}
