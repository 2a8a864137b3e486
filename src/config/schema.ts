/**
 * The shape of a Sluice config file (the Tightlock shape): named `sources` and `destinations`, each with a
 * `type` naming a connector plus that connector's own settings, and `activations` that join them by `$ref`.
 * Connector settings are validated against each connector's spec in resolve.ts.
 */
import { z } from 'zod';
import { FilterSyntaxError, compileWhere } from '../engine/event-filter.ts';
import { mappingSchema } from '../engine/mapping.ts';
import { parseSchedule } from '../platform/schedule.ts';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

const connectorEntry = z.looseObject({ type: z.string().min(1, 'type is required') });

const ref = (section: 'sources' | 'destinations') =>
  z.strictObject({
    $ref: z.string().regex(new RegExp(`^#/${section}/[^/]+$`), `must look like "#/${section}/<name>"`),
  });

export const activationSchema = z.strictObject({
  name: z.string().regex(NAME, 'use letters, digits, _ . -'),
  description: z.string().optional(),
  source: ref('sources'),
  destination: ref('destinations'),
  /** The source stream to read; defaults to the source's first stream. */
  stream: z.string().optional(),
  /** The destination object to write; defaults to the destination's only object. */
  object: z.string().optional(),
  mapping: mappingSchema.optional(),
  /**
   * Event activations (source of type `events`) only: which events to deliver — by type, by name (track
   * events, pages and screens), and by a `where` expression (engine/event-filter.ts).
   */
  filter: z
    .strictObject({
      types: z.array(z.enum(['track', 'identify', 'page', 'screen', 'group', 'alias'])).min(1).optional(),
      events: z.array(z.string().min(1)).min(1).optional(),
      where: z
        .string()
        .min(1)
        .optional()
        .superRefine((text, ctx) => {
          if (text === undefined) return;
          try {
            compileWhere(text);
          } catch (error) {
            ctx.addIssue({ code: 'custom', message: error instanceof FilterSyntaxError ? error.message : String(error) });
          }
        }),
    })
    .optional(),
  sync_mode: z.enum(['append', 'overwrite', 'insert', 'update', 'upsert', 'mirror', 'all']).optional(),
  /** Source field(s) that identify a record, for the diff modes; defaults to the stream's own primary key. */
  primary_key: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** Diff modes: a run whose plan changes more than this share of the rows last delivered stops before sending. */
  max_change_ratio: z.number().min(0).max(1).optional(),
  /** When the source stream's columns change: `continue` (recorded on the run) or `fail` (the run stops before reading). */
  on_schema_change: z.enum(['continue', 'fail']).optional(),
  /** A cron string or preset such as `@daily` (UTC unless prefixed `TZ=Area/City `); null or absent means manual only. */
  schedule: z
    .string()
    .nullable()
    .optional()
    .superRefine((text, ctx) => {
      if (text == null) return;
      const parsed = parseSchedule(text);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
    }),
  retry: z
    .strictObject({
      max_attempts: z.number().int().min(1).max(100).optional(),
      max_elapsed_seconds: z.number().positive().optional(),
    })
    .optional(),
  /** Told when a run of this activation fails. */
  notify: z
    .strictObject({
      webhook_url: z.url({ protocol: /^https?$/, error: (issue) => (issue.input === undefined ? 'required' : 'must be an http(s) URL') }),
    })
    .optional(),
});

export const configSchema = z.strictObject({
  sources: z.record(z.string().regex(NAME, 'use letters, digits, _ . -'), connectorEntry).default({}),
  destinations: z.record(z.string().regex(NAME, 'use letters, digits, _ . -'), connectorEntry).default({}),
  activations: z.array(activationSchema).default([]),
});

export type SluiceConfig = z.output<typeof configSchema>;
export type ActivationConfig = z.output<typeof activationSchema>;
