/**
 * `GET /audit`: who changed a config, triggered or cancelled a run, or reverted a state, newest first;
 * pass `next_cursor` back as `cursor` for the next page. Entries never hold secret values.
 */
import type { FastifyInstance } from 'fastify';
import { listAudit } from '../../store/audit.ts';
import type { RouteContext } from '../app.ts';
import { commonErrors, limit } from './schemas.ts';

export function auditRoutes(app: FastifyInstance, { platform }: RouteContext): void {
  app.get<{ Querystring: { limit: number; cursor?: string } }>('/audit', {
    schema: {
      tags: ['audit'],
      description: 'The audit log, newest first.',
      querystring: { type: 'object', properties: { limit, cursor: { type: 'string', maxLength: 200 } } },
      response: {
        200: {
          type: 'object',
          properties: {
            entries: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'integer' },
                  at: { type: 'string', format: 'date-time' },
                  actor: { type: 'string' },
                  action: { type: 'string' },
                  target: { type: ['string', 'null'] },
                  detail: {},
                },
              },
            },
            next_cursor: { type: ['string', 'null'] },
          },
        },
        ...commonErrors,
      },
    },
    handler: async (request) => listAudit(platform.db, { limit: request.query.limit, ...(request.query.cursor === undefined ? {} : { cursor: request.query.cursor }) }),
  });
}
