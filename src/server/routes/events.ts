/**
 * Event sources and dead letters under `/api/v1`:
 * - `GET /event-sources`: each `events` source of the current config with its event count, last arrival,
 *   and its activations' positions (`lag`: events of the source after the cursor) and pending dead letters;
 * - `GET /dead-letters?activation=&from=&to=&status=&limit=&cursor=`: undeliverable events with the reason
 *   and attempts, oldest first (`status` pending by default, or replayed, all);
 * - `GET /event-rejects?source=&from=&to=&limit=&cursor=`: events of accepted batches that a per-event rule
 *   rejected (no userId/anonymousId, a track without "event", …), with where and why, oldest first;
 * - `POST /dead-letters:replay` `{activation, from?, to?, filter?}`: appends the matching pending dead
 *   letters to the log again, for that activation only (its loop delivers them after what it has), marks
 *   them replayed, and audits it. Fix the cause first: an event that fails again is dead-lettered again.
 */
import type { FastifyInstance } from 'fastify';
import { FilterSyntaxError, compileEventFilter } from '../../engine/event-filter.ts';
import { unwrapConfig } from '../../config/load.ts';
import { isEventActivation } from '../../platform/trigger.ts';
import { audit } from '../../store/audit.ts';
import { latestConfig } from '../../store/configs.ts';
import {
  cursorLags,
  eventRejectCounts,
  eventSourceStats,
  listCursors,
  listDeadLetters,
  listEventRejects,
  pendingDeadLetterCounts,
  replayDeadLetters,
} from '../../store/events.ts';
import type { RouteContext } from '../app.ts';
import { HttpError, invalid, notFound } from '../errors.ts';
import { commonErrors, limit } from './schemas.ts';

const tags = ['events'];
const time = { type: 'string', format: 'date-time' } as const;

const deadLetterResponse = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    activation: { type: 'string' },
    source: { type: 'string' },
    destination: { type: 'string' },
    seq: { type: 'integer', description: "the event's position in the log" },
    message_id: { type: ['string', 'null'] },
    event: { type: 'object', description: 'the event as logged (before mapping)' },
    reason: { type: 'string' },
    attempts: { type: 'integer' },
    at: time,
    replayed_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

const filterSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Replay only dead letters whose event matches (the same filter as event activations take).',
  properties: {
    types: { type: 'array', items: { type: 'string', enum: ['track', 'identify', 'page', 'screen', 'group', 'alias'] }, minItems: 1 },
    events: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    where: { type: 'string', minLength: 1, maxLength: 2000 },
  },
} as const;

interface ConfigShape {
  sources?: Record<string, { type?: unknown; write_keys?: unknown }>;
  activations?: Array<{ name?: unknown; source?: { $ref?: unknown } }>;
}

