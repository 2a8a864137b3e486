/**
 * A bulk destination for engine tests, Marketo-style: `upload` copies the file into a "remote" directory
 * and returns a job id, `poll` says the job is in progress until `finish_after_ms` have passed since the
 * upload (or fails it), `results` reads the uploaded copy and rejects the rows whose `id` is divisible by
 * `reject_every`. Everything the remote knows lives in its directory, so a second process (a run resumed
 * after kill -9) sees the jobs of the first, and `remoteUploads` counts uploads across processes.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { type JsonObject, parseJson } from '../../src/protocol/json.ts';
import { type BulkFile, type BulkObject, defineDestination } from '../../src/sdk/destination.ts';
import { delivered, rejected, retry, type Outcome } from '../../src/sdk/outcome.ts';
import { SluiceError } from '../../src/sdk/errors.ts';

const spec = z.strictObject({
  remote: z.string(),
  format: z.enum(['csv', 'jsonl']).default('jsonl'),
  gzip: z.boolean().default(false),
  max_rows: z.number().int().default(1000),
  max_bytes: z.number().int().default(10_000_000),
  max_jobs: z.number().int().default(2),
  job_timeout_ms: z.number().int().default(60_000),
  finish_after_ms: z.number().int().default(0),
  /** Jobs whose (0-based) upload number is listed fail when polled. */
  fail_uploads: z.array(z.number().int()).default([]),
  /** Rows with `id % reject_every === 0` are rejected in the results (0: none). */
  reject_every: z.number().int().default(0),
  /** Rows with `id % retry_every === 0` come back `retry`. */
  retry_every: z.number().int().default(0),
  name_template: z.string().optional(),
  columns: z.array(z.string()).optional(),
  upload_only: z.boolean().default(false),
  /** The first N upload attempts throw a transient error. */
  flaky_uploads: z.number().int().default(0),
});
export type TestBulkConfig = z.output<typeof spec>;

interface Job extends JsonObject {
  id: string;
  upload: number;
}

export interface RemoteUpload {
  readonly id: string;
  readonly upload: number;
  readonly name: string;
  readonly rows: number;
  readonly at: number;
  readonly runId: string;
}

/** Every upload the remote received (across processes), ordered by file name, then by upload. */
export function remoteUploads(remote: string): RemoteUpload[] {
  const path = join(remote, 'uploads.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as RemoteUpload)
    // Uploads in flight at once finish in any order; file names carry the file's number.
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.upload - b.upload));
}

/** The rows of an uploaded file, parsed (CSV values stay strings). */
export function remoteRows(remote: string, upload: RemoteUpload, file: Pick<BulkFile, 'format' | 'gzip'>): JsonObject[] {
  let bytes = readFileSync(join(remote, `${upload.id}.data`));
  if (file.gzip) bytes = gunzipSync(bytes);
  const text = bytes.toString('utf8');
  if (file.format === 'jsonl') return text.split('\n').filter((line) => line !== '').map((line) => parseJson(line) as JsonObject);
  return parse(text, { columns: true }) as JsonObject[];
}

/** In-process observations (the remote directory holds what must survive a restart). */
export interface BulkStats {
  active: number;
  maxActive: number;
  polls: number;
  /** Ids whose results were handed back, in order. */
  resulted: Set<number>;
  uploadAttempts: number;
}

export function testBulkDestination() {
  const stats: BulkStats = { active: 0, maxActive: 0, polls: 0, resulted: new Set(), uploadAttempts: 0 };
  const nextUpload = (remote: string) => remoteUploads(remote).length;
  const object: BulkObject<TestBulkConfig, undefined, Job> = {
    title: 'Rows',
    syncModes: ['append', 'upsert', 'insert'],
    file: (config) => ({
      format: config.format,
      gzip: config.gzip,
      maxRows: config.max_rows,
      maxBytes: config.max_bytes,
      ...(config.columns === undefined ? {} : { columns: config.columns }),
      ...(config.name_template === undefined ? {} : { nameTemplate: config.name_template }),
    }),
    maxJobs: (config) => config.max_jobs,
    jobTimeoutMs: (config) => config.job_timeout_ms,
    async upload(file, ctx) {
      const config = ctx.config;
      stats.uploadAttempts++;
      if (stats.uploadAttempts <= config.flaky_uploads) throw new SluiceError('NETWORK', 'connection reset (test)');
      mkdirSync(config.remote, { recursive: true });
      const id = randomUUID();
      await copyFile(file.path, join(config.remote, `${id}.data`));
      const upload = nextUpload(config.remote);
      appendFileSync(join(config.remote, 'uploads.jsonl'), `${JSON.stringify({ id, upload, name: file.name, rows: file.rows, at: Date.now(), runId: ctx.runId, bytes: statSync(file.path).size })}\n`);
      stats.active++;
      stats.maxActive = Math.max(stats.maxActive, stats.active);
      return { id, upload };
    },
  };
  const polling: Pick<BulkObject<TestBulkConfig, undefined, Job>, 'poll' | 'results'> = {
    async poll(job, ctx) {
      stats.polls++;
      const upload = remoteUploads(ctx.config.remote).find((found) => found.id === job.id);
      if (upload === undefined) throw new SluiceError('DESTINATION_FAILED', `no job ${job.id}`);
      if (Date.now() - upload.at < ctx.config.finish_after_ms) return { status: 'in_progress', message: 'importing' };
      if (ctx.config.fail_uploads.includes(job.upload)) {
        stats.active--;
        return { status: 'failed', reason: `import ${job.upload} failed (test)` };
      }
      return { status: 'succeeded' };
    },
    async results(job, file, ctx) {
      stats.active--;
      const upload = remoteUploads(ctx.config.remote).find((found) => found.id === job.id)!;
      return remoteRows(ctx.config.remote, upload, file).map((row): Outcome => {
        const id = Number(row.id);
        stats.resulted.add(id);
        if (ctx.config.reject_every > 0 && id % ctx.config.reject_every === 0) return rejected(`id ${id} is on the test block list`);
        if (ctx.config.retry_every > 0 && id % ctx.config.retry_every === 0) return retry(`id ${id} is busy`);
        return delivered();
      });
    },
  };
  const definition = defineDestination({
    id: 'test-bulk',
    title: 'Test bulk',
    description: 'A Marketo-style bulk API on a local directory.',
    spec,
    check: async () => ({ ok: true }),
    objects: { rows: { ...object, ...polling } },
  });
  const uploadOnly = defineDestination({
    id: 'test-bulk-drop',
    title: 'Test file drop',
    description: 'Upload only.',
    spec,
    check: async () => ({ ok: true }),
    objects: {
      rows: {
        ...object,
        async upload(file, ctx) {
          const job = await object.upload(file, ctx);
          stats.active--;
          for (const row of remoteRows(ctx.config.remote, remoteUploads(ctx.config.remote).find((found) => found.id === job.id)!, file)) stats.resulted.add(Number(row.id));
          return job;
        },
      },
    },
  });
  return { definition, uploadOnly, stats };
}

export default testBulkDestination().definition;
