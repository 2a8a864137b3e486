/**
 * The `http` destination: sends batches of records to one HTTP endpoint as a JSON array, NDJSON or a JSON
 * envelope. A batch succeeds or fails whole: 2xx delivers every record; 408, 429, 5xx and network failures
 * retry them (honouring Retry-After); other 4xx reject them with the status and the start of the response;
 * 401/403 stop the run, since no record can get through with refused credentials.
 *
 * Besides `append`, the object takes the diff sync modes that need no delete (insert, update, upsert, all):
 * the engine then hands it only new or changed records, and `op_field` can tell the endpoint which is which.
 *
 * With `signing_secret` every request is signed the Standard Webhooks way (signing.ts), so the endpoint can
 * be a webhook receiver that verifies where a batch came from.
 */
import { defineDestination } from '../../../sdk/destination.ts';
import type { OutgoingRecord, WriteContext } from '../../../sdk/destination.ts';
import type { CheckResult, ConnectorContext } from '../../../sdk/context.ts';
import { SluiceError, classifyHttpStatus } from '../../../sdk/errors.ts';
import { excerpt, outcomeForHttpResponse, outcomeForNetworkError } from '../../../sdk/http.ts';
import { allOutcomes, retry } from '../../../sdk/outcome.ts';
import type { Outcome } from '../../../sdk/outcome.ts';
import { buildBody } from './body.ts';
import { HttpClient } from './client.ts';
import type { HttpReply } from './client.ts';
import { httpSpec } from './spec.ts';
import type { HttpConfig } from './spec.ts';

/** A check should answer promptly even when the configured timeout is generous. */
const CHECK_TIMEOUT_MS = 10_000;

async function write(records: readonly OutgoingRecord[], ctx: WriteContext<HttpConfig, HttpClient>): Promise<readonly Outcome[]> {
  const { config, session } = ctx;
  const body = buildBody(records, config.format, config.envelope_key, config.op_field);
  let reply: HttpReply;
  try {
    reply = await session.send(body, ctx.idempotencyKey, ctx.signal);
  } catch (error) {
    return allOutcomes(records.length, networkOutcome(session, error));
  }
  if (classifyHttpStatus(reply.status) === 'auth') throw authRefused(session, reply);
  return allOutcomes(records.length, outcomeForHttpResponse(reply.status, reply.retryAfter, reply.body));
}

async function check(config: HttpConfig, ctx: ConnectorContext): Promise<CheckResult> {
  const client = new HttpClient({ ...config, timeout_ms: Math.min(config.timeout_ms, CHECK_TIMEOUT_MS) }, 1);
  try {
    const reply = await client.probe(ctx.signal);
    const kind = classifyHttpStatus(reply.status);
    if (kind === 'auth') return { ok: false, reason: `${client.host} refused the credentials (HTTP ${reply.status})` };
    if (reply.status >= 500) return { ok: false, reason: `${client.host} answered HTTP ${reply.status}` };
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `cannot reach ${client.host}: ${networkReason(client, error)}` };
  } finally {
    await client.close();
  }
}

/** A failure before any response is transient — except a request undici refuses to build, which never will work. */
function networkOutcome(client: HttpClient, error: unknown): Outcome {
  if (codeOf(error) === 'UND_ERR_INVALID_ARG') {
    throw new SluiceError('DESTINATION_FAILED', `cannot build a request for ${client.host}: ${networkReason(client, error)}`);
  }
  return retry(networkReason(client, error));
}

function networkReason(client: HttpClient, error: unknown): string {
  const outcome = outcomeForNetworkError(error);
  return client.redact(outcome.status === 'retry' ? outcome.reason : String(error));
}

function authRefused(client: HttpClient, reply: HttpReply): SluiceError {
  const detail = reply.body === '' ? '' : `: ${excerpt(reply.body)}`;
  return new SluiceError('AUTH_REFUSED', `${client.host} refused the credentials (HTTP ${reply.status})${detail}`);
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

export default defineDestination<typeof httpSpec, HttpClient>({
  id: 'http',
  title: 'HTTP endpoint',
  description: 'Sends records in batches to an HTTP endpoint as a JSON array, NDJSON or a JSON envelope, optionally signed as Standard Webhooks.',
  spec: httpSpec,
  check,
  open: async (config) => new HttpClient(config),
  close: (client) => client.close(),
  objects: {
    records: {
      title: 'Records',
      description: 'Every record, sent as it is mapped; batches are retried whole. The diff sync modes send only new or changed records.',
      syncModes: ['append', 'insert', 'update', 'upsert', 'all'],
      batch: (config) => ({ maxRecords: config.batch_size, maxBytes: config.batch_bytes, maxWaitMs: config.max_wait_ms }),
      write,
    },
  },
  limits: (config) => ({ requestsPerSecond: config.rate_limit ?? 0, concurrency: config.concurrency }),
});
