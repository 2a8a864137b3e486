/**
 * Kill -9 while a bulk job is being polled, then restart: the job is polled to its end, not uploaded again,
 * and every row is delivered or rejected with the destination's reason; state ends at the last record.
 * The run is a child process (test/fixtures/bulk/run.ts) with its state, job records and ledger in files,
 * as `sluice run` keeps them; the destination's "remote" is a directory both processes see, which counts
 * uploads.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunSummary } from '../src/engine/types.ts';
import { remoteRows, remoteUploads } from './support/bulk-destination.ts';

const SCRIPT = fileURLToPath(new URL('./fixtures/bulk/run.ts', import.meta.url));
const COUNT = 3000;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-bulk-kill-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function start(jobPath: string): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, jobPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

interface JobsFile {
  jobs: Array<{ status: string; fileIndex: number; file: { name: string } }>;
}

function jobsOnDisk(): JobsFile['jobs'] {
  const path = join(dir, 'state.bulk-jobs.json');
  if (!existsSync(path)) return [];
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as JobsFile).jobs;
  } catch {
    return []; // mid-rename
  }
}

it('kill -9 while a job is polled; the restarted run polls it to its end without uploading it again, and settles every row', async () => {
  const remote = join(dir, 'remote');
  const jobPath = join(dir, 'job.json');
  // Jobs take 1.5 s to finish, polled from 100 ms doubling to 400 ms; 1,000 rows a file, two jobs at once.
  await writeFile(jobPath, JSON.stringify({ dir, count: COUNT, config: { remote, max_rows: 1000, max_jobs: 2, finish_after_ms: 1500, reject_every: 13 } }));

  const first = start(jobPath);
  let killedWith: JobsFile['jobs'] = [];
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && first.child.exitCode === null) {
    const jobs = jobsOnDisk();
    // A job is being polled and no upload is half done: the moment the issue describes.
    if (jobs.some((job) => job.status === 'polling') && jobs.every((job) => job.status === 'polling')) {
      first.child.kill('SIGKILL');
      killedWith = jobs;
      break;
    }
    await sleep(5);
  }
  const firstEnd = await first.done;
  expect(firstEnd.signal, `the first run ended before it could be killed: ${firstEnd.stderr.slice(-500)}`).toBe('SIGKILL');
  expect(killedWith.length).toBeGreaterThan(0);
  const uploadsAtKill = remoteUploads(remote);
  expect(uploadsAtKill.length).toBe(killedWith.length);

  const second = start(jobPath);
  const secondEnd = await second.done;
  expect(secondEnd.code, secondEnd.stderr.slice(-1000)).toBe(0);
  const summary = JSON.parse(secondEnd.stdout.trim().split('\n').at(-1)!) as RunSummary;
  expect(summary.status).toBe('succeeded');

  // Not uploaded twice: every file name once, and every row in exactly one upload.
  const uploads = remoteUploads(remote);
  const names = uploads.map((upload) => upload.name);
  expect(new Set(names).size).toBe(names.length);
  for (const job of killedWith) expect(names.filter((name) => name === job.file.name)).toHaveLength(1);
  const ids = uploads.flatMap((upload) => remoteRows(remote, upload, { format: 'jsonl', gzip: false }).map((row) => Number(row.id)));
  expect(ids.length).toBe(COUNT);
  expect(new Set(ids).size).toBe(COUNT);

  // Every row delivered or rejected with the destination's reason; the rejects are in the ledger.
  const ledger = readFileSync(join(dir, 'state.rejects.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { reason: string; record: { id: number }; code: string });
  const expected = Array.from({ length: COUNT }, (_, index) => index + 1).filter((id) => id % 13 === 0);
  expect(ledger.map((entry) => entry.record.id).sort((a, b) => a - b)).toEqual(expected);
  for (const entry of ledger) expect(entry).toMatchObject({ code: 'DESTINATION_REJECTED', reason: `id ${entry.record.id} is on the test block list` });
  // The resumed files' rows are counted by the second run, which read the rest of the source.
  expect(summary.counters.delivered + summary.counters.rejected).toBe(summary.counters.read);

  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { bookmarks: { items: { last_id: number } } };
  expect(state.bookmarks.items.last_id).toBe(COUNT);
  expect(jobsOnDisk()).toEqual([]);
});
