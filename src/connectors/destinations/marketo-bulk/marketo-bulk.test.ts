/**
 * The marketo-bulk destination against the local mock of Marketo's identity and Bulk Lead Import APIs
 * (mock-marketo.ts), calling upload → poll → results as the engine would: all rows imported, rows failing
 * and warning, a job Marketo fails, a token expiring mid-job, the import queue full (1016), the rate limit
 * (606), a file too large (413), refused credentials (without the secret in any message), check() and the
 * spec. No mocked fetch anywhere.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'csv-stringify/sync';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../sdk/context.ts';
import { defaultContext } from '../../../sdk/context.ts';
import { type BulkFile, type BulkObject, type BulkPoll, resolvePerConfig } from '../../../sdk/destination.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import type { Outcome } from '../../../sdk/outcome.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import type { MarketoClient } from './client.ts';
import marketo, { type MarketoJob } from './index.ts';
import { type MockMarketo, type MockMarketoOptions, startMockMarketo } from './mock-marketo.ts';
import { type MarketoBulkConfig, marketoBaseUrl } from './spec.ts';

const SECRET = 'marketo-test-secret-8c1f2e7a-55d0';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function mock(options: MockMarketoOptions = {}): Promise<MockMarketo> {
  const server = await startMockMarketo({ clientSecret: SECRET, queuedMs: 5, importMs: 10, lists: [77], ...options });
  closers.push(() => server.close());
  return server;
}

/** A parsed config for a server: the mock, or a loopback server of a test's own (which takes any client id). */
function config(server: { readonly url: string; readonly credentials?: { readonly client_id: string } }, input: Record<string, unknown> = {}): MarketoBulkConfig {
  const parsed = parseConfig(marketo.spec, { base_url: server.url, client_id: server.credentials?.client_id ?? 'any-client', client_secret: SECRET, ...input });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

const leads = marketo.objects.leads as BulkObject<MarketoBulkConfig, MarketoClient, MarketoJob>;

interface Logged {
  readonly level: string;
  readonly obj: object;
  readonly msg: string | undefined;
}

/** A session and the calls the engine makes on it, with every log line kept. */
async function session(cfg: MarketoBulkConfig) {
  const logged: Logged[] = [];
  const logger: Logger = {
    debug: (obj, msg) => logged.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => logged.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => logged.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => logged.push({ level: 'error', obj, msg }),
  };
  const base = defaultContext({ logger });
  const client = await marketo.open!(cfg, base);
  closers.push(() => marketo.close!(client, base, { complete: true }));
  const ctx = { ...base, config: cfg, session: client, object: 'leads', syncMode: 'upsert' as const, idempotencyKey: 'run-1:file-0', attempt: 1, stream: { name: 'people', jsonSchema: { type: 'object' } } };
  return {
    logged,
    client,
    upload: (file: BulkFile) => leads.upload(file, ctx),
    poll: (job: MarketoJob) => leads.poll!(job, ctx),
    results: (job: MarketoJob, file: BulkFile) => leads.results!(job, file, ctx),
    /** Poll until the job is no longer in progress. */
    async settle(job: MarketoJob): Promise<BulkPoll> {
      for (let i = 0; i < 200; i++) {
        const polled = await leads.poll!(job, ctx);
        if (polled.status !== 'in_progress') return polled;
        await sleep(5);
      }
      throw new Error('the job never finished');
    },
  };
}

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A CSV file as the engine writes one: header, then one row per record. */
async function csvFile(rows: readonly Record<string, string | number | boolean>[], index = 0): Promise<BulkFile> {
  dir ??= await mkdtemp(join(tmpdir(), 'marketo-bulk-'));
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const path = join(dir, `leads-${index}.csv`);
  await writeFile(path, stringify(rows.map((row) => columns.map((name) => row[name] ?? '')), { header: true, columns }));
  return { path, name: `run-1-${index}.csv`, index, format: 'csv', gzip: false, rows: rows.length, bytes: (await stat(path)).size, columns };
}

function statuses(outcomes: readonly Outcome[]): string[] {
  return outcomes.map((outcome) => (outcome.status === 'delivered' ? 'delivered' : `${outcome.status}: ${outcome.reason}`));
}

async function thrown(promise: Promise<unknown>): Promise<SluiceError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SluiceError);
  return error as SluiceError;
}

