/**
 * The `marketo-bulk` destination: imports leads into Marketo with its Bulk Import API. A bulk object: the
 * engine writes records to CSV files (header = the mapped fields, Marketo REST API names); `upload` creates
 * an import job with the file (`POST /bulk/v1/leads.json`), `poll` reads its status (Queued → Importing →
 * Complete or Failed), and `results` fetches the failures and warnings files and maps each row back to its
 * record (results.ts): failed rows are rejected with Marketo's "Import Failure Reason", the rest delivered
 * (warnings are logged). A job Marketo fails whole is a failed poll, with Marketo's message.
 *
 * Errors reach the engine as SluiceErrors (codes.ts): busy answers (606 rate limit, 615 concurrency, 1016
 * import queue full, 5xx) are transient; 601/602 renew the token inside the client; a refused secret or
 * 603 is an auth failure; codes about the config (list, partition, lookup field, quota) stop the run;
 * codes about the data reject the file's rows with Marketo's message.
 */
import { z } from 'zod';
import type { CheckResult, ConnectorContext } from '../../../sdk/context.ts';
import { type BulkFile, type BulkObject, type BulkPoll, type WriteContext, defineDestination } from '../../../sdk/destination.ts';
import { SluiceError, describeError } from '../../../sdk/errors.ts';
import { type Outcome, allOutcomes, rejected } from '../../../sdk/outcome.ts';
import { MarketoClient } from './client.ts';
import { MarketoApiError } from './codes.ts';
import { EMPTY_REPORT, FAILURE_COLUMN, WARNING_COLUMN, matchReports, outcomesFor, parseReport, readHeader } from './results.ts';
import { type MarketoBulkConfig, marketoBulkSpec } from './spec.ts';

/** What `upload` returns and the engine stores: enough to poll and fetch results after a restart. */
export type MarketoJob = { readonly batchId: number; readonly lookupField: string };

type Ctx = WriteContext<MarketoBulkConfig, MarketoClient>;

/** A check should answer promptly. */
const CHECK_TIMEOUT_MS = 15_000;
/** Warned rows named in the log, at most (the count is always logged). */
const LOGGED_WARNINGS = 5;

/** A lead record: flat, one CSV column per field, named as Marketo's REST API names the field. */
const leadFields = z.looseObject({}).superRefine((record, ctx) => {
  const names = Object.keys(record);
  if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'a lead needs at least its lookup field (email by default)' });
  for (const name of names) {
    const value = record[name];
    if (value !== null && typeof value === 'object' && (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype)) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'a Marketo field holds text, a number, a boolean or a date, not a list or an object; map each field on its own' });
    }
  }
});

async function upload(file: BulkFile, ctx: Ctx): Promise<MarketoJob> {
  const { config, session: client } = ctx;
  if (file.format !== 'csv' || file.gzip) {
    throw new SluiceError('DESTINATION_FAILED', `Marketo imports plain CSV files; this file is ${file.gzip ? 'gzipped ' : ''}${file.format}`);
  }
  const columns = file.columns ?? (await readHeader(file.path));
  if (!columns.some((name) => name.toLowerCase() === config.lookup_field.toLowerCase())) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `the records carry no ${config.lookup_field} field, which Marketo finds leads by (lookup_field): map one (the file's columns are ${columns.join(', ') || 'none'})`,
    );
  }
  const batch = await client.importLeads(file.path, file.name, { lookupField: config.lookup_field, listId: config.list_id, partitionName: config.partition_name }, ctx.signal);
  ctx.logger.info({ batchId: batch.batchId, status: batch.status, file: file.name, rows: file.rows }, 'Marketo import job created');
  return { batchId: batch.batchId, lookupField: config.lookup_field };
}

async function poll(job: MarketoJob, ctx: Ctx): Promise<BulkPoll> {
  let batch;
  try {
    batch = await ctx.session.batchStatus(job.batchId, ctx.signal);
  } catch (error) {
    // Marketo keeps a batch id for seven days; a batch it does not know (1013) will never finish.
    if (error instanceof MarketoApiError && error.marketoCode === '1013') return { status: 'failed', reason: error.message };
    throw error;
  }
  switch (batch.status) {
    case 'Complete':
      return { status: 'succeeded' };
    case 'Failed':
      return { status: 'failed', reason: `Marketo failed import batch ${job.batchId}: ${batch.message?.trim() || 'no message given'}` };
    default:
      return { status: 'in_progress', message: `Marketo import batch ${job.batchId}: ${batch.status}` };
  }
}

