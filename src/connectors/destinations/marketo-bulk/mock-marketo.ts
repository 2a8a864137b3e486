/**
 * A local stand-in for Marketo's identity and Bulk Lead Import APIs — a real node:http server for tests and
 * benchmarks — that behaves as Marketo documents them:
 *
 * - `GET|POST /identity/oauth/token?grant_type=client_credentials&client_id=…&client_secret=…` answers
 *   `{ access_token, token_type: "bearer", expires_in, scope }`. A new token lives `tokenTtlSeconds` (Marketo:
 *   3600); asking again before it expires returns the same token with its remaining lifespan. Other calls
 *   need `Authorization: Bearer <token>`; an unknown token is answered 601 "Access token invalid", an
 *   expired one 602 "Access token expired" — both with HTTP 200 and `success: false`, like every Marketo
 *   error below. https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/authentication
 * - `POST /bulk/v1/leads.json`, multipart/form-data with `file` and `format` (csv, tsv or ssv; default csv),
 *   optional `lookupField` (default email), `listId`, `partitionName` (form fields or query parameters),
 *   creates a job: `{ requestId, success: true, result: [{ batchId, importId, status: "Queued" }] }`. Jobs
 *   wait in a FIFO queue: two import at a time, at most ten queued (importing ones included); the eleventh
 *   gets 1016 "Too many imports". A body over 10 MB gets HTTP 413. The header row names REST API fields.
 *   https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/bulk-import/bulk-lead-import
 *   https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/bulk-import/bulk-import
 * - `GET /bulk/v1/leads/batch/{batchId}.json`: `{ batchId, importId, status: Queued|Importing|Complete|Failed,
 *   numOfLeadsProcessed, numOfRowsFailed, numOfRowsWithWarning, message }`, with the docs' messages
 *   ("Import succeeded, 3 records imported (3 members)", "Import completed with errors, 2 records imported
 *   (2 members), 1 failed"). A job moves Queued → Importing after `queuedMs` and → Complete after `importMs`.
 * - `GET /bulk/v1/leads/batch/{batchId}/failures.json` and `…/warnings.json`: the failed (warned) rows as
 *   uploaded, in the upload's format, with a column "Import Failure Reason" ("Import Warning Reason")
 *   appended, served as `text/csv;charset=UTF-8`. Per row: a value that does not fit an integer, float,
 *   boolean or date field fails with "Invalid data type in field <Display Name>" and an invalid email address
 *   is a warning "Invalid email address" (both from Marketo's program member import example,
 *   https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/bulk-import/bulk-program-member-import);
 *   an empty lookup value fails with "Value for lookup field '<field>' not found" (as RudderStack's
 *   Marketo integration quotes it, github.com/rudderlabs/rudder-transformer).
 * - `GET /rest/v1/leads/describe.json`: the known fields as `{ id, displayName, dataType, length, rest:
 *   { name, readOnly } }` (https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/leads).
 * - Limits (https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/rest-api and
 *   …/rest/error-codes): more than `rateLimit.calls` calls in `rateLimit.windowMs` (100 per 20 s) get 606
 *   "Max rate limit '100' exceeded with in '20' secs"; more than 10 calls in flight get 615 "Concurrent access
 *   limit reached". Identity calls count towards neither, and neither do answers that are errors.
 *
 * Assumed, not published: that a header naming a field the instance does not have fails the whole job
 * (status Failed, message "Field '<name>' not found", the wording of Marketo's code 1006); the wording of
 * "Lead not found" for an unknown id with lookupField=id; 1003 "Empty File" for a file without rows (as
 * RudderStack observed); 1011 for a lookupField that cannot be deduplicated on; 1013 "Object not found" for
 * an unknown listId or batchId; 613 "Invalid Multipart Request" for a body that does not parse; the body of
 * a refused client secret (HTTP 401 `{ error: "invalid_client", error_description: "Bad client credentials" }`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { MockHttpServer } from '../../../testing/mock-http-server.ts';

/** Marketo's field data types that the mock checks values of; others take any text. */
export type MockFieldType = 'string' | 'email' | 'integer' | 'float' | 'boolean' | 'date' | 'datetime' | 'phone' | 'text';

