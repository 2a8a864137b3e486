/**
 * The `events` source's config: the write keys that tracking clients authenticate with. Every field's
 * description is user-facing (UI form help, reference docs).
 */
import { z } from 'zod';
import { field } from '../../../sdk/spec.ts';

export const eventsSpec = z.strictObject({
  write_keys: field(
    z
      .array(z.string().min(16, 'a write key must be at least 16 characters (e.g. `openssl rand -hex 16`)').max(200).regex(/^[\x21-\x7e]+$/, 'a write key is printable ASCII without spaces'))
      .min(1, 'give at least one write key')
      .refine((keys) => new Set(keys).size === keys.length, 'the write keys must differ from each other'),
    {
      description:
        'The keys tracking clients send events with: as the user name of HTTP Basic auth (what the Segment and RudderStack libraries do) or as `writeKey` in the body. Several keys let you rotate one without downtime. Secret; `${ENV}` references work.',
      examples: [['${WEB_WRITE_KEY}']],
      secret: true,
    },
  ),
});

export type EventsConfig = z.output<typeof eventsSpec>;
