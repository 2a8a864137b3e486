/**
 * The `ga4` destination: sends events to a GA4 web or app data stream with the Measurement Protocol
 * (`POST /mp/collect`). One object, `event`: a record is an event (event.ts says its shape and checks
 * GA4's documented rules before anything is sent); a write groups the events of each user into requests
 * of at most 25 events under 130 kB (requests.ts), sends each user's requests in order and different
 * users' at once, bounded by `concurrency`.
 *
 * GA4 answers 2xx to every request it receives, valid or not, and drops what it cannot use. So:
 * - the rules are checked here first, and a record breaking one is rejected naming the field;
 * - with `validate_before_send`, each request goes to `/debug/mp/collect` first, and the events GA4's
 *   validation finds fault with are rejected with its fieldPath and description (a message about the
 *   whole request rejects all its events); the rest are sent;
 * - `check` sends one sample event to the validation endpoint. A wrong api_secret cannot be detected at
 *   all: neither endpoint checks it (README.md).
 * Outcomes: 2xx delivered; 408, 429, 5xx and network failures retried (Retry-After honoured), and a
 * user's later requests wait with them so their order holds; 401/403 stop the run; 404 (not a Measurement
 * Protocol host: region or base_url) stops the run; other statuses reject the request's events.
 */
import { type OutgoingRecord, type WriteContext, defineDestination } from '../../../sdk/destination.ts';
import type { CheckResult, ConnectorContext } from '../../../sdk/context.ts';
import { SluiceError, classifyHttpStatus } from '../../../sdk/errors.ts';
import { excerpt, outcomeForHttpResponse, outcomeForNetworkError } from '../../../sdk/http.ts';
import { type Outcome, delivered, rejected, retry } from '../../../sdk/outcome.ts';
import { Ga4Client, type Ga4Reply } from './client.ts';
import { LIMITS, type PreparedEvent, eventFields, prepareEvent } from './event.ts';
import { type Ga4Request, planRequests, requestBody } from './requests.ts';
import { type Ga4Config, ga4Spec, streamKind } from './spec.ts';
import { parseValidationMessages, verdictOf } from './validation.ts';

/** A check should answer promptly even when the configured timeout is generous. */
const CHECK_TIMEOUT_MS = 15_000;

type Retry = Extract<Outcome, { status: 'retry' }>;

interface WriteState {
  readonly ctx: WriteContext<Ga4Config, Ga4Client>;
  readonly events: ReadonlyMap<number, PreparedEvent>;
  readonly outcomes: (Outcome | undefined)[];
  /** Set once a failure stops the run: requests not yet sent are not sent. */
  stopped: boolean;
}

async function writeEvents(records: readonly OutgoingRecord[], ctx: WriteContext<Ga4Config, Ga4Client>): Promise<readonly Outcome[]> {
  const stream = streamKind(ctx.config);
  const outcomes: (Outcome | undefined)[] = new Array<Outcome | undefined>(records.length).fill(undefined);
  const events = new Map<number, PreparedEvent>();
  const oldest = Date.now() - LIMITS.backdateMs;
  records.forEach((record, index) => {
    const prepared = prepareEvent(record.data, stream);
    if (!prepared.ok) outcomes[index] = rejected(prepared.reason);
    else if (prepared.event.timestampMs !== undefined && prepared.event.timestampMs < oldest) {
      outcomes[index] = rejected(`timestamp: the event happened more than 72 hours ago (${new Date(prepared.event.timestampMs).toISOString()}): GA4 takes events backdated up to 72 hours and drops older ones`);
    } else events.set(index, prepared.event);
  });
  const plan = planRequests(events, ctx.config.validation_behavior);
  for (const [index, reason] of plan.tooLarge) outcomes[index] = rejected(reason);

  const state: WriteState = { ctx, events, outcomes, stopped: false };
  const chains = await Promise.allSettled(plan.chains.map((chain) => sendChain(chain, state)));
  for (const chain of chains) if (chain.status === 'rejected') throw chain.reason;
  return outcomes.map((outcome) => outcome ?? retry('GA4 request not sent'));
}