export type MockJobStatus = 'Queued' | 'Importing' | 'Complete' | 'Failed';

export interface MockMarketoOptions {
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Lifespan of a new access token, in seconds; default 3600, as Marketo's. */
  readonly tokenTtlSeconds?: number;
  /** Lead fields by REST API name; default: a few standard ones (see DEFAULT_FIELDS). */
  readonly fields?: Readonly<Record<string, MockFieldType>>;
  /** Fields an import may look leads up by; default id, email, sfdcLeadId, sfdcContactId. */
  readonly lookupFields?: readonly string[];
  /** Static list ids that exist. */
  readonly lists?: Iterable<number>;
  /** How long a job stays Queued at least, and how long it imports, in ms. Defaults 20 and 30. */
  readonly queuedMs?: number;
  readonly importMs?: number;
  /** Jobs importing at once (Marketo: 2) and queued at most, importing ones included (Marketo: 10). */
  readonly maxImporting?: number;
  readonly maxQueued?: number;
  /** Largest request body, in bytes; larger ones get HTTP 413. Default 10 MB (10,485,760 bytes). */
  readonly maxBodyBytes?: number;
  /** Calls allowed per window (Marketo: 100 per 20 s); past it, 606. */
  readonly rateLimit?: { readonly calls: number; readonly windowMs: number };
  /** Calls in flight at once (Marketo: 10); past it, 615. */
  readonly maxConcurrent?: number;
  /** Hold every non-identity answer this long (to provoke 615). */
  readonly delayMs?: number;
}

export interface MockLead {
  readonly id: number;
  readonly fields: Record<string, string>;
  readonly partition: string;
}

export interface MockCall {
  readonly method: string;
  readonly path: string;
  /** HTTP status, and Marketo's error code when the answer was `success: false`. */
  readonly status: number;
  readonly code: string | undefined;
  readonly at: number;
}

interface Job {
  readonly batchId: number;
  status: MockJobStatus;
  readonly delimiter: string;
  readonly header: string[];
  readonly rows: string[][];
  readonly lookupField: string;
  readonly listId: number | undefined;
  readonly partition: string;
  readonly enqueuedAt: number;
  startedAt?: number;
  processed: number;
  readonly failures: string[][];
  readonly warnings: string[][];
  message: string;
}

export const DEFAULT_FIELDS: Readonly<Record<string, MockFieldType>> = {
  id: 'integer',
  email: 'email',
  firstName: 'string',
  lastName: 'string',
  company: 'string',
  title: 'string',
  phone: 'phone',
  leadScore: 'integer',
  annualRevenue: 'float',
  unsubscribed: 'boolean',
  dateOfBirth: 'date',
  sfdcLeadId: 'string',
  sfdcContactId: 'string',
};

const DEFAULT_CLIENT_ID = 'mock-marketo-client-id';
const DEFAULT_CLIENT_SECRET = 'mock-marketo-client-secret';
const DELIMITERS: Readonly<Record<string, string>> = { csv: ',', tsv: '\t', ssv: ';' };

export class MockMarketo extends MockHttpServer {
  readonly calls: MockCall[] = [];
  /** Counters: tokens issued, jobs created, rows imported, 606/615/1016 answers sent. */
  readonly stats = { tokens: 0, jobs: 0, rowsImported: 0, rateLimited: 0, concurrencyLimited: 0, tooManyImports: 0 };
  private readonly clientId: string;
  private readonly clientSecret: string;
  private readonly fields: ReadonlyMap<string, { name: string; type: MockFieldType }>;
  private readonly lookupFields: ReadonlySet<string>;
  private readonly lists: ReadonlySet<number>;
  private readonly members = new Map<number, Set<number>>();
  private readonly leadsById = new Map<number, MockLead>();
  private readonly jobs: Job[] = [];
  private readonly recent: number[] = [];
  private current: { value: string; expiresAt: number } | undefined;
  private readonly issued = new Set<string>();
  private inFlight = 0;
  private paused = false;
  /** When an import slot last came free, and when imports were last resumed: queued jobs start no earlier. */
  private freedAt = 0;
  private resumedAt = 0;
  private nextLeadId = 1;
  private nextBatchId = 1001;

