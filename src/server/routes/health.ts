/**
 * Unauthenticated operations routes: `GET /healthz` (200 `{ status: 'ok', store }` when the store answers
 * a ping, 503 otherwise) and `GET /metrics` (Prometheus text exposition).
 */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../app.ts';

/** A pool waiting for a dead server would otherwise hold the probe until the prober gives up. */
const PING_TIMEOUT_MS = 5000;

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(app: FastifyInstance, { platform, metrics }: RouteContext): void {
  app.get('/healthz', {
    schema: {
      tags: ['system'],
      description: 'Liveness and store reachability.',
      response: {
        200: { type: 'object', properties: { status: { const: 'ok' }, store: { type: 'string', enum: ['pglite', 'postgres'] } } },
        503: { type: 'object', properties: { status: { const: 'unavailable' }, store: { type: 'string' }, error: { type: 'string' } } },
      },
    },
    handler: async (request, reply) => {
      try {
        await withTimeout(platform.db.query('select 1'), PING_TIMEOUT_MS);
        return { status: 'ok', store: platform.db.kind };
      } catch (error) {
        request.log.warn({ err: error }, 'health check: the store did not answer');
        return reply.code(503).send({ status: 'unavailable', store: platform.db.kind, error: 'the store did not answer' });
      }
    },
  });

  app.get('/metrics', {
    schema: { tags: ['system'], description: 'Prometheus metrics (text exposition format).', produces: ['text/plain'] },
    handler: async (_request, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    },
  });
}