/** One user's requests, in order. When one is to be retried, the later ones wait with it. */
async function sendChain(chain: readonly Ga4Request[], state: WriteState): Promise<void> {
  for (const [position, request] of chain.entries()) {
    let again: Retry | undefined;
    try {
      if (state.stopped) {
        const stopping = retry('not sent: the run is stopping');
        for (const index of request.indexes) state.outcomes[index] = stopping;
        continue;
      }
      again = await sendRequest(request, state);
    } catch (error) {
      state.stopped = true;
      throw error;
    }
    if (again === undefined) continue;
    const waiting = retry(`${again.reason} (held back behind an earlier request of the same user, to keep their events in order)`, again.notBefore);
    for (const later of chain.slice(position + 1)) for (const index of later.indexes) state.outcomes[index] = waiting;
    return;
  }
}

/** Validate (when asked) and send one request, setting its records' outcomes; a retry is returned too. */
async function sendRequest(request: Ga4Request, state: WriteState): Promise<Retry | undefined> {
  const { ctx, outcomes } = state;
  const client = ctx.session;
  let indexes = request.indexes;
  let body = request.body;
  const settle = (targets: readonly number[], outcome: Outcome): Retry | undefined => {
    for (const index of targets) outcomes[index] = outcome;
    return outcome.status === 'retry' ? outcome : undefined;
  };

  if (ctx.config.validate_before_send) {
    const reply = await call(client, () => client.validate(body, ctx.signal));
    if (reply.status !== 'answered') return settle(indexes, reply.outcome);
    const { status } = reply.reply;
    if (status < 200 || status >= 300) return settle(indexes, refusal(client, reply.reply, 'validation endpoint'));
    const messages = parseValidationMessages(reply.reply.body);
    if (messages === undefined) {
      return settle(indexes, retry(`GA4's validation endpoint answered HTTP ${status} with a body that is not a validation result: ${excerpt(reply.reply.body) || '(empty)'}`));
    }
    const verdict = verdictOf(messages, indexes.length);
    if (verdict.request !== undefined) return settle(indexes, rejected(verdict.request));
    for (const [position, reason] of verdict.events) outcomes[indexes[position] as number] = rejected(reason);
    indexes = indexes.filter((_, position) => !verdict.events.has(position));
    if (indexes.length === 0) return undefined;
    if (verdict.events.size > 0) body = rebuild(indexes, state);
  }

  const reply = await call(client, () => client.collect(body, ctx.signal));
  if (reply.status !== 'answered') return settle(indexes, reply.outcome);
  const { status } = reply.reply;
  if (status >= 200 && status < 300) return settle(indexes, delivered());
  return settle(indexes, refusal(client, reply.reply, 'Measurement Protocol'));
}

/** The body of a request that carries only some of its events. */
function rebuild(indexes: readonly number[], state: WriteState): string {
  const events = indexes.map((index) => state.events.get(index) as PreparedEvent);
  return requestBody((events[0] as PreparedEvent).requestMembers, events.map((event) => event.eventJson), state.ctx.config.validation_behavior);
}

type Called = { readonly status: 'answered'; readonly reply: Ga4Reply } | { readonly status: 'failed'; readonly outcome: Outcome };

/** A request, with failures before any answer made an outcome: transient — unless undici refuses to build it. */
async function call(client: Ga4Client, send: () => Promise<Ga4Reply>): Promise<Called> {
  try {
    return { status: 'answered', reply: await send() };
  } catch (error) {
    const reason = networkReason(client, error);
    if ((error as { code?: unknown } | null)?.code === 'UND_ERR_INVALID_ARG') {
      throw new SluiceError('DESTINATION_FAILED', `cannot build a request for ${client.host}: ${reason}`);
    }
    return { status: 'failed', outcome: retry(reason) };
  }
}