describe('upload → poll → results', () => {
  it('imports every row, adds the leads to the list, and delivers each row', async () => {
    const server = await mock({ queuedMs: 40 });
    const s = await session(config(server, { list_id: 77 }));
    const file = await csvFile([
      { email: 'ada@example.com', firstName: 'Ada', leadScore: 10 },
      { email: 'bob@example.com', firstName: 'Bob', leadScore: 20 },
      { email: 'cy@example.com', firstName: 'Cy', leadScore: 30 },
    ]);
    const job = await s.upload(file);
    expect(job).toEqual({ batchId: expect.any(Number), lookupField: 'email' });
    expect(JSON.parse(JSON.stringify(job))).toEqual(job);
    expect(await s.poll(job)).toMatchObject({ status: 'in_progress' });
    expect(await s.settle(job)).toEqual({ status: 'succeeded' });
    expect(statuses(await s.results(job, file))).toEqual(['delivered', 'delivered', 'delivered']);
    expect(server.leads().map((lead) => lead.fields)).toEqual([
      { email: 'ada@example.com', firstName: 'Ada', leadScore: '10' },
      { email: 'bob@example.com', firstName: 'Bob', leadScore: '20' },
      { email: 'cy@example.com', firstName: 'Cy', leadScore: '30' },
    ]);
    expect(server.listMembers(77)).toHaveLength(3);
    // Nothing was failed or warned, so neither file was fetched.
    expect(server.calls.filter((call) => /failures|warnings/.test(call.path))).toEqual([]);
    const upload = server.calls.find((call) => call.path === '/bulk/v1/leads.json');
    expect(upload).toMatchObject({ method: 'POST', status: 200, code: undefined });
  });

  it('rejects the rows Marketo failed with its reason, and delivers rows with warnings (logging them)', async () => {
    const server = await mock();
    const s = await session(config(server));
    const file = await csvFile([
      { email: 'ok@example.com', firstName: 'Ok', leadScore: 1 },
      { email: 'score@example.com', firstName: 'Bad score', leadScore: 'lots' },
      { email: 'not-an-email', firstName: 'Warned', leadScore: 3 },
      { email: '', firstName: 'No email', leadScore: 4 },
      { email: 'also-ok@example.com', firstName: 'Also ok', leadScore: 5 },
    ]);
    const job = await s.upload(file);
    expect(await s.settle(job)).toEqual({ status: 'succeeded' });
    expect(server.job(job.batchId)).toMatchObject({ numOfLeadsProcessed: 3, numOfRowsFailed: 2, numOfRowsWithWarning: 1 });
    expect(statuses(await s.results(job, file))).toEqual([
      'delivered',
      'rejected: Marketo did not import this row: Invalid data type in field Lead Score',
      'delivered',
      "rejected: Marketo did not import this row: Value for lookup field 'email' not found",
      'delivered',
    ]);
    const warning = s.logged.find((line) => line.level === 'warn');
    expect(warning?.msg).toBe('Marketo imported rows with warnings');
    expect(warning?.obj).toMatchObject({ batchId: job.batchId, warnings: 1, sample: [{ row: 3, reason: 'Invalid email address' }] });
    expect(server.lead('email', 'score@example.com')).toBeUndefined();
    expect(server.lead('email', 'not-an-email')?.fields.firstName).toBe('Warned');
  });

  it('tells apart rows that share a lookup value by their other columns', async () => {
    const server = await mock();
    const s = await session(config(server));
    const file = await csvFile([
      { email: 'twin@example.com', firstName: 'First', leadScore: 1 },
      { email: 'twin@example.com', firstName: 'Second', leadScore: 'two' },
      { email: 'twin@example.com', firstName: 'Third', leadScore: 3 },
    ]);
    const job = await s.upload(file);
    await s.settle(job);
    expect(statuses(await s.results(job, file))).toEqual(['delivered', 'rejected: Marketo did not import this row: Invalid data type in field Lead Score', 'delivered']);
  });

  it('reports a job Marketo fails whole as a failed poll with its message', async () => {
    const server = await mock();
    const s = await session(config(server));
    const file = await csvFile([{ email: 'a@example.com', favouriteColour: 'teal' }]);
    const job = await s.upload(file);
    expect(await s.settle(job)).toEqual({ status: 'failed', reason: `Marketo failed import batch ${job.batchId}: Field 'favouriteColour' not found` });
    expect(server.leads()).toEqual([]);
  });

  it('renews an access token that expires mid-job and carries on', async () => {
    const server = await mock();
    const s = await session(config(server));
    const file = await csvFile([{ email: 'a@example.com', leadScore: 'x' }, { email: 'b@example.com' }]);
    const job = await s.upload(file);
    server.expireToken();
    expect(await s.settle(job)).toEqual({ status: 'succeeded' });
    server.expireToken();
    expect(statuses(await s.results(job, file))).toEqual(['rejected: Marketo did not import this row: Invalid data type in field Lead Score', 'delivered']);
    expect(server.stats.tokens).toBe(3);
    expect(server.calls.filter((call) => call.code === '602').length).toBe(2);
  });

  it('uses the id lookup to update existing leads only', async () => {
    const server = await mock();
    const s = await session(config(server));
    const seed = await csvFile([{ email: 'known@example.com', firstName: 'Old' }]);
    await s.settle(await s.upload(seed));
    const id = server.lead('email', 'known@example.com')!.id;
    const byId = await session(config(server, { lookup_field: 'id' }));
    const file = await csvFile([{ id, firstName: 'New' }, { id: 999_999, firstName: 'Nobody' }], 1);
    const job = await byId.upload(file);
    await byId.settle(job);
    expect(statuses(await byId.results(job, file))).toEqual(['delivered', 'rejected: Marketo did not import this row: Lead not found']);
    expect(server.lead('email', 'known@example.com')?.fields.firstName).toBe('New');
  });
});

