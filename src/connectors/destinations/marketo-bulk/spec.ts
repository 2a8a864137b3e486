/**
 * The marketo-bulk destination's config. Every description is user-facing: it becomes the UI form help and
 * the reference docs. Where Marketo is (a Munchkin id or a base URL) and who calls it (a LaunchPoint custom
 * service's client id and secret) are here; the object (`leads`) is named by the activation.
 */
import { z } from 'zod';
import { field } from '../../../sdk/spec.ts';

/** Marketo refuses an import file of 10 MB or more (README.md); files stay this far below it by default. */
export const DEFAULT_FILE_BYTES = 9_500_000;
/** The largest file allowed: under 10 MB (10,000,000 bytes) with room for the multipart envelope. */
export const MAX_FILE_BYTES = 9_900_000;
/** Marketo queues at most 10 imports per instance (two of them importing), and answers 1016 past that. */
export const MAX_QUEUED_IMPORTS = 10;

export const marketoBulkSpec = z
  .strictObject({
    munchkin_id: field(
      z
        .string()
        .regex(/^\d{3}-[A-Za-z]{3}-\d{3}$/, 'must look like 123-ABC-456')
        .optional(),
      {
        description:
          'Your Marketo instance\'s Munchkin id (Admin > Integration > Munchkin, or the start of the REST endpoint under Admin > Integration > Web Services). Calls go to https://<munchkin_id>.mktorest.com. Give this or base_url.',
        examples: ['123-ABC-456'],
      },
    ),
    base_url: field(
      z
        .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
        .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), 'put the credentials in client_id and client_secret, not in the URL')
        .optional(),
      {
        description:
          'The REST API endpoint to call instead of the Munchkin id\'s, without the trailing /rest (Admin > Integration > Web Services shows it), or a proxy. /identity/oauth/token and /bulk/v1/… are appended to it.',
        examples: ['https://123-ABC-456.mktorest.com'],
      },
    ),
    client_id: field(z.string().min(1), {
      description: 'The Client ID of a LaunchPoint custom service (Admin > Integration > LaunchPoint > View Details) whose API-only user may read and write leads.',
    }),
    client_secret: field(z.string().min(1), {
      description: 'The Client Secret of that custom service. Used only to fetch access tokens; never shown, logged or put in a reason.',
      secret: true,
    }),
    lookup_field: field(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a Marketo REST API field name').default('email'), {
      description:
        'The field Marketo finds existing leads by (its lookupField): every record must carry it. `email` (the default) updates the lead with that email or creates one; `id` only updates existing leads. Another field works if Marketo can deduplicate on it.',
      examples: ['email', 'id', 'sfdcLeadId'],
    }),
    list_id: field(z.int().positive().optional(), {
      description: 'The id of a static list: every imported lead also becomes a member of it.',
      examples: [1234],
    }),
    partition_name: field(z.string().min(1).optional(), {
      description: 'The lead partition new leads are created in (for instances with workspaces and partitions); the API user needs access to it.',
    }),
    max_file_bytes: field(z.int().min(1024).max(MAX_FILE_BYTES).default(DEFAULT_FILE_BYTES), {
      description: 'The most bytes in one import file. Marketo refuses files of 10 MB or more; the default keeps a margin below that.',
    }),
    max_rows: field(z.int().min(1).max(1_000_000).default(100_000), {
      description: 'The most records in one import file.',
    }),
    max_jobs: field(z.int().min(1).max(MAX_QUEUED_IMPORTS).default(2), {
      description:
        'How many import jobs this destination keeps in flight at once. Marketo imports two at a time per instance and queues at most ten (then it answers "1016, Too many imports"), shared with every other integration of the instance.',
    }),
    job_timeout_ms: field(z.int().min(60_000).default(3_600_000), {
      description: 'How long to wait for one import to finish, in milliseconds. A job still queued or importing after this stops the run; the next run picks the same job up again instead of importing the file twice.',
    }),
    rate_limit: field(z.number().min(0.1).max(5).default(4), {
      description: 'The most calls per second to Marketo, counted over a 20-second window as Marketo counts them. Marketo allows 100 calls per 20 seconds per instance (5 per second, shared with its other integrations) and answers 606 past that, which is retried after the window.',
    }),
    timeout_ms: field(z.int().min(1000).default(120_000), {
      description: 'How long to wait for one answer from Marketo, in milliseconds (an upload sends up to 10 MB).',
    }),
  })
  .refine((config) => (config.munchkin_id === undefined) !== (config.base_url === undefined), {
    message: 'give munchkin_id or base_url (one of them)',
    path: ['munchkin_id'],
  });

export type MarketoBulkConfig = z.output<typeof marketoBulkSpec>;

/** The origin (and optional path prefix) calls go to, without a trailing slash. */
export function marketoBaseUrl(config: Pick<MarketoBulkConfig, 'munchkin_id' | 'base_url'>): string {
  const base = config.base_url ?? `https://${config.munchkin_id ?? ''}.mktorest.com`;
  return base.replace(/\/+$/, '').replace(/\/rest$/, '');
}