/** A non-2xx answer: the run stops on refused credentials or a host that is not GA4's; else the usual map. */
function refusal(client: Ga4Client, reply: Ga4Reply, what: string): Outcome {
  const detail = reply.body.trim() === '' ? '' : `: ${excerpt(reply.body)}`;
  if (classifyHttpStatus(reply.status) === 'auth') {
    throw new SluiceError('AUTH_REFUSED', `${client.host} refused the request (HTTP ${reply.status})${detail}. Check measurement_id or firebase_app_id and api_secret`);
  }
  if (reply.status === 404) {
    throw new SluiceError('DESTINATION_FAILED', `${client.host} has no GA4 ${what} endpoint (HTTP 404): check region and base_url`);
  }
  return outcomeForHttpResponse(reply.status, reply.retryAfter, reply.body);
}

function networkReason(client: Ga4Client, error: unknown): string {
  const outcome = outcomeForNetworkError(error);
  return client.redact(outcome.status === 'retry' ? outcome.reason : String(error));
}

/** One sample event through the validation endpoint: proves the host answers and takes the request shape. */
async function check(config: Ga4Config, ctx: ConnectorContext): Promise<CheckResult> {
  const client = new Ga4Client({ ...config, timeout_ms: Math.min(config.timeout_ms, CHECK_TIMEOUT_MS) }, 1);
  const identity = streamKind(config) === 'web' ? '"client_id":"1234567890.1234567890"' : '"app_instance_id":"0123456789abcdef0123456789abcdef"';
  const body = requestBody(identity, ['{"name":"sluice_check","params":{"engagement_time_msec":1}}'], config.validation_behavior);
  try {
    const reply = await client.validate(body, ctx.signal);
    if (classifyHttpStatus(reply.status) === 'auth') return { ok: false, reason: `${client.host} refused the request (HTTP ${reply.status})` };
    if (reply.status === 404) return { ok: false, reason: `${client.host} has no GA4 validation endpoint (HTTP 404): check region and base_url` };
    if (reply.status < 200 || reply.status >= 300) return { ok: false, reason: `${client.host} answered HTTP ${reply.status}${reply.body.trim() === '' ? '' : `: ${excerpt(reply.body)}`}` };
    const messages = parseValidationMessages(reply.body);
    if (messages === undefined) return { ok: false, reason: `${client.host} answered HTTP ${reply.status} with a body that is not a GA4 validation result: ${excerpt(reply.body) || '(empty)'}` };
    if (messages.length > 0) return { ok: false, reason: `GA4 refused a sample event: ${verdictOf(messages, 1).events.get(0) ?? verdictOf(messages, 1).request}` };
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `cannot reach ${client.host}: ${networkReason(client, error)}` };
  } finally {
    await client.close();
  }
}

export default defineDestination<typeof ga4Spec, Ga4Client>({
  id: 'ga4',
  title: 'Google Analytics 4',
  description:
    'Sends events to a GA4 web or app stream with the Measurement Protocol: events checked against GA4\'s rules before sending (optionally by its validation endpoint too), grouped per user into requests of up to 25.',
  spec: ga4Spec,
  check,
  open: async (config) => new Ga4Client(config),
  close: (client) => client.close(),
  objects: {
    event: {
      title: 'Events',
      description:
        'One event per record: `client_id` (web) or `app_instance_id` (app), `name`, `params` and any other field as event parameters, optional `user_id`, `timestamp_micros` or `timestamp`, `user_properties` and `consent`.',
      fields: eventFields,
      syncModes: ['append', 'insert'],
      batch: (config) => ({ maxRecords: config.batch_size, maxBytes: config.batch_bytes, maxWaitMs: config.max_wait_ms }),
      write: writeEvents,
    },
  },
  limits: (config) => ({ concurrency: config.concurrency }),
});