describe('errors', () => {
  it('turns a full import queue (1016) into a transient error, and imports again once it drains', async () => {
    const server = await mock();
    server.pauseImports();
    const s = await session(config(server));
    for (let index = 0; index < 10; index++) await s.upload(await csvFile([{ email: `q${index}@example.com` }], index));
    const file = await csvFile([{ email: 'eleventh@example.com' }], 10);
    const error = await thrown(s.upload(file));
    expect(error.retryClass).toBe('transient');
    expect(error.message).toContain('1016 Too many imports');
    expect(error.notBefore).toBeGreaterThan(Date.now());
    server.resumeImports();
    await sleep(100);
    const job = await s.upload(file);
    expect(await s.settle(job)).toEqual({ status: 'succeeded' });
  });

  it('turns the rate limit (606) into a transient error that waits out the 20-second window', async () => {
    const server = await mock({ rateLimit: { calls: 2, windowMs: 20_000 } });
    const s = await session(config(server));
    const job = await s.upload(await csvFile([{ email: 'a@example.com' }]));
    await s.poll(job);
    const error = await thrown(s.poll(job));
    expect(error.retryClass).toBe('transient');
    expect(error.message).toContain("606 Max rate limit '2' exceeded with in '20' secs");
    expect(error.notBefore).toBeGreaterThanOrEqual(Date.now() + 15_000);
  });

  it('paces its own calls to rate_limit over a 20-second window, as Marketo counts them', async () => {
    const server = await mock();
    const s = await session(config(server, { rate_limit: 0.1 }));
    const job = await s.upload(await csvFile([{ email: 'a@example.com' }]));
    await s.client.batchStatus(job.batchId);
    const started = Date.now();
    await expect(s.client.batchStatus(job.batchId, AbortSignal.timeout(150))).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    // Two calls fit a window of 0.1 calls/s × 20 s; the third waited (and was given up on) without reaching Marketo.
    expect(server.calls.filter((call) => call.path.startsWith('/bulk/'))).toHaveLength(2);
  });

  it('turns the concurrent call limit (615) into a transient error', async () => {
    const server = await mock({ maxConcurrent: 1, delayMs: 50 });
    const s = await session(config(server, { max_jobs: 3 }));
    const job = await s.upload(await csvFile([{ email: 'a@example.com' }]));
    const polls = await Promise.allSettled([s.poll(job), s.poll(job), s.poll(job)]);
    const refused = polls.flatMap((poll) => (poll.status === 'rejected' ? [poll.reason as SluiceError] : []));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]?.retryClass).toBe('transient');
    expect(refused[0]?.message).toContain('615 Concurrent access limit reached');
  });

  it('refuses a file over the size limit (413) as unacceptable rows', async () => {
    const server = await mock({ maxBodyBytes: 2048 });
    const s = await session(config(server));
    const rows = Array.from({ length: 100 }, (_, index) => ({ email: `person-${index}@example.com`, company: 'A company with a long name' }));
    const error = await thrown(s.upload(await csvFile(rows)));
    expect(error.retryClass).toBe('record');
    expect(error.message).toContain('HTTP 413');
  });

  it('stops the run when the records carry no lookup field', async () => {
    const server = await mock();
    const s = await session(config(server));
    const error = await thrown(s.upload(await csvFile([{ firstName: 'Nameless' }])));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('no email field');
    expect(server.calls.filter((call) => call.path === '/bulk/v1/leads.json')).toEqual([]);
  });

  it('stops the run for an unknown list (1013) and a lookup field Marketo cannot use (1011)', async () => {
    const server = await mock();
    const list = await thrown((await session(config(server, { list_id: 12 }))).upload(await csvFile([{ email: 'a@example.com' }])));
    expect(list.retryClass).toBe('config');
    expect(list.message).toMatch(/1013 Object not found.*list_id/);
    const lookup = await thrown((await session(config(server, { lookup_field: 'firstName' }))).upload(await csvFile([{ firstName: 'A' }], 1)));
    expect(lookup.retryClass).toBe('config');
    expect(lookup.message).toContain("1011 Field 'firstName' not supported");
  });

  it('refuses wrong credentials with AUTH_REFUSED and never reveals the secret', async () => {
    const server = await mock();
    const wrong = 'wrong-secret-0d9a3b71c4e2';
    const s = await session(config(server, { client_secret: wrong }));
    const error = await thrown(s.upload(await csvFile([{ email: 'a@example.com' }])));
    expect(error.code).toBe('AUTH_REFUSED');
    expect(error.message).toContain('refused the client id and secret (HTTP 401');
    expect(error.message).not.toContain(wrong);
    expect(String(error.stack)).not.toContain(wrong);
    const checked = await marketo.check(config(server, { client_secret: wrong }), defaultContext());
    expect(checked.ok).toBe(false);
    expect(checked.ok ? '' : checked.reason).not.toContain(wrong);
  });

  it('fails a poll for a batch Marketo does not know', async () => {
    const server = await mock();
    const s = await session(config(server));
    const polled = await s.poll({ batchId: 424242, lookupField: 'email' });
    expect(polled.status).toBe('failed');
    expect(polled.status === 'failed' ? polled.reason : '').toContain('1013 Object not found');
  });

  it('never logs or throws the access token', async () => {
    const server = await mock();
    const s = await session(config(server));
    const file = await csvFile([{ email: 'a@example.com', leadScore: 'x' }]);
    const job = await s.upload(file);
    await s.settle(job);
    await s.results(job, file);
    const token = await s.client.accessToken();
    expect(JSON.stringify(s.logged)).not.toContain(token);
    expect(JSON.stringify(s.logged)).not.toContain(SECRET);
    expect(s.client.redact(`echo ${token} and ${SECRET}`)).toBe('echo *** and ***');
  });
});

