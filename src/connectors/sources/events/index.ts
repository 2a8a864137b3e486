/**
 * The `events` source: a stream of tracking events (Segment's spec: track, identify, page, screen, group,
 * alias) that clients send to the `sluice serve` tracking API (`POST /v1/batch`, `/v1/track`, …) with one
 * of its write keys. It is not read by runs: the server appends each accepted event to the store's event
 * log, and every event activation of the source delivers from there as events arrive (platform/events).
 * `discover` describes the stream so mappings and UIs know the fields.
 */
import { SluiceError } from '../../../sdk/errors.ts';
import { defineSource } from '../../../sdk/source.ts';
import type { JsonSchema } from '../../../sdk/spec.ts';
import { eventsSpec } from './spec.ts';

export const EVENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One logged event, as activations' filters and mappings see it. */
export const EVENT_JSON_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['type', 'messageId', 'receivedAt', 'timestamp'],
  properties: {
    type: { type: 'string', enum: [...EVENT_TYPES] },
    messageId: { type: 'string' },
    userId: { type: ['string', 'number', 'null'] },
    anonymousId: { type: ['string', 'number', 'null'] },
    event: { type: 'string', description: 'track: the action' },
    name: { type: 'string', description: 'page and screen: the name' },
    groupId: { type: ['string', 'number'], description: 'group' },
    previousId: { type: ['string', 'number'], description: 'alias' },
    properties: { type: 'object' },
    traits: { type: 'object' },
    context: { type: 'object' },
    integrations: { type: 'object' },
    originalTimestamp: { type: 'string', description: 'the time the client gave the event (its clock)' },
    sentAt: { type: 'string', description: 'the time the client sent it (its clock)' },
    receivedAt: { type: 'string', format: 'date-time', description: 'when the server accepted it' },
    timestamp: { type: 'string', format: 'date-time', description: 'when it happened, corrected for the client clock: receivedAt − (sentAt − originalTimestamp)' },
  },
};

export default defineSource({
  id: 'events',
  title: 'Tracking events',
  description: 'Segment-compatible tracking events (track, identify, page, screen, group, alias) sent to the `sluice serve` tracking API with a write key, delivered to event activations as they arrive.',
  spec: eventsSpec,
  async check() {
    return { ok: true };
  },
  async discover() {
    return [{ name: 'events', jsonSchema: EVENT_JSON_SCHEMA, primaryKey: [['messageId']], syncModes: ['incremental'] }];
  },
  // eslint-disable-next-line require-yield
  async *read() {
    throw new SluiceError(
      'CONFIG_INVALID',
      'an events source is not read by runs: its events are delivered to its activations as they arrive at the tracking API (`sluice serve`)',
    );
  },
});
