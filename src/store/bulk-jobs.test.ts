/**
 * Bulk job records in the store, on both database targets: put, replace, list in run then file order,
 * remove; exact JSON (a cursor beyond 2^53 survives); and the engine finishing an earlier run's jobs from
 * the store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestDatabase, forEachDatabase } from '../../test/support/databases.ts';
import { remoteUploads, testBulkDestination } from '../../test/support/bulk-destination.ts';
import { sequenceSource } from '../../test/support/sources.ts';
import type { BulkJobRecord } from '../engine/bulk-jobs.ts';
import { MemoryLedger } from '../engine/ledger.ts';
import { runActivation } from '../engine/run.ts';
import { MemoryStateStore } from '../engine/state-store.ts';
import { StoreBulkJobStore } from './bulk-jobs.ts';
import type { Database } from './db.ts';
import { migrate } from './migrations.ts';

const file = (index: number) => ({ path: `/tmp/x/${index}.csv`, name: `f-${index}.csv`, index, format: 'csv' as const, gzip: false, rows: 10, bytes: 100, columns: ['id'] });

forEachDatabase((target) => {
  let tdb: TestDatabase;
  let db: Database;
  let dir: string;

  beforeAll(async () => {
    tdb = await target.create();
    db = await tdb.open();
    await migrate(db);
    dir = await mkdtemp(join(tmpdir(), 'sluice-store-bulk-'));
  });
  afterAll(async () => {
    await tdb?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('puts, replaces, lists (oldest run first, then file order) and removes job records, with exact JSON', async () => {
    const store = new StoreBulkJobStore(db, 'a');
    const record = (runId: string, fileIndex: number, createdAt: string): BulkJobRecord => ({ runId, fileIndex, status: 'uploading', file: file(fileIndex), attempt: 1, createdAt });
    await store.put(record('run-b', 1, '2024-01-02T00:00:01.000Z'));
    await store.put(record('run-b', 0, '2024-01-02T00:00:00.000Z'));
    await store.put(record('run-a', 0, '2024-01-01T00:00:00.000Z'));
    await new StoreBulkJobStore(db, 'other').put(record('run-c', 0, '2024-01-01T00:00:00.000Z'));
    await store.put({ ...record('run-b', 0, '2024-01-02T00:00:00.000Z'), status: 'polling', job: { id: 'job-7', big: 9007199254740993n }, stateAfter: { bookmarks: { items: { last_id: 9007199254740993n } } } });
    const listed = await store.list();
    expect(listed.map((found) => `${found.runId}/${found.fileIndex}/${found.status}`)).toEqual(['run-a/0/uploading', 'run-b/0/polling', 'run-b/1/uploading']);
    expect(listed[1]).toMatchObject({ job: { id: 'job-7', big: 9007199254740993n }, stateAfter: { bookmarks: { items: { last_id: 9007199254740993n } } }, file: file(0), createdAt: '2024-01-02T00:00:00.000Z' });
    await store.remove('run-b', 0);
    await store.remove('run-a', 0);
    expect((await store.list()).map((found) => `${found.runId}/${found.fileIndex}`)).toEqual(['run-b/1']);
  });

  it('a run resumes the jobs an interrupted run left in the store, without uploading them again', async () => {
    const bulk = testBulkDestination();
    const remote = join(dir, 'remote');
    const config = bulk.definition.spec.parse({ remote, max_rows: 50, finish_after_ms: 300 });
    const jobs = new StoreBulkJobStore(db, 'resume');
    // Interrupt as soon as a job is being polled (not after a fixed time: machines differ in speed).
    const controller = new AbortController();
    const put = jobs.put.bind(jobs);
    jobs.put = async (record) => {
      await put(record);
      if (record.status === 'polling') controller.abort();
    };
    const stateStore = new MemoryStateStore();
    const options = (signal?: AbortSignal) => ({
      activation: { name: 'resume', source: { definition: sequenceSource({ count: 200, stateEvery: 10 }), config: {} }, destination: { definition: bulk.definition, config } },
      stateStore,
      ledger: new MemoryLedger(),
      bulk: { dir: join(dir, 'files'), jobs, pollInitialMs: 10, pollMaxMs: 50 },
      ...(signal === undefined ? {} : { signal }),
    });
    const first = await runActivation(options(controller.signal));
    expect(first.status).toBe('interrupted');
    expect((await jobs.list()).length).toBeGreaterThan(0);
    const second = await runActivation(options());
    expect(second.status).toBe('succeeded');
    const names = remoteUploads(remote).map((upload) => upload.name);
    expect(new Set(names).size).toBe(names.length);
    expect((stateStore.state?.bookmarks?.items as { last_id: number }).last_id).toBe(200);
    expect(await jobs.list()).toEqual([]);
  });
});