/** A loopback server that issues tokens and answers every other call with `handler`: for answers the mock never gives. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; calls: string[] }> {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      calls.push(new URL(req.url ?? '/', 'http://x').pathname);
      if (req.url?.startsWith('/identity/')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `token-${calls.length}`, token_type: 'bearer', expires_in: 3600 }));
      } else handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}

describe('answers the mock does not give', () => {
  const job: MarketoJob = { batchId: 7, lookupField: 'email' };
  const envelope = (body: object) => JSON.stringify({ requestId: 'r#1', ...body });

  it('retries a failures file that comes back as an HTTP error, rather than reading the error page as rows', async () => {
    const { url } = await serve((req, res) => {
      if (req.url?.endsWith('/failures.json')) res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>Service Unavailable</h1>');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(envelope({ success: true, result: [{ batchId: 7, status: 'Complete', numOfLeadsProcessed: 0, numOfRowsFailed: 1, numOfRowsWithWarning: 0 }] }));
    });
    const s = await session(config({ url }));
    const error = await thrown(s.results(job, await csvFile([{ email: 'a@example.com' }])));
    expect(error.code).toBe('HTTP_TRANSIENT');
    expect(error.message).toContain('HTTP 503');
  });

  it('renews a refused token twice at most, then stops with AUTH_REFUSED', async () => {
    const { url, calls } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(envelope({ success: false, errors: [{ code: '601', message: 'Access token invalid' }] }));
    });
    const s = await session(config({ url }));
    const error = await thrown(s.poll(job));
    expect(error.code).toBe('AUTH_REFUSED');
    expect(error.message).toContain('601 Access token invalid');
    expect(calls.filter((path) => path === '/identity/oauth/token')).toHaveLength(3);
    expect(error.message).not.toMatch(/token-\d/);
  });
});

describe('check', () => {
  it('passes with working credentials and a known lookup field', async () => {
    const server = await mock();
    expect(await marketo.check(config(server), defaultContext())).toEqual({ ok: true });
  });

  it('fails on a lookup field the instance does not have, and on an unreachable host', async () => {
    const server = await mock();
    const unknown = await marketo.check(config(server, { lookup_field: 'shoeSize' }), defaultContext());
    expect(unknown).toEqual({ ok: false, reason: expect.stringContaining('no lead field named shoeSize') });
    const unreachable = await marketo.check(config(server, { base_url: 'http://127.0.0.1:1' }), defaultContext());
    expect(unreachable).toEqual({ ok: false, reason: expect.stringContaining('cannot use Marketo at 127.0.0.1:1') });
  });
});

describe('spec', () => {
  it('takes a Munchkin id or a base URL, not both and not neither', () => {
    const base = { client_id: 'id', client_secret: 'secret' };
    expect(parseConfig(marketo.spec, { ...base, munchkin_id: '123-ABC-456' }).ok).toBe(true);
    expect(parseConfig(marketo.spec, { ...base, base_url: 'https://123-abc-456.mktorest.com/rest' }).ok).toBe(true);
    expect(parseConfig(marketo.spec, base).ok).toBe(false);
    expect(parseConfig(marketo.spec, { ...base, munchkin_id: '123-ABC-456', base_url: 'https://x.example.com' }).ok).toBe(false);
    expect(parseConfig(marketo.spec, { ...base, munchkin_id: 'nope' }).ok).toBe(false);
    expect(marketoBaseUrl({ munchkin_id: '123-ABC-456' })).toBe('https://123-ABC-456.mktorest.com');
    expect(marketoBaseUrl({ base_url: 'https://123-abc-456.mktorest.com/rest/' })).toBe('https://123-abc-456.mktorest.com');
  });

  it('keeps files under Marketo\'s 10 MB and jobs within its queue of 10', () => {
    const parsed = parseConfig(marketo.spec, { munchkin_id: '123-ABC-456', client_id: 'id', client_secret: 'secret' });
    if (!parsed.ok) throw new Error('refused');
    expect(resolvePerConfig(leads.file, parsed.value)).toEqual({ format: 'csv', gzip: false, maxBytes: 9_500_000, maxRows: 100_000 });
    expect(resolvePerConfig(leads.maxJobs, parsed.value)).toBe(2);
    expect(parseConfig(marketo.spec, { munchkin_id: '123-ABC-456', client_id: 'id', client_secret: 'secret', max_jobs: 11 }).ok).toBe(false);
    expect(parseConfig(marketo.spec, { munchkin_id: '123-ABC-456', client_id: 'id', client_secret: 'secret', max_file_bytes: 10_000_000 }).ok).toBe(false);
  });

  it('asks for flat records', () => {
    expect(leads.fields?.safeParse({ email: 'a@example.com', score: 3, vip: true, note: null }).success).toBe(true);
    expect(leads.fields?.safeParse({}).success).toBe(false);
    expect(leads.fields?.safeParse({ email: 'a@example.com', tags: ['x'] }).success).toBe(false);
    expect(leads.fields?.safeParse({ email: 'a@example.com', address: { city: 'Oslo' } }).success).toBe(false);
  });
});
