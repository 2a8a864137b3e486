/**
 * The `pendo` destination: sets visitor or account metadata with Pendo's bulk metadata API
 * (`POST /api/v1/metadata/{visitor|account}/{agent|custom}/value`). Setting a value is an upsert of that
 * value, so the objects take the sync modes upsert, update and all.
 *
 * Outcomes are per record, from Pendo's result counts (results.ts): ids Pendo lists as missing and records
 * an error names are rejected, the rest delivered. A call Pendo refuses whole maps like every HTTP
 * destination: 408 (Pendo's five-minute limit), 429 and 5xx retry, honouring Retry-After; 401/403 stop the
 * run; 404 means the host is not Pendo's API (region or base_url), which stops the run too; any other 4xx
 * rejects the batch, quoting Pendo's answer.
 */
import { type OutgoingRecord, type StreamingObject, type WriteContext, defineDestination } from '../../../sdk/destination.ts';
import type { CheckResult, ConnectorContext } from '../../../sdk/context.ts';
import { SluiceError, classifyHttpStatus } from '../../../sdk/errors.ts';
import { excerpt, outcomeForHttpResponse, outcomeForNetworkError } from '../../../sdk/http.ts';
import { type Outcome, allOutcomes, rejected, retry } from '../../../sdk/outcome.ts';
import { PendoClient, type PendoKind, type PendoReply } from './client.ts';
import { ID_FIELDS, buildElements, recordFields } from './elements.ts';
import { outcomesForResult, parseResult } from './results.ts';
import { type PendoConfig, pendoSpec } from './spec.ts';

/** A check should answer promptly even though a bulk call may legitimately take minutes. */
const CHECK_TIMEOUT_MS = 15_000;

async function writeMetadata(kind: PendoKind, records: readonly OutgoingRecord[], ctx: WriteContext<PendoConfig, PendoClient>): Promise<readonly Outcome[]> {
  const { config, session: client } = ctx;
  const elements = buildElements(records, kind);
  const unsent = rejected(`${ID_FIELDS[kind]} is missing: it must be a non-empty string or an integer`);
  if (elements.sent === 0) return allOutcomes(records.length, unsent);
  let reply: PendoReply;
  try {
    reply = await client.setValues(kind, config.group, config.create_missing, elements.body, ctx.signal);
  } catch (error) {
    return spread(elements.ids, networkOutcome(client, error), unsent);
  }
  const { status } = reply;
  if (classifyHttpStatus(status) === 'auth') throw authRefused(client, reply);
  if (status === 404) {
    throw new SluiceError('DESTINATION_FAILED', `${client.host} has no Pendo metadata API for ${kind}/${config.group} (HTTP 404): check region and base_url`);
  }
  if (status < 200 || status >= 300) return spread(elements.ids, httpOutcome(reply), unsent);
  const result = parseResult(reply.body);
  if (result === undefined) {
    // The update may well have happened; sending the same values again is harmless, losing them is not.
    return spread(elements.ids, retry(`Pendo answered HTTP ${status} with a body that is not a bulk-update result: ${excerpt(reply.body) || '(empty)'}`), unsent);
  }
  return outcomesForResult(elements.ids, kind, result).map((outcome) => outcome ?? unsent);
}

/** The same outcome for every record that was sent; `unsent` for those that were not. */
function spread(ids: readonly (string | undefined)[], outcome: Outcome, unsent: Outcome): Outcome[] {
  return ids.map((id) => (id === undefined ? unsent : outcome));
}

function httpOutcome(reply: PendoReply): Outcome {
  const outcome = outcomeForHttpResponse(reply.status, reply.retryAfter, reply.body);
  if (reply.status !== 408 || outcome.status !== 'retry') return outcome;
  // Pendo ends calls that run past five minutes; say what helps when it keeps happening.
  return retry(`${outcome.reason} (Pendo ended a call that took too long; a smaller batch_size makes calls shorter)`, outcome.notBefore);
}

/** A failure before any response is transient — except a request undici refuses to build, which never will work. */
function networkOutcome(client: PendoClient, error: unknown): Outcome {
  const reason = networkReason(client, error);
  if ((error as { code?: unknown } | null)?.code === 'UND_ERR_INVALID_ARG') {
    throw new SluiceError('DESTINATION_FAILED', `cannot build a request for ${client.host}: ${reason}`);
  }
  return retry(reason);
}

function networkReason(client: PendoClient, error: unknown): string {
  const outcome = outcomeForNetworkError(error);
  return client.redact(outcome.status === 'retry' ? outcome.reason : String(error));
}

function authRefused(client: PendoClient, reply: PendoReply): SluiceError {
  const detail = reply.body.trim() === '' ? '' : `: ${excerpt(reply.body)}`;
  return new SluiceError(
    'AUTH_REFUSED',
    `${client.host} refused the integration key (HTTP ${reply.status})${detail}. The key needs write access, and works only in its own region`,
  );
}

async function check(config: PendoConfig, ctx: ConnectorContext): Promise<CheckResult> {
  const client = new PendoClient({ ...config, timeout_ms: Math.min(config.timeout_ms, CHECK_TIMEOUT_MS) }, 1);
  try {
    const reply = await client.schema('visitor', ctx.signal);
    if (reply.status >= 200 && reply.status < 300) return { ok: true };
    if (classifyHttpStatus(reply.status) === 'auth') {
      return { ok: false, reason: `${client.host} refused the integration key (HTTP ${reply.status}): check the key, and that region (or base_url) is the one your subscription lives in` };
    }
    if (reply.status === 404) return { ok: false, reason: `${client.host} has no Pendo metadata API (HTTP 404): check region and base_url` };
    return { ok: false, reason: `${client.host} answered HTTP ${reply.status}${reply.body.trim() === '' ? '' : `: ${excerpt(reply.body)}`}` };
  } catch (error) {
    return { ok: false, reason: `cannot reach ${client.host}: ${networkReason(client, error)}` };
  } finally {
    await client.close();
  }
}

function metadataObject(kind: PendoKind, title: string): StreamingObject<PendoConfig, PendoClient> {
  return {
    title,
    description: `Sets metadata values on Pendo ${kind}s: each record is \`${ID_FIELDS[kind]}\` plus one field per value to set, named as in Pendo.`,
    fields: recordFields(kind),
    syncModes: ['upsert', 'update', 'all'],
    batch: (config) => ({ maxRecords: config.batch_size, maxBytes: config.batch_bytes, maxWaitMs: config.max_wait_ms }),
    write: (records, ctx) => writeMetadata(kind, records, ctx),
  };
}

export default defineDestination<typeof pendoSpec, PendoClient>({
  id: 'pendo',
  title: 'Pendo',
  description: "Sets visitor and account metadata (custom or agent fields) in Pendo with its bulk metadata API; ids Pendo does not know are rejected as no matching visitor/account.",
  spec: pendoSpec,
  check,
  open: async (config) => new PendoClient(config),
  close: (client) => client.close(),
  objects: {
    visitor: metadataObject('visitor', 'Visitors'),
    account: metadataObject('account', 'Accounts'),
  },
  limits: (config) => ({ requestsPerSecond: config.rate_limit, concurrency: config.concurrency }),
});