async function results(job: MarketoJob, file: BulkFile, ctx: Ctx): Promise<readonly Outcome[]> {
  const { session: client } = ctx;
  const batch = await client.batchStatus(job.batchId, ctx.signal);
  if (batch.status === 'Failed') return allOutcomes(file.rows, rejected(`Marketo failed import batch ${job.batchId}: ${batch.message?.trim() || 'no message given'}`));
  if (batch.status !== 'Complete') {
    throw new SluiceError('DESTINATION_FAILED', `Marketo import batch ${job.batchId} is ${batch.status}, not Complete`, { retryClass: 'transient' });
  }
  const failed = batch.numOfRowsFailed ?? 0;
  const warned = batch.numOfRowsWithWarning ?? 0;
  const failures = failed > 0 ? parseReport(await client.batchRows(job.batchId, 'failures', ctx.signal), job.lookupField, FAILURE_COLUMN) : EMPTY_REPORT;
  const warnings = warned > 0 ? parseReport(await client.batchRows(job.batchId, 'warnings', ctx.signal), job.lookupField, WARNING_COLUMN) : EMPTY_REPORT;
  const matches = await matchReports(file.path, job.lookupField, failures, warnings, file.rows);
  if (warnings.rows.length > 0) {
    const sample = [...matches.warned].slice(0, LOGGED_WARNINGS).map(([index, reason]) => ({ row: index + 1, reason }));
    ctx.logger.warn({ batchId: job.batchId, file: file.name, warnings: warnings.rows.length, unmatched: matches.unmatchedWarnings, sample }, 'Marketo imported rows with warnings');
  }
  const outcomes = outcomesFor(file.rows, matches, batch, failures);
  ctx.logger.info(
    { batchId: job.batchId, file: file.name, rows: file.rows, processed: batch.numOfLeadsProcessed, failed, warned, message: batch.message },
    'Marketo import finished',
  );
  return outcomes;
}

async function check(config: MarketoBulkConfig, ctx: ConnectorContext): Promise<CheckResult> {
  const client = new MarketoClient({ ...config, timeout_ms: Math.min(config.timeout_ms, CHECK_TIMEOUT_MS) }, 1);
  try {
    const fields = await client.describeLeads(ctx.signal);
    const lookup = fields.find((field) => field.name.toLowerCase() === config.lookup_field.toLowerCase());
    if (fields.length > 0 && lookup === undefined) {
      return { ok: false, reason: `${client.host} has no lead field named ${config.lookup_field} (lookup_field): use a REST API field name such as email or id` };
    }
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: client.redact(`cannot use Marketo at ${client.host}: ${describeError(error)}`) };
  } finally {
    await client.close();
  }
}

const leads: BulkObject<MarketoBulkConfig, MarketoClient, MarketoJob> = {
  title: 'Leads',
  description:
    'Creates or updates leads (people) with a bulk import: each record is one lead, its fields named as Marketo\'s REST API names them (email, firstName, company, custom fields …), and must carry the lookup field.',
  fields: leadFields,
  syncModes: ['upsert', 'update', 'all'],
  file: (config) => ({ format: 'csv', gzip: false, maxBytes: config.max_file_bytes, maxRows: config.max_rows }),
  maxJobs: (config) => config.max_jobs,
  jobTimeoutMs: (config) => config.job_timeout_ms,
  upload,
  poll,
  results,
};

export default defineDestination<typeof marketoBulkSpec, MarketoClient>({
  id: 'marketo-bulk',
  title: 'Marketo (bulk import)',
  description:
    'Creates and updates Marketo leads with the Bulk Import API: records are written to CSV files, imported as jobs, and each row gets its outcome from the failures and warnings files.',
  spec: marketoBulkSpec,
  check,
  open: async (config) => new MarketoClient(config),
  close: (client) => client.close(),
  objects: { leads },
  limits: (config) => ({ requestsPerSecond: config.rate_limit }),
});
