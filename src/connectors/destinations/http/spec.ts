/**
 * The http destination's config. Every field's description is user-facing: it becomes the UI form help and
 * the reference docs. Unknown keys are rejected; header values are secret because they usually carry auth.
 */
import { z } from 'zod';
import { field } from '../../../sdk/spec.ts';
import { signingSecretProblem } from './signing.ts';

/** RFC 9110 token characters: what a header name may contain. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Headers Sluice sets itself (content-length, idempotency-key, the Standard Webhooks signature headers) or
 * that belong to the connection, not the request; letting a user set them would produce malformed or
 * duplicate requests.
 */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'idempotency-key',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);

const headerName = z
  .string()
  .regex(HEADER_NAME, 'a header name may contain only letters, digits and !#$%&\'*+.^_`|~-')
  .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), 'Sluice sets this header itself');

// The message must not echo the value: header values are secrets.
const headerValue = z.string().refine((value) => !/[\r\n\0]/.test(value), 'a header value must not contain line breaks');

// The messages name what is wrong, never the secret.
const signingSecret = z.string().superRefine((secret, ctx) => {
  const problem = signingSecretProblem(secret);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

export const httpSpec = z.strictObject({
  url: field(
    z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      // The pool connects to the URL's origin, which drops user:password — say so instead of losing them.
      .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), 'put credentials in `headers` (e.g. Authorization), not in the URL'),
    {
      description: 'The endpoint that receives each batch of records, as an http:// or https:// URL.',
      examples: ['https://api.example.com/v1/records'],
    },
  ),
  method: field(z.enum(['POST', 'PUT', 'PATCH']).default('POST'), {
    description: 'The HTTP method used to send each batch.',
  }),
  headers: field(z.record(headerName, headerValue).default({}), {
    description:
      'Extra request headers, such as Authorization. Values are kept secret: they are never shown, logged or put in error messages.',
    examples: [{ Authorization: 'Bearer ${API_TOKEN}' }],
    secret: true,
  }),
  format: field(z.enum(['json_array', 'ndjson', 'envelope']).default('json_array'), {
    description:
      'How a batch is laid out in the request body: `json_array` sends `[record, …]`; `ndjson` sends one JSON record per line (Content-Type application/x-ndjson); `envelope` sends `{"<envelope_key>": [record, …]}`.',
  }),
  envelope_key: field(z.string().min(1).default('batch'), {
    description: 'With format `envelope`, the name of the property that holds the array of records.',
    visibleWhen: { format: 'envelope' },
  }),
  signing_secret: field(z.union([signingSecret, z.array(signingSecret).min(1).max(5)]).optional(), {
    description:
      'Sign every request the Standard Webhooks way (standardwebhooks.com): a secret as `whsec_<base64>`, or any other text used as it is. Each request then carries `webhook-id` (the batch\'s idempotency key), `webhook-timestamp` and `webhook-signature` (`v1,<HMAC-SHA256>`). A list signs with each secret, current first, while a receiver moves to a new one. Never shown or logged.',
    examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    secret: true,
  }),
  op_field: field(z.string().min(1).optional(), {
    description:
      'With the sync modes insert, update, upsert and all: the name of a field added to each record sent, holding what it is to the endpoint — `create` (a key not sent before) or `update`. Absent: records are sent as mapped. Pick a name the records do not use.',
    examples: ['_op'],
  }),
  batch_size: field(z.int().min(1).max(100_000).default(500), {
    description: 'The most records sent in one request.',
  }),
  batch_bytes: field(z.int().min(1).default(1_000_000), {
    description: 'The most bytes of serialized records sent in one request.',
  }),
  max_wait_ms: field(z.int().min(0).default(1000), {
    description: 'How long a partly filled batch may wait for more records before it is sent anyway, in milliseconds.',
  }),
  rate_limit: field(z.number().min(0).optional(), {
    description: 'The most requests per second across the whole run; 0 or absent means no limit.',
  }),
  concurrency: field(z.int().min(1).max(256).default(4), {
    description: 'How many requests may be in flight at once; also the number of connections kept open.',
  }),
  timeout_ms: field(z.int().min(1).default(30_000), {
    description:
      'How long to wait for the response headers, and then for each part of the response body, in milliseconds. A request that times out is retried.',
  }),
});

export type HttpConfig = z.output<typeof httpSpec>;
