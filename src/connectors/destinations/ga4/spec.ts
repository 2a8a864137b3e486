/**
 * The ga4 destination's config: which GA4 data stream the events go to (a web stream's `measurement_id`
 * or an app stream's `firebase_app_id`), its Measurement Protocol `api_secret`, the region (global or EU
 * collection), and how records are validated and sent. Every description is user-facing: it becomes the
 * UI form help and the reference docs.
 */
import { z } from 'zod';
import { field } from '../../../sdk/spec.ts';

/** Measurement Protocol hosts: the global endpoint, and the one that collects in the EU. */
export const REGION_HOSTS = {
  global: 'https://www.google-analytics.com',
  eu: 'https://region1.google-analytics.com',
} as const;

export const ga4Spec = z
  .strictObject({
    measurement_id: field(
      z
        .string()
        .regex(/^G-[A-Z0-9]+$/i, 'a GA4 measurement ID looks like G-XXXXXXXXXX (a UA-… ID is Universal Analytics, which GA4 does not take)')
        .optional(),
      {
        description:
          'For a web data stream: its measurement ID (Admin > Data streams > your stream > Measurement ID), such as G-XXXXXXXXXX. Records then need `client_id`. Give either this or `firebase_app_id`.',
        examples: ['G-1A2B3C4D5E'],
      },
    ),
    firebase_app_id: field(z.string().regex(/^\d+:\d+:[a-z]+:[0-9a-f]+$/i, 'a Firebase App ID looks like 1:1234567890:android:321abc456def7890').optional(), {
      description:
        'For an app data stream: the Firebase App ID (Firebase console > Project settings > General > Your apps > App ID). Records then need `app_instance_id`. Give either this or `measurement_id`.',
      examples: ['1:1234567890:android:321abc456def7890'],
    }),
    api_secret: field(z.string().min(1), {
      description:
        'A Measurement Protocol API secret of the stream (Admin > Data streams > your stream > Measurement Protocol API secrets > Create). Sent in the query string; never shown or logged. GA4 does not refuse a wrong secret: it answers 2xx and drops the events, and its validation endpoint does not check the secret either.',
      secret: true,
    }),
    region: field(z.enum(['global', 'eu']).default('global'), {
      description: 'Where GA4 collects the events: `global` (www.google-analytics.com) or `eu` (region1.google-analytics.com, for data collected in the EU).',
    }),
    base_url: field(
      z
        .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
        .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), 'put the secret in `api_secret`, not in the URL')
        .refine((url) => !/[?#]/.test(url), 'a base URL has no query string or fragment')
        .optional(),
      {
        description: 'Another host to send to instead of the region\'s, such as a proxy or a test server; `/mp/collect` and `/debug/mp/collect` are appended to it.',
        examples: ['https://ga-proxy.internal.example.com'],
      },
    ),
    validate_before_send: field(z.boolean().default(false), {
      description:
        'Send every request to GA4\'s validation endpoint (/debug/mp/collect) first, and reject the events it finds fault with (naming the field and GA4\'s description) instead of sending them. Doubles the requests; off, events are still checked against GA4\'s documented rules before sending.',
    }),
    validation_behavior: field(z.enum(['RELAXED', 'ENFORCE_RECOMMENDATIONS']).optional(), {
      description:
        'GA4\'s `validation_behavior` for each request: `RELAXED` rejects only malformed requests; `ENFORCE_RECOMMENDATIONS` also rejects wrong types and exceeded limits (such as values longer than GA4 keeps). Absent: GA4\'s default.',
    }),
    batch_size: field(z.int().min(1).max(10_000).default(500), {
      description:
        'The most records handed to one write. Each write sends one request per user (and per 25 events): events of the same client and user travel together, in order.',
    }),
    batch_bytes: field(z.int().min(1024).max(50_000_000).default(2_000_000), {
      description: 'The most bytes of serialized records in one write.',
    }),
    max_wait_ms: field(z.int().min(0).default(1000), {
      description: 'How long a partly filled batch may wait for more records before it is sent anyway, in milliseconds.',
    }),
    concurrency: field(z.int().min(1).max(64).default(8), {
      description: 'How many requests may be in flight at once across the run; also the number of connections kept open.',
    }),
    timeout_ms: field(z.int().min(1000).default(30_000), {
      description: 'How long to wait for GA4\'s answer to a request, in milliseconds. A request that times out is retried.',
    }),
  })
  .superRefine((config, ctx) => {
    if ((config.measurement_id === undefined) === (config.firebase_app_id === undefined)) {
      const message = config.measurement_id === undefined ? 'give `measurement_id` (web stream) or `firebase_app_id` (app stream)' : 'give `measurement_id` or `firebase_app_id`, not both';
      ctx.addIssue({ code: 'custom', path: ['measurement_id'], message });
    }
  });

export type Ga4Config = z.output<typeof ga4Spec>;

/** A web stream takes `client_id`; an app stream `app_instance_id`. */
export type StreamKind = 'web' | 'app';

export function streamKind(config: Pick<Ga4Config, 'measurement_id'>): StreamKind {
  return config.measurement_id === undefined ? 'app' : 'web';
}

/** The origin (and optional path prefix) requests go to, without a trailing slash. */
export function ga4BaseUrl(config: Pick<Ga4Config, 'region' | 'base_url'>): string {
  return (config.base_url ?? REGION_HOSTS[config.region]).replace(/\/+$/, '');
}
