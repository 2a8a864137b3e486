/**
 * The pendo destination's config. Every description is user-facing: it becomes the UI form help and the
 * reference docs. The object (`visitor` or `account`) is named by the activation, not here; the metadata
 * group (`custom` or `agent`) is a property of the destination, since it decides which fields exist.
 */
import { z } from 'zod';
import { field } from '../../../sdk/spec.ts';

/**
 * Pendo's hosts, one per data-centre region (a key from one region's subscription is refused by the
 * others). us1/jpn/au as listed by Pendo's status page and regional docs; see README.md for sources.
 */
export const REGION_HOSTS = {
  us: 'https://app.pendo.io',
  us1: 'https://us1.app.pendo.io',
  eu: 'https://app.eu.pendo.io',
  jpn: 'https://app.jpn.pendo.io',
  au: 'https://app.au.pendo.io',
} as const;

export type PendoRegion = keyof typeof REGION_HOSTS;

export const pendoSpec = z.strictObject({
  integration_key: field(z.string().min(1), {
    description:
      'A Pendo integration key with write access (Settings > Integrations > Integration Keys, "Allow write access"). Sent as the x-pendo-integration-key header; never shown or logged.',
    secret: true,
  }),
  region: field(z.enum(['us', 'us1', 'eu', 'jpn', 'au']).default('us'), {
    description:
      'The region your Pendo subscription lives in — the host you sign in to: us (app.pendo.io), us1 (us1.app.pendo.io), eu (app.eu.pendo.io), jpn (app.jpn.pendo.io) or au (app.au.pendo.io).',
  }),
  base_url: field(
    z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), 'put the key in `integration_key`, not in the URL')
      .optional(),
    {
      description: 'Another Pendo host to use instead of the region\'s, such as a proxy. `/api/v1/…` is appended to it.',
      examples: ['https://pendo-proxy.internal.example.com'],
    },
  ),
  group: field(z.enum(['custom', 'agent']).default('custom'), {
    description:
      'Which metadata group the values go to: `custom` fields are the ones an admin adds under Settings > Data Mappings; `agent` fields are the ones your Pendo install snippet sends.',
  }),
  create_missing: field(z.boolean().default(false), {
    description:
      'Create visitors or accounts that Pendo has not seen yet (Pendo\'s `?create=true`). Off: a record whose id Pendo does not know is rejected with "no matching visitor/account".',
  }),
  batch_size: field(z.int().min(1).max(10_000).default(500), {
    description:
      'The most records set in one call. Pendo takes any number but ends a call after five minutes with 408, so keep calls small.',
  }),
  batch_bytes: field(z.int().min(1024).max(50_000_000).default(2_000_000), {
    description: 'The most bytes of serialized records set in one call.',
  }),
  max_wait_ms: field(z.int().min(0).default(1000), {
    description: 'How long a partly filled batch may wait for more records before it is sent anyway, in milliseconds.',
  }),
  rate_limit: field(z.number().min(0.1).max(100).default(10), {
    description: 'The most calls per second across the whole run. Pendo answers 429 past its limits (reported as 100 calls per second per endpoint); a 429 is retried after its Retry-After.',
  }),
  concurrency: field(z.int().min(1).max(16).default(4), {
    description: 'How many calls may be in flight at once; also the number of connections kept open.',
  }),
  timeout_ms: field(z.int().min(1000).default(330_000), {
    description:
      'How long to wait for Pendo\'s answer, in milliseconds. The default outlasts Pendo\'s own five-minute limit, so a slow call ends with Pendo\'s 408 rather than ours; either way the batch is retried.',
  }),
});

export type PendoConfig = z.output<typeof pendoSpec>;

/** The origin (and optional path prefix) calls go to, without a trailing slash. */
export function pendoBaseUrl(config: Pick<PendoConfig, 'region' | 'base_url'>): string {
  return (config.base_url ?? REGION_HOSTS[config.region]).replace(/\/+$/, '');
}