  constructor(private readonly options: MockMarketoOptions = {}) {
    super();
    this.clientId = options.clientId ?? DEFAULT_CLIENT_ID;
    this.clientSecret = options.clientSecret ?? DEFAULT_CLIENT_SECRET;
    const fields = options.fields ?? DEFAULT_FIELDS;
    this.fields = new Map(Object.entries(fields).map(([name, type]) => [name.toLowerCase(), { name, type }]));
    this.lookupFields = new Set((options.lookupFields ?? ['id', 'email', 'sfdcLeadId', 'sfdcContactId']).map((name) => name.toLowerCase()));
    this.lists = new Set(options.lists ?? []);
  }

  get credentials(): { client_id: string; client_secret: string } {
    return { client_id: this.clientId, client_secret: this.clientSecret };
  }


  /** Make the current access token expire now (as if an hour had passed). */
  expireToken(): void {
    if (this.current !== undefined) this.current.expiresAt = Date.now() - 1;
  }

  /** Keep queued jobs queued (to fill the queue), and let them go again. */
  pauseImports(): void {
    this.paused = true;
  }

  resumeImports(): void {
    this.paused = false;
    this.resumedAt = Date.now();
  }

  /** Every lead, in id order. */
  leads(): MockLead[] {
    return [...this.leadsById.values()];
  }

  /** The lead whose `field` has `value` (emails case-insensitively), if any. */
  lead(field: string, value: string): MockLead | undefined {
    return this.find(field, value);
  }

  listMembers(listId: number): number[] {
    return [...(this.members.get(listId) ?? [])];
  }

