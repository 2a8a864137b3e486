/**
 * Bulk objects through the engine: files cut at their limits, jobs uploaded → polled → results mapped back
 * (rejected rows in the ledger with the destination's reason and the row read back from the file), a
 * failed job uploaded once more, a timed-out job left for the next run to poll, maxJobs respected, state
 * committed only once the results before it are in, and a restart that finishes an earlier run's jobs.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RemoteUpload, type TestBulkConfig, remoteRows, remoteUploads, testBulkDestination } from '../../test/support/bulk-destination.ts';
import { sequenceSource } from '../../test/support/sources.ts';
import type { JsonObject } from '../protocol/json.ts';
import type { State } from '../sdk/source.ts';
import { bulkFileName } from './bulk-file.ts';
import { FileBulkJobStore } from './bulk-jobs.ts';
import { MemoryLedger } from './ledger.ts';
import { runActivation } from './run.ts';
import { MemoryStateStore } from './state-store.ts';
import type { ActivationPlan, RunOptions } from './types.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-bulk-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Config = Partial<TestBulkConfig>;

function lastId(state: State | undefined): number {
  return (state?.bookmarks?.items as { last_id?: number } | undefined)?.last_id ?? 0;
}

function setup(config: Config = {}, source: Parameters<typeof sequenceSource>[0] = { count: 2500, stateEvery: 100 }) {
  const bulk = testBulkDestination();
  const remote = join(dir, 'remote');
  const full = { remote, ...config } as TestBulkConfig;
  const parsed = bulk.definition.spec.parse(full);
  const activation = (definition = bulk.definition, overrides: Config = {}): ActivationPlan => ({
    name: 'bulk',
    source: { definition: sequenceSource(source), config: {} },
    destination: { definition, config: { ...parsed, ...overrides } },
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
  });
  const jobs = new FileBulkJobStore(join(dir, 'jobs.json'));
  const options = (extra: Partial<RunOptions> = {}): RunOptions => ({
    activation: activation(),
    stateStore: new MemoryStateStore(),
    ledger: new MemoryLedger(),
    bulk: { dir: join(dir, 'files'), jobs, pollInitialMs: 5, pollMaxMs: 20 },
    ...extra,
  });
  return { bulk, remote, activation, jobs, options, config: parsed };
}

function uploadedIds(remote: string, uploads: readonly RemoteUpload[], config: TestBulkConfig): number[] {
  return uploads.flatMap((upload) => remoteRows(remote, upload, { format: config.format, gzip: config.gzip }).map((row) => Number(row.id)));
}

describe('bulk objects', () => {
  it('cuts files at max_rows, uploads, polls and delivers every row; state ends at the last record; files and job records are cleaned up', async () => {
    const { remote, options, jobs, config } = setup({ max_rows: 1000, finish_after_ms: 20 });
    const stateStore = new MemoryStateStore();
    const summary = await runActivation(options({ stateStore }));
    expect(summary.status).toBe('succeeded');
    expect(summary.counters).toMatchObject({ read: 2500, delivered: 2500, rejected: 0, batches: 3 });
    const uploads = remoteUploads(remote);
    expect(uploads.map((upload) => upload.rows)).toEqual([1000, 1000, 500]);
    expect(uploadedIds(remote, uploads, config)).toEqual(Array.from({ length: 2500 }, (_, index) => index + 1));
    expect(lastId(stateStore.state)).toBe(2500);
    expect(await jobs.list()).toEqual([]);
    expect(readdirSync(join(dir, 'files'))).toEqual([]);
  });

  it('writes CSV with a header of the first record\'s fields, gzip, and names files from the template', async () => {
    const { remote, options } = setup({ format: 'csv', gzip: true, max_rows: 300, name_template: 'export-{activation}-{index}.{ext}' }, { count: 500, stateEvery: 50 });
    const summary = await runActivation(options());
    expect(summary.status).toBe('succeeded');
    const uploads = remoteUploads(remote);
    expect(uploads.map((upload) => upload.name)).toEqual(['export-bulk-00000.csv.gz', 'export-bulk-00001.csv.gz']);
    const rows = remoteRows(remote, uploads[0]!, { format: 'csv', gzip: true });
    expect(rows[0]).toEqual({ id: '1', name: 'item 1' });
    expect(rows).toHaveLength(300);
  });

  it('maps results back: rejected rows go to the ledger with the destination\'s reason and the row read back from the file', async () => {
    const { options } = setup({ reject_every: 7, retry_every: 500, max_rows: 400 }, { count: 1000, stateEvery: 100 });
    const ledger = new MemoryLedger();
    const stateStore = new MemoryStateStore();
    const summary = await runActivation(options({ ledger, stateStore }));
    expect(summary.status).toBe('succeeded');
    const rejectedIds = Array.from({ length: 1000 }, (_, index) => index + 1).filter((id) => id % 7 === 0 || id % 500 === 0);
    expect(summary.counters).toMatchObject({ read: 1000, rejected: rejectedIds.length, delivered: 1000 - rejectedIds.length });
    expect(ledger.entries.map((entry) => (entry.record as { id: number }).id).sort((a, b) => a - b)).toEqual(rejectedIds);
    const seven = ledger.entries.find((entry) => (entry.record as { id: number }).id === 7)!;
    expect(seven).toMatchObject({ code: 'DESTINATION_REJECTED', reason: 'id 7 is on the test block list', record: { id: 7, name: 'item 7' }, object: 'rows', stream: 'items' });
    const busy = ledger.entries.find((entry) => (entry.record as { id: number }).id === 500)!;
    expect(busy.reason).toMatch(/id 500 is busy \(bulk results are final/);
    expect(lastId(stateStore.state)).toBe(1000);
  });

  it('uploads a failed job once more as a new job, and rejects its rows with the reason when it fails again', async () => {
    // Upload 0 (file 0) fails, 1 (file 0 again) succeeds, 2 and 3 (file 1, twice) fail.
    const { remote, options } = setup({ max_rows: 100, max_jobs: 1, fail_uploads: [0, 2, 3] }, { count: 200, stateEvery: 50 });
    const ledger = new MemoryLedger();
    const summary = await runActivation(options({ ledger }));
    expect(summary.status).toBe('succeeded');
    const uploads = remoteUploads(remote);
    expect(uploads.map((upload) => upload.name)).toEqual([
      bulkFileName(undefined, { activation: 'bulk', run: summary.runId, index: 0, ext: 'jsonl', at: new Date() }),
      bulkFileName(undefined, { activation: 'bulk', run: summary.runId, index: 0, ext: 'jsonl', at: new Date() }),
      bulkFileName(undefined, { activation: 'bulk', run: summary.runId, index: 1, ext: 'jsonl', at: new Date() }),
      bulkFileName(undefined, { activation: 'bulk', run: summary.runId, index: 1, ext: 'jsonl', at: new Date() }),
    ]);
    expect(summary.counters).toMatchObject({ read: 200, delivered: 100, rejected: 100 });
    expect(ledger.entries[0]).toMatchObject({ code: 'BULK_JOB_FAILED', attempts: 2, record: { id: 101, name: 'item 101' } });
    expect(ledger.entries[0]!.reason).toBe('bulk job failed twice: import 3 failed (test)');
  });

  it('retries an upload that fails transiently', async () => {
    const { bulk, options } = setup({ flaky_uploads: 2, max_rows: 1000 }, { count: 100 });
    const summary = await runActivation(options());
    expect(summary.status).toBe('succeeded');
    expect(summary.counters.delivered).toBe(100);
    expect(bulk.stats.uploadAttempts).toBe(3);
  });

  it('keeps at most max_jobs jobs in flight, and commits state only once every record before it has its result', async () => {
    const { bulk, options } = setup({ max_rows: 100, max_jobs: 2, finish_after_ms: 30 }, { count: 1000, stateEvery: 30 });
    const problems: string[] = [];
    let commits = 0;
    const summary = await runActivation(
      options({
        onStateCommitted: (state) => {
          commits++;
          const upTo = lastId(state);
          for (let id = 1; id <= upTo; id++) {
            if (!bulk.stats.resulted.has(id)) {
              problems.push(`state ${upTo} committed before the result of record ${id}`);
              break;
            }
          }
        },
      }),
    );
    expect(summary.status).toBe('succeeded');
    expect(problems).toEqual([]);
    expect(commits).toBeGreaterThan(10);
    expect(bulk.stats.maxActive).toBe(2);
  });

  it('a job that outlives job_timeout_ms fails the run with its rows unsettled; the next run polls the same job to its end without uploading again', async () => {
    const first = setup({ max_rows: 100, max_jobs: 2, finish_after_ms: 400, job_timeout_ms: 100 }, { count: 250, stateEvery: 25 });
    const stateStore = new MemoryStateStore();
    const ledger = new MemoryLedger();
    const summary = await runActivation(first.options({ stateStore, ledger }));
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/^BULK_JOB_TIMEOUT: the bulk job for .* \(100 rows\) did not finish within 0 s.*the next run polls the job again/);
    expect(summary.counters.read).toBe(summary.counters.delivered + summary.counters.rejected + summary.counters.unchanged + summary.unsettled);
    expect(summary.unsettled).toBeGreaterThan(0);
    expect(lastId(stateStore.state)).toBe(0);
    const pending = await first.jobs.list();
    expect(pending.length).toBeGreaterThanOrEqual(1);
    expect(pending[0]).toMatchObject({ status: 'polling', fileIndex: 0 });
    const uploadsBefore = remoteUploads(first.remote).length;

    // The same activation again, with a timeout long enough: the jobs are polled to their end first.
    const second = await runActivation({ ...first.options({ stateStore, ledger }), activation: first.activation(testBulkDestination().definition, { job_timeout_ms: 60_000 }) });
    expect(second.status).toBe('succeeded');
    const uploads = remoteUploads(first.remote);
    // Files recorded `polling` are not uploaded again; only the rest of the source is.
    const names = uploads.map((upload) => upload.name);
    expect(new Set(names.slice(0, uploadsBefore)).size).toBe(uploadsBefore);
    for (const record of pending) expect(names.filter((name) => name === record.file.name)).toHaveLength(1);
    expect(lastId(stateStore.state)).toBe(250);
    const ids = uploadedIds(first.remote, uploads, first.config);
    expect(new Set(ids).size).toBe(250);
    expect(await first.jobs.list()).toEqual([]);
  });

  it('an upload-only object is done when the upload resolves', async () => {
    const { bulk, remote, activation, options } = setup({ max_rows: 400 }, { count: 1000, stateEvery: 100 });
    const stateStore = new MemoryStateStore();
    const summary = await runActivation({ ...options({ stateStore }), activation: activation(bulk.uploadOnly) });
    expect(summary.status).toBe('succeeded');
    expect(summary.counters).toMatchObject({ read: 1000, delivered: 1000, batches: 3 });
    expect(bulk.stats.polls).toBe(0);
    expect(remoteUploads(remote)).toHaveLength(3);
    expect(lastId(stateStore.state)).toBe(1000);
  });

  it('a dry run writes and uploads nothing, and counts the files it would write', async () => {
    const { remote, options } = setup({ max_rows: 400 }, { count: 1000 });
    const summary = await runActivation(options({ dryRun: true }));
    expect(summary.status).toBe('succeeded');
    expect(summary.plan).toMatchObject({ records: 1000, batches: 3 });
    expect(existsSync(remote)).toBe(false);
  });

  it('rejects a CSV record with a field outside the inferred columns, naming it', async () => {
    const { options } = setup({ format: 'csv' }, { count: 10, extra: (id): JsonObject => (id === 5 ? { extra: 1 } : {}) });
    const ledger = new MemoryLedger();
    const summary = await runActivation(options({ ledger }));
    expect(summary.counters).toMatchObject({ delivered: 9, rejected: 1 });
    expect(ledger.entries[0]).toMatchObject({ code: 'RECORD_INVALID' });
    expect(ledger.entries[0]!.reason).toMatch(/field "extra" is not a column/);
  });

  it('interrupting a run leaves its polled jobs for the next run, which finishes them', async () => {
    const first = setup({ max_rows: 100, max_jobs: 2, finish_after_ms: 300 }, { count: 300, stateEvery: 10 });
    const controller = new AbortController();
    const stateStore = new MemoryStateStore();
    // Interrupt as soon as a job is being polled.
    const put = first.jobs.put.bind(first.jobs);
    first.jobs.put = async (record) => {
      await put(record);
      if (record.status === 'polling') controller.abort();
    };
    const summary = await runActivation(first.options({ stateStore, signal: controller.signal }));
    expect(summary.status).toBe('interrupted');
    expect(summary.unsettled).toBeGreaterThan(0);
    const pending = await first.jobs.list();
    expect(pending.length).toBeGreaterThan(0);
    const second = await runActivation(first.options({ stateStore }));
    expect(second.status).toBe('succeeded');
    expect(lastId(stateStore.state)).toBe(300);
    const names = remoteUploads(first.remote).map((upload) => upload.name);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(uploadedIds(first.remote, remoteUploads(first.remote), first.config)).size).toBe(300);
  });

  it('without bulk options, a run uses a temporary directory and in-memory jobs', async () => {
    const { bulk, activation, options } = setup({ max_rows: 100 }, { count: 250 });
    const { bulk: _bulk, ...rest } = options();
    const summary = await runActivation({ ...rest, activation: activation(bulk.uploadOnly) });
    expect(summary.status).toBe('succeeded');
    expect(summary.counters.delivered).toBe(250);
  });
});
