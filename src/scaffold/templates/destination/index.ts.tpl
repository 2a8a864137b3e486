/**
 * The `__id__` destination: sends records to the __Title__ API as JSON arrays. A batch succeeds or fails
 * whole: 2xx delivers it; 408, 429, 5xx and network failures retry it (honouring Retry-After); 401/403
 * stop the run, since no record gets through with a refused key; any other 4xx rejects its records with
 * the start of the answer. See README.md.
 */
import { SluiceError, allOutcomes, classifyHttpStatus, defineDestination, outcomeForHttpResponse, outcomeForNetworkError } from 'sluice/sdk';
import type { CheckResult, ConnectorContext, OutgoingRecord, Outcome, WriteContext } from 'sluice/sdk';
import { __Pascal__Client } from './client.ts';
import type { Reply } from './client.ts';
import { __camel__Spec } from './spec.ts';
import type { __Pascal__Config } from './spec.ts';

async function write(records: readonly OutgoingRecord[], ctx: WriteContext<__Pascal__Config, __Pascal__Client>): Promise<readonly Outcome[]> {
  // Each record arrives serialized once, exactly: join the strings, never re-stringify (long numbers stay exact).
  const body = `[${records.map((record) => record.json).join(',')}]`;
  let reply: Reply;
  try {
    reply = await ctx.session.send(body, ctx.idempotencyKey, ctx.signal);
  } catch (error) {
    return allOutcomes(records.length, outcomeForNetworkError(error));
  }
  if (classifyHttpStatus(reply.status) === 'auth') {
    throw new SluiceError('AUTH_REFUSED', `${ctx.session.host} refused the API key (HTTP ${reply.status})`);
  }
  return allOutcomes(records.length, outcomeForHttpResponse(reply.status, reply.retryAfter, reply.body));
}

/** A small real call: the endpoint answers, and does not refuse the key. */
async function check(config: __Pascal__Config, ctx: ConnectorContext): Promise<CheckResult> {
  const client = new __Pascal__Client(config);
  try {
    const reply = await client.probe(ctx.signal);
    if (classifyHttpStatus(reply.status) === 'auth') return { ok: false, reason: `${client.host} refused the API key (HTTP ${reply.status})` };
    if (reply.status >= 500) return { ok: false, reason: `${client.host} answered HTTP ${reply.status}` };
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `cannot reach ${client.host}: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    await client.close();
  }
}

export default defineDestination<typeof __camel__Spec, __Pascal__Client>({
  id: '__id__',
  title: '__Title__',
  description: 'Sends records to the __Title__ API in JSON batches.',
  spec: __camel__Spec,
  check,
  open: async (config) => new __Pascal__Client(config),
  close: (client) => client.close(),
  objects: {
    records: {
      title: 'Records',
      description: 'Every record, sent as it is mapped; batches are retried whole.',
      syncModes: ['append'],
      batch: (config) => ({ maxRecords: config.batch_size, maxBytes: 1_000_000, maxWaitMs: 500 }),
      write,
    },
  },
  limits: { concurrency: 4 },
});