  /** A job's status as the status endpoint reports it (after moving the queue on). */
  job(batchId: number): Record<string, unknown> | undefined {
    this.tick(Date.now());
    const job = this.jobs.find((candidate) => candidate.batchId === batchId);
    return job === undefined ? undefined : statusOf(job);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://mock');
    const method = req.method ?? 'GET';
    const body = await readBody(req, this.options.maxBodyBytes ?? 10 * 1024 * 1024);
    const reply = (status: number, code?: string) => this.calls.push({ method, path: url.pathname, status, code, at });

    if (url.pathname === '/identity/oauth/token' && (method === 'GET' || method === 'POST')) {
      const params = method === 'POST' && body.text !== '' ? new URLSearchParams(body.text) : url.searchParams;
      const get = (name: string) => url.searchParams.get(name) ?? params.get(name);
      if (get('grant_type') !== 'client_credentials' || get('client_id') !== this.clientId || get('client_secret') !== this.clientSecret) {
        reply(401);
        json(res, 401, { error: 'invalid_client', error_description: 'Bad client credentials' });
        return;
      }
      reply(200);
      json(res, 200, this.issueToken(at));
      return;
    }
    if (!url.pathname.startsWith('/rest/') && !url.pathname.startsWith('/bulk/')) {
      reply(404);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }

    this.inFlight++;
    try {
      if (this.options.delayMs !== undefined) await sleep(this.options.delayMs);
      const fail = (code: string, message: string) => {
        reply(200, code);
        json(res, 200, { requestId: requestId(), success: false, errors: [{ code, message }] });
      };
      const authError = this.checkToken(req, at);
      if (authError !== undefined) return fail(authError[0], authError[1]);
      if (this.inFlight > (this.options.maxConcurrent ?? 10)) {
        this.stats.concurrencyLimited++;
        return fail('615', 'Concurrent access limit reached');
      }
      const limit = this.options.rateLimit ?? { calls: 100, windowMs: 20_000 };
      while (this.recent.length > 0 && this.recent[0]! <= at - limit.windowMs) this.recent.shift();
      if (this.recent.length >= limit.calls) {
        this.stats.rateLimited++;
        return fail('606', `Max rate limit '${limit.calls}' exceeded with in '${Math.round(limit.windowMs / 1000)}' secs`);
      }
      this.tick(at);

      const ok = (result: unknown[]) => {
        this.recent.push(at);
        reply(200);
        json(res, 200, { requestId: requestId(), result, success: true });
      };
      if (method === 'GET' && url.pathname === '/rest/v1/leads/describe.json') return ok(this.describe());
      if (method === 'POST' && url.pathname === '/bulk/v1/leads.json') {
        if (body.tooLarge) {
          reply(413);
          res.writeHead(413, { 'content-type': 'text/html', connection: 'close' }).end('<html><body><h1>413 Request Entity Too Large</h1></body></html>');
          return;
        }
        const created = await this.createJob(req, url, body.buffer, at);
        if ('code' in created) return fail(created.code, created.message);
        return ok([{ batchId: created.batchId, importId: String(created.batchId), status: created.status }]);
      }
      const batch = /^\/bulk\/v1\/leads\/batch\/(\d+)(?:\/(failures|warnings))?\.json$/.exec(url.pathname);
      if (method === 'GET' && batch !== null) {
        const job = this.jobs.find((candidate) => candidate.batchId === Number(batch[1]));
        if (job === undefined) return fail('1013', 'Object not found');
        if (batch[2] === undefined) return ok([statusOf(job)]);
        this.recent.push(at);
        reply(200);
        const rows = batch[2] === 'failures' ? job.failures : job.warnings;
        const reason = batch[2] === 'failures' ? 'Import Failure Reason' : 'Import Warning Reason';
        res.writeHead(200, { 'content-type': 'text/csv;charset=UTF-8' }).end(stringify([[...job.header, reason], ...rows], { delimiter: job.delimiter }));
        return;
      }
      return fail('610', 'Requested resource not found');
    } finally {
      this.inFlight--;
    }
  }

  private issueToken(now: number) {
    const ttl = this.options.tokenTtlSeconds ?? 3600;
    if (this.current === undefined || this.current.expiresAt <= now) {
      this.current = { value: `${randomUUID()}:mk`, expiresAt: now + ttl * 1000 };
      this.issued.add(this.current.value);
      this.stats.tokens++;
    }
    return {
      access_token: this.current.value,
      token_type: 'bearer',
      expires_in: Math.max(0, Math.floor((this.current.expiresAt - now) / 1000)),
      scope: 'api-user@example.com',
    };
  }

  /** [code, message] when the call's token is missing, unknown or expired. */
  private checkToken(req: IncomingMessage, now: number): [string, string] | undefined {
    const match = /^Bearer\s+(\S+)$/i.exec(header(req, 'authorization') ?? '');
    const token = match?.[1];
    if (token === undefined || !this.issued.has(token)) return ['601', 'Access token invalid'];
    if (this.current?.value !== token || this.current.expiresAt <= now) return ['602', 'Access token expired'];
    return undefined;
  }

  private describe() {
    return [...this.fields.values()].map(({ name, type }, index) => ({
      id: index + 1,
      displayName: displayName(name),
      dataType: type,
      ...(type === 'string' || type === 'email' || type === 'phone' ? { length: 255 } : {}),
      rest: { name, readOnly: name === 'id' },
      soap: { name: name.charAt(0).toUpperCase() + name.slice(1), readOnly: name === 'id' },
    }));
  }

