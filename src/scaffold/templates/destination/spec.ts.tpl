/**
 * The __id__ destination's config. Every description is user-facing: it becomes the UI form help and the
 * reference docs (docs/connectors/destination-__id__.md). Unknown keys are rejected.
 */
import { z } from 'zod';
import { field } from 'sluice/sdk';

export const __camel__Spec = z.strictObject({
  url: field(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }), {
    description: 'The __Title__ API endpoint that receives each batch of records.',
    examples: ['https://api.example.com/v1/records'],
  }),
  api_key: field(z.string().min(1), {
    description: 'Your __Title__ API key, sent as a Bearer token. Never shown, logged or put in error messages.',
    secret: true,
  }),
  batch_size: field(z.int().min(1).max(1000).default(100), {
    description: 'The most records sent in one request.',
  }),
  timeout_ms: field(z.int().min(1).default(30_000), {
    description: 'How long to wait for an answer, in milliseconds; a request that times out is retried.',
  }),
});

export type __Pascal__Config = z.output<typeof __camel__Spec>;