export function eventRoutes(app: FastifyInstance, { platform }: RouteContext): void {
  const { db } = platform;
  const log = platform.eventLog ?? db;

  app.get('/event-sources', {
    schema: {
      tags,
      description: 'The event sources of the current config, with event counts and their activations’ positions and pending dead letters.',
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              write_keys: { type: 'integer', description: 'how many write keys it accepts' },
              events: { type: 'integer', description: 'events in the log (kept for the retention period)' },
              last_received_at: { type: ['string', 'null'], format: 'date-time' },
              rejected: { type: 'integer', description: 'events rejected by a per-event rule (kept for the retention period): GET /event-rejects' },
              activations: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    name: { type: 'string' },
                    cursor: { type: ['integer', 'null'], description: 'the last settled log position' },
                    lag: { type: ['integer', 'null'], description: 'events of the source not yet passed by the cursor (about: a log row it is part-way through counts whole)' },
                    dead_letters: { type: 'integer', description: 'pending (not replayed) dead letters' },
                  },
                },
              },
            },
          },
        },
        ...commonErrors,
      },
    },
    handler: async () => {
      const config = await latestConfig(db);
      const value = (config === undefined ? {} : unwrapConfig(config.value)) as ConfigShape;
      const sources = Object.entries(value.sources ?? {}).filter(([, entry]) => entry?.type === 'events');
      if (sources.length === 0) return [];
      const [stats, cursors, pending, lags, rejected] = await Promise.all([
        eventSourceStats(log),
        listCursors(log),
        pendingDeadLetterCounts(log),
        cursorLags(log),
        eventRejectCounts(log),
      ]);
      return sources.map(([name, entry]) => {
        const activations = (value.activations ?? []).filter((activation) => activation?.source?.$ref === `#/sources/${name}` && typeof activation.name === 'string');
        return {
          name,
          write_keys: Array.isArray(entry.write_keys) ? entry.write_keys.length : 0,
          events: stats.get(name)?.events ?? 0,
          last_received_at: stats.get(name)?.last_received_at ?? null,
          rejected: rejected.get(name) ?? 0,
          activations: activations.map((activation) => {
            const cursor = cursors.find((candidate) => candidate.activation === activation.name && candidate.source === name);
            return {
              name: activation.name as string,
              cursor: cursor?.seq ?? null,
              lag: cursor === undefined ? null : (lags.get(cursor.activation) ?? 0),
              dead_letters: pending.get(activation.name as string) ?? 0,
            };
          }),
        };
      });

    },
  });

  app.get<{ Querystring: { activation?: string; from?: string; to?: string; status?: 'pending' | 'replayed' | 'all'; limit: number; cursor?: string } }>('/dead-letters', {
    schema: {
      tags,
      description: 'Dead letters — events an activation could not deliver — with the reason and attempts, oldest first; pass `next_cursor` back as `cursor`.',
      querystring: {
        type: 'object',
        properties: {
          activation: { type: 'string', minLength: 1 },
          from: { ...time, description: 'dead-lettered at or after' },
          to: { ...time, description: 'dead-lettered before' },
          status: { type: 'string', enum: ['pending', 'replayed', 'all'], default: 'pending' },
          limit,
          cursor: { type: 'string', maxLength: 200 },
        },
      },
      response: { 200: { type: 'object', properties: { dead_letters: { type: 'array', items: deadLetterResponse }, next_cursor: { type: ['string', 'null'] } } }, ...commonErrors },
    },
    handler: async (request) => {
      const { activation, from, to, status, limit: size, cursor } = request.query;
      return listDeadLetters(log, {
        limit: size,
        ...(activation === undefined ? {} : { activation }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(status === undefined ? {} : { status }),
        ...(cursor === undefined ? {} : { cursor }),
      });
    },
  });

  app.get<{ Querystring: { source?: string; from?: string; to?: string; limit: number; cursor?: string } }>('/event-rejects', {
    schema: {
      tags,
      description:
        'Events of accepted batches that a per-event rule rejected (no userId or anonymousId, a track without `event`, an unknown `type`, …): where in the request, why, and the event as sent; oldest first, pass `next_cursor` back as `cursor`.',
      querystring: {
        type: 'object',
        properties: {
          source: { type: 'string', minLength: 1 },
          from: { ...time, description: 'received at or after' },
          to: { ...time, description: 'received before' },
          limit,
          cursor: { type: 'string', maxLength: 200 },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            rejects: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'integer' },
                  source: { type: 'string' },
                  received_at: time,
                  path: { type: 'string', description: 'where in the request: batch[3]' },
                  reason: { type: 'string' },
                  event: { description: 'the event as sent' },
                },
              },
            },
            next_cursor: { type: ['string', 'null'] },
          },
        },
        ...commonErrors,
      },
    },
    handler: async (request) => {
      const { source, from, to, limit: size, cursor } = request.query;
      return listEventRejects(log, {
        limit: size,
        ...(source === undefined ? {} : { source }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(cursor === undefined ? {} : { cursor }),
      });
    },
  });

  app.post<{ Body: { activation: string; from?: string; to?: string; filter?: { types?: string[]; events?: string[]; where?: string } } }>('/dead-letters::replay', {
    schema: {
      tags,
      description:
        'Replays the pending dead letters of an event activation (optionally dead-lettered in [from, to), optionally matching a filter): they are appended to the event log again for that activation only, and marked replayed (audited).',
      body: {
        type: 'object',
        required: ['activation'],
        additionalProperties: false,
        properties: { activation: { type: 'string', minLength: 1 }, from: time, to: time, filter: filterSchema },
      },
      response: { 200: { type: 'object', properties: { replayed: { type: 'integer' } } }, ...commonErrors },
    },
    handler: async (request) => {
      const { activation, from, to, filter } = request.body;
      const config = await latestConfig(db);
      if (config === undefined || !isEventActivation(config.value, activation)) throw notFound(`no event activation named "${activation}" in the current config`);
      let accept: (event: Record<string, unknown>) => boolean;
      try {
        accept = compileEventFilter(filter);
      } catch (error) {
        if (error instanceof FilterSyntaxError) throw invalid('invalid request', [{ path: 'body.filter.where', message: error.message }]);
        throw error;
      }
      if (from !== undefined && to !== undefined && Date.parse(from) >= Date.parse(to)) throw new HttpError(400, 'invalid request', { issues: [{ path: 'body.to', message: 'must be after from' }] });
      const replayed = await replayDeadLetters(log, { activation, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) }, accept);
      await audit(db, { actor: request.actor, action: 'dead_letters.replay', target: activation, detail: { replayed, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }), ...(filter === undefined ? {} : { filter }) } });
      return { replayed };
    },
  });
}
