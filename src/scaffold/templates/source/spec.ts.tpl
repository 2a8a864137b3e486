/**
 * The __id__ source's config. Every description is user-facing: it becomes the UI form help and the
 * reference docs (docs/connectors/source-__id__.md). Unknown keys are rejected.
 */
import { z } from 'zod';
import { field } from 'sluice/sdk';

export const __camel__Spec = z.strictObject({
  url: field(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }), {
    description: 'The __Title__ API endpoint that lists items, page by page.',
    examples: ['https://api.example.com/v1/items'],
  }),
  api_key: field(z.string().min(1), {
    description: 'Your __Title__ API key, sent as a Bearer token. Never shown, logged or put in error messages.',
    secret: true,
  }),
  page_size: field(z.int().min(1).max(1000).default(100), {
    description: 'How many items to ask for per page.',
  }),
  timeout_ms: field(z.int().min(1).default(30_000), {
    description: 'How long to wait for a page, in milliseconds.',
  }),
});

export type __Pascal__Config = z.output<typeof __camel__Spec>;