  private async createJob(req: IncomingMessage, url: URL, body: Buffer, now: number): Promise<Job | { code: string; message: string }> {
    let form: FormData;
    try {
      form = await new Response(body, { headers: { 'content-type': header(req, 'content-type') ?? '' } }).formData();
    } catch {
      return { code: '613', message: 'Invalid Multipart Request' };
    }
    const param = (name: string) => {
      const value = form.get(name) ?? url.searchParams.get(name);
      return typeof value === 'string' && value !== '' ? value : undefined;
    };
    const format = (param('format') ?? 'csv').toLowerCase();
    const delimiter = DELIMITERS[format];
    if (delimiter === undefined) return { code: '1003', message: `Invalid file format '${format}'` };
    const lookupField = param('lookupField') ?? 'email';
    if (!this.lookupFields.has(lookupField.toLowerCase())) return { code: '1011', message: `Field '${lookupField}' not supported` };
    const listId = param('listId') === undefined ? undefined : Number(param('listId'));
    if (listId !== undefined && !this.lists.has(listId)) return { code: '1013', message: 'Object not found' };
    const file = form.get('file');
    const text = file !== null && typeof file !== 'string' ? await file.text() : '';
    let records: string[][];
    try {
      records = parse(text, { delimiter, bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
    } catch (error) {
      return { code: '1003', message: `Invalid data: ${(error as Error).message}` };
    }
    const [headerRow, ...rows] = records;
    if (headerRow === undefined || rows.length === 0) return { code: '1003', message: 'Empty File' };
    const queued = this.jobs.filter((job) => job.status === 'Queued' || job.status === 'Importing').length;
    if (queued >= (this.options.maxQueued ?? 10)) {
      this.stats.tooManyImports++;
      return { code: '1016', message: 'Too many imports' };
    }
    const job: Job = {
      batchId: this.nextBatchId++,
      status: 'Queued',
      delimiter,
      header: headerRow,
      rows,
      lookupField,
      listId,
      partition: param('partitionName') ?? 'Default',
      enqueuedAt: now,
      processed: 0,
      failures: [],
      warnings: [],
      message: '',
    };
    this.jobs.push(job);
    this.stats.jobs++;
    return job;
  }

  /**
   * Move the queue on to `now`, as if time had passed with Marketo working: imports whose time is up
   * finish (at startedAt + importMs), and queued jobs start, oldest first, as soon as they have waited
   * `queuedMs` and one of the import slots is free.
   */
  private tick(now: number): void {
    const importMs = this.options.importMs ?? 30;
    const slots = this.options.maxImporting ?? 2;
    for (let progressed = true; progressed; ) {
      progressed = false;
      for (const job of this.jobs) {
        if (job.status === 'Importing' && (job.startedAt ?? now) + importMs <= now) {
          this.runImport(job);
          this.freedAt = Math.max(this.freedAt, (job.startedAt ?? now) + importMs);
          progressed = true;
        }
      }
      if (this.paused) return;
      let importing = this.jobs.filter((job) => job.status === 'Importing').length;
      for (const job of this.jobs) {
        if (importing >= slots) break;
        const readyAt = job.enqueuedAt + (this.options.queuedMs ?? 20);
        if (job.status !== 'Queued' || readyAt > now) continue;
        job.status = 'Importing';
        job.startedAt = Math.max(readyAt, this.freedAt, this.resumedAt);
        importing++;
        progressed = true;
      }
    }
  }

  private runImport(job: Job): void {
    const columns = job.header.map((name) => this.fields.get(name.trim().toLowerCase()));
    const unknown = job.header.find((_, index) => columns[index] === undefined);
    if (unknown !== undefined) {
      job.status = 'Failed';
      job.message = `Field '${unknown.trim()}' not found`;
      return;
    }
    const lookupAt = columns.findIndex((field) => field?.name.toLowerCase() === job.lookupField.toLowerCase());
    for (const row of job.rows) {
      const lookup = lookupAt < 0 ? '' : (row[lookupAt] ?? '').trim();
      let failure: string | undefined;
      let warning: string | undefined;
      if (lookup === '') failure = `Value for lookup field '${job.lookupField}' not found`;
      columns.forEach((field, index) => {
        const value = (row[index] ?? '').trim();
        if (failure !== undefined || field === undefined || value === '') return;
        if (!fits(field.type, value)) failure = `Invalid data type in field ${displayName(field.name)}`;
        else if (field.type === 'email' && !EMAIL.test(value)) warning ??= 'Invalid email address';
      });
      const existing = failure === undefined ? this.find(job.lookupField, lookup) : undefined;
      if (failure === undefined && existing === undefined && job.lookupField.toLowerCase() === 'id') failure = 'Lead not found';
      if (failure !== undefined) {
        job.failures.push([...row, failure]);
        continue;
      }
      if (warning !== undefined) job.warnings.push([...row, warning]);
      const lead = existing ?? { id: this.nextLeadId++, fields: {}, partition: job.partition };
      columns.forEach((field, index) => {
        const value = row[index] ?? '';
        if (field !== undefined && field.name !== 'id' && value !== '') lead.fields[field.name] = value;
      });
      this.leadsById.set(lead.id, lead);
      if (job.listId !== undefined) {
        const members = this.members.get(job.listId) ?? new Set<number>();
        members.add(lead.id);
        this.members.set(job.listId, members);
      }
      job.processed++;
      this.stats.rowsImported++;
    }
    job.status = 'Complete';
    const counts = `${job.processed} records imported (${job.processed} members)`;
    const warned = job.warnings.length === 0 ? '' : `, ${job.warnings.length} warning${job.warnings.length === 1 ? '' : 's'}.`;
    job.message = job.failures.length === 0 ? `Import succeeded, ${counts}${warned}` : `Import completed with errors, ${counts}, ${job.failures.length} failed${warned}`;
  }

  private find(field: string, value: string): MockLead | undefined {
    const name = this.fields.get(field.toLowerCase())?.name ?? field;
    if (name === 'id') return this.leadsById.get(Number(value));
    const wanted = value.trim().toLowerCase();
    for (const lead of this.leadsById.values()) if ((lead.fields[name] ?? '').trim().toLowerCase() === wanted) return lead;
    return undefined;
  }
}

/** Start a mock Marketo on a free loopback port. */
export function startMockMarketo(options: MockMarketoOptions = {}): Promise<MockMarketo> {
  return new MockMarketo(options).start();
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function statusOf(job: Job): Record<string, unknown> {
  const done = job.status === 'Complete';
  return {
    batchId: job.batchId,
    importId: String(job.batchId),
    status: job.status,
    numOfLeadsProcessed: done ? job.processed : 0,
    numOfRowsFailed: done ? job.failures.length : 0,
    numOfRowsWithWarning: done ? job.warnings.length : 0,
    message: job.message,
  };
}

function fits(type: MockFieldType, value: string): boolean {
  switch (type) {
    case 'integer':
      return /^[+-]?\d+$/.test(value);
    case 'float':
      return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value);
    case 'boolean':
      return /^(true|false|yes|no|1|0)$/i.test(value);
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value));
    case 'datetime':
      return !Number.isNaN(Date.parse(value));
    default:
      return true;
  }
}

/** `leadScore` → `Lead Score`: how Marketo's messages name a field. */
function displayName(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function requestId(): string {
  return `${randomBytes(2).toString('hex')}#${Date.now().toString(16)}`;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8' }).end(JSON.stringify(value));
}

/** The request body, read up to `maxBytes` (beyond it the rest is drained unread and `tooLarge` set). */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<{ buffer: Buffer; text: string; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    if (bytes <= maxBytes) chunks.push(buffer);
  }
  const buffer = Buffer.concat(chunks);
  return { buffer, text: buffer.toString('utf8'), tooLarge: bytes > maxBytes };
}
