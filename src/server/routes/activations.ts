/**
 * Activations of the current config: Tightlock's `GET /activations` (also `/connections`) and
 * `POST /activations/{name}:trigger` (`{ dry_run }`, honouring `Idempotency-Key`), plus one activation with
 * its last run and next scheduled time, and its state: the current version, the history, and a revert
 * (which appends a copy of an older version, audited). Triggering goes through platform/trigger.ts.
 */
import type { FastifyInstance } from 'fastify';
import { triggerRun } from '../../platform/trigger.ts';
import { audit } from '../../store/audit.ts';
import { latestConfig } from '../../store/configs.ts';
import { activeRun } from '../../store/runs.ts';
import { currentState, listStateVersions, revertState } from '../../store/state.ts';
import type { RouteContext } from '../app.ts';
import { HttpError, notFound } from '../errors.ts';
import { activationViews, triggeredView } from '../views.ts';
import { activationResponse, commonErrors, errorResponse, limit, nameParams, runResponse, stateVersionResponse } from './schemas.ts';

const tags = ['activations'];

export function activationRoutes(app: FastifyInstance, { platform }: RouteContext): void {
  const { db } = platform;

  for (const base of ['/activations', '/connections']) {
    app.get(base, {
      schema: {
        tags,
        description: `The activations of the current config, each with its last run and next scheduled time.${base === '/connections' ? ' (Tightlock alias)' : ''}`,
        response: { 200: { type: 'array', items: activationResponse } },
      },
      handler: async () => activationViews(db, await latestConfig(db)),
    });

    app.post<{ Params: { name: string }; Body: { dry_run?: boolean; force?: boolean } | undefined; Headers: { 'idempotency-key'?: string } }>(`${base}/:name(.+)::trigger`, {
      schema: {
        tags,
        description:
          'Queues a run (202, `Location: /api/v1/runs/{id}`). Repeating a request with the same `Idempotency-Key` returns the same run; 409 while the activation has an active run.',
        params: nameParams,
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } } },
        body: { type: ['object', 'null'], properties: { dry_run: { type: 'boolean', default: false }, force: { type: 'boolean', default: false, description: 'override the max_change_ratio guard for this run' } }, additionalProperties: false },
        response: {
          202: { ...runResponse, properties: { run_id: { type: 'string' }, ...runResponse.properties } },
          ...commonErrors,
          409: { ...errorResponse, properties: { error: { type: 'string' }, run_id: { type: 'string' } } },
          422: errorResponse,
        },
      },
      handler: async (request, reply) => {
        const { name } = request.params;
        const idempotencyKey = request.headers['idempotency-key'];
        const result = await triggerRun(platform, {
          activation: name,
          dryRun: request.body?.dry_run ?? false,
          force: request.body?.force ?? false,
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
          trigger: 'api',
          actor: request.actor,
        });
        switch (result.kind) {
          case 'created':
          case 'replayed':
            void reply.code(202).header('location', `/api/v1/runs/${result.run.id}`);
            return triggeredView(result.run);
          case 'busy':
            throw new HttpError(409, `activation "${name}" already has an active run`, { run_id: result.run.id });
          case 'key-reused':
            throw new HttpError(422, `this Idempotency-Key was already used to trigger activation "${result.run.activation}"`);
          case 'unknown-activation':
            throw notFound(`no activation named "${name}" in the current config`);
          case 'event-activation':
            throw new HttpError(409, `activation "${name}" delivers events as they arrive: it has no runs to trigger (see GET /api/v1/event-sources and /dead-letters)`);
          case 'no-config':
            throw notFound('no config has been posted yet');
        }
      },
    });
  }

  app.get<{ Params: { name: string } }>('/activations/:name', {
    schema: { tags, description: 'One activation of the current config.', params: nameParams, response: { 200: activationResponse, ...commonErrors } },
    handler: async (request) => {
      const [view] = await activationViews(db, await latestConfig(db), request.params.name);
      if (view === undefined) throw notFound(`no activation named "${request.params.name}" in the current config`);
      return view;
    },
  });

  app.get<{ Params: { name: string } }>('/activations/:name/state', {
    schema: { tags, description: "The activation's current state; 404 before its first committed state.", params: nameParams, response: { 200: stateVersionResponse, ...commonErrors } },
    handler: async (request) => {
      const state = await currentState(db, request.params.name);
      if (state === undefined) throw notFound(`activation "${request.params.name}" has no state yet`);
      return state;
    },
  });

  app.get<{ Params: { name: string }; Querystring: { limit: number; before?: number } }>('/activations/:name/state/versions', {
    schema: {
      tags,
      description: 'State versions, newest first; pass `next_before` back as `before` for the next page.',
      params: nameParams,
      querystring: { type: 'object', properties: { limit, before: { type: 'integer', minimum: 1 } } },
      response: {
        200: {
          type: 'object',
          properties: { versions: { type: 'array', items: stateVersionResponse }, next_before: { type: ['integer', 'null'] } },
        },
        ...commonErrors,
      },
    },
    handler: async (request) => {
      const { limit: size, before } = request.query;
      const versions = await listStateVersions(db, request.params.name, { limit: size, ...(before === undefined ? {} : { before }) });
      const last = versions[versions.length - 1];
      return { versions, next_before: versions.length === size && last !== undefined ? last.version : null };
    },
  });

  app.post<{ Params: { name: string }; Body: { version: number } }>('/activations/:name/state::revert', {
    schema: {
      tags,
      description: 'Makes an older state version current again, as a new version (audited); 409 while a run is active.',
      params: nameParams,
      body: { type: 'object', properties: { version: { type: 'integer', minimum: 1 } }, required: ['version'], additionalProperties: false },
      response: { 200: stateVersionResponse, ...commonErrors, 409: errorResponse },
    },
    handler: async (request) => {
      const { name } = request.params;
      const { version } = request.body;
      const active = await activeRun(db, name);
      if (active !== undefined) throw new HttpError(409, `activation "${name}" has an active run: cancel it or wait before reverting its state`, { run_id: active.id });
      const reverted = await revertState(db, name, version);
      if (reverted === undefined) throw notFound(`activation "${name}" has no state version ${version}`);
      await audit(db, { actor: request.actor, action: 'state.revert', target: name, detail: { version, new_version: reverted.version } });
      return reverted;
    },
  });
}
