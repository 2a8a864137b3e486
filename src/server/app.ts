/**
 * The HTTP API of `sluice serve` (Fastify 5): Tightlock's routes and shapes under `/api/v1` next to
 * Sluice's own (snake_case JSON), `/healthz`, `/metrics`, and the OpenAPI document at `/docs` (UI) and
 * `/docs/json`.
 *
 * Promises:
 * - every `/api/v1` route needs a valid `X-API-Key` (auth.ts); the others do not, and the tracking API
 *   (`/v1/track`, `/v1/batch`, …: ingest/routes.ts) authenticates by an event source's write key;
 * - errors have the shapes of errors.ts, never a stack trace; request bodies are never logged, and the
 *   log's request serializer has no headers (so no API key);
 * - configs appear in responses only masked (views.ts);
 * - JSON is exact both ways: integers beyond 2^53 in a config or a state survive a round trip;
 * - every answered request is counted in the metrics by method, route pattern and status.
 * Handlers stay thin: they call the store and platform services and map results through views.ts.
 *
 * Google-style custom verbs (`/configs:getLatest`, `/runs/{id}:cancel`): the router reads `::` as a literal
 * colon, and a parameter before one needs a pattern (`/runs/:id(.+)::cancel`) — without it the router takes
 * `id::cancel` for the parameter's name.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type Logger, pino } from 'pino';
import type { Platform } from '../platform/context.ts';
import { stringifyJson } from '../protocol/json.ts';
import { apiKeyAuth } from './auth.ts';
import { installErrorHandling } from './errors.ts';
import { installJsonBodyParser } from './json-body.ts';
import { type Metrics, createMetrics } from './metrics.ts';
import { activationRoutes } from './routes/activations.ts';
import { auditRoutes } from './routes/audit.ts';
import { configRoutes } from './routes/configs.ts';
import { connectorRoutes } from './routes/connectors.ts';
import { eventRoutes } from './routes/events.ts';
import { ingestRoutes } from './ingest/routes.ts';
import { healthRoutes } from './routes/health.ts';
import { runRoutes } from './routes/runs.ts';
import { ConfigActivations } from './views.ts';

export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;

export interface ServerOptions {
  /** Where request counts go and what `/metrics` shows; a fresh registry when absent. */
  readonly metrics?: Metrics;
  /** Largest accepted request body, in bytes (default 10 MiB); larger ones get 413. */
  readonly bodyLimit?: number;
  /** A pino logger to log through (the server adds its own serializers); default pino at info on stdout; false for none. */
  readonly logger?: Logger | false;
}

/** What every route module gets. */
export interface RouteContext {
  readonly platform: Platform;
  readonly metrics: Metrics;
  /** Sluice's version, for Tightlock's `POST /connect`. */
  readonly version: string;
  readonly configActivations: ConfigActivations;
}

/**
 * What the server logs of a request and a reply: no headers (X-API-Key), no body. Errors keep their stack
 * here, in the server log, and only here.
 */
export const LOG_SERIALIZERS = {
  req: (request: FastifyRequest) => ({ method: request.method, url: request.url, remoteAddress: request.ip }),
  res: (reply: FastifyReply) => ({ statusCode: reply.statusCode }),
  err: pino.stdSerializers.err,
};

export async function buildServer(platform: Platform, options: ServerOptions = {}): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const metrics = options.metrics ?? createMetrics();
  const logger: FastifyBaseLogger | undefined =
    options.logger === false ? undefined : (options.logger ?? pino({ level: 'info' })).child({}, { serializers: LOG_SERIALIZERS });
  const app = Fastify({
    ...(logger === undefined ? { logger: false } : { loggerInstance: logger }),
    bodyLimit,
    genReqId: () => randomUUID(),
    routerOptions: { maxParamLength: 300 },
    // Every problem at once; unknown body keys are reported, not silently dropped.
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });

  const context: RouteContext = { platform, metrics, version: packageVersion(), configActivations: new ConfigActivations() };
  app.decorateRequest('actor', '');
  installJsonBodyParser(app);
  installErrorHandling(app, bodyLimit);
  // Exact JSON out (bigint, long decimals); response schemas document, they do not filter.
  app.setReplySerializer((payload) => stringifyJson(payload));
  app.setSerializerCompiler(() => (data) => stringifyJson(data));
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequest({ method: request.method, route: routeLabel(request.routeOptions.url), status: reply.statusCode, seconds: reply.elapsedTime / 1000 });
  });

  await app.register(swagger, {
    openapi: {
      // 3.1: JSON Schema 2020-12, so `type: ['string', 'null']` and `const` are valid as written.
      openapi: '3.1.0',
      info: { title: 'Sluice API', version: context.version, description: 'Configs, activations, runs and connectors of a Sluice server.' },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          writeKey: { type: 'http', scheme: 'basic', description: "An events source's write key as the user name, no password" },
        },
      },
      tags: ['configs', 'activations', 'runs', 'connectors', 'events', 'audit', 'system', 'tracking'].map((name) => ({ name })),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  healthRoutes(app, context);
  // The tracking API: its own body parsing (gzip by Content-Encoding) and auth (write keys), quiet logs.
  await app.register(
    async (ingest) => {
      ingestRoutes(ingest, { platform, metrics });
    },
    { logLevel: 'warn' },
  );
  await app.register(
    async (api) => {
      api.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, security: [{ apiKey: [] }] };
      });
      api.addHook('onRequest', apiKeyAuth(platform.db, { logger: app.log }));
      configRoutes(api, context);
      activationRoutes(api, context);
      runRoutes(api, context);
      connectorRoutes(api, context);
      auditRoutes(api, context);
      eventRoutes(api, context);
    },
    { prefix: '/api/v1' },
  );
  return app;
}

/** `/api/v1/runs/:id(.+)::cancel` → `/api/v1/runs/:id:cancel`; one label for every unmatched URL. */
export function routeLabel(pattern: string | undefined): string {
  return pattern === undefined ? 'unmatched' : pattern.replace(/\(\.\+\)/g, '').replace(/::/g, ':');
}

function packageVersion(): string {
  try {
    // src/server/ and dist/server/ both sit two levels under the package root.
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
