/**
 * Runs: the native listing (`GET /runs`, newest first, keyset-paginated by an opaque `cursor`, so deep
 * pages cost what the first does — one indexed query per page), one run, its cancellation (audited), its
 * log lines and rejected records (paged by id); and Tightlock's `runs:batchGet` (offset pages with a
 * total), under both `/activations/~/` and `/connections/~/`.
 */
import type { FastifyInstance } from 'fastify';
import { audit } from '../../store/audit.ts';
import type { Queryable } from '../../store/db.ts';
import { listRejects, listRunLogs } from '../../store/run-records.ts';
import { ACTIVE_STATUSES, RUN_STATUSES, type RunRecord, type RunRowStatus, getRun, listRuns, requestCancel } from '../../store/runs.ts';
import type { RouteContext } from '../app.ts';
import { HttpError, notFound } from '../errors.ts';
import { runLogView, runView } from '../views.ts';
import { commonErrors, errorResponse, idParams, limit, runResponse } from './schemas.ts';

const tags = ['runs'];

const pageAfter = { type: 'object', properties: { after: { type: 'integer', minimum: 0 }, limit } } as const;

async function existingRun(db: Queryable, id: string): Promise<RunRecord> {
  const run = await getRun(db, id);
  if (run === undefined) throw notFound(`no run ${id}`);
  return run;
}

export function runRoutes(app: FastifyInstance, { platform, configActivations }: RouteContext): void {
  const { db } = platform;

  app.get<{ Querystring: { activation?: string; status?: RunRowStatus; limit: number; cursor?: string } }>('/runs', {
    schema: {
      tags,
      description: 'Runs, newest first. Pass `next_cursor` back as `cursor` for the next page (null on the last).',
      querystring: {
        type: 'object',
        properties: {
          activation: { type: 'string', minLength: 1 },
          status: { type: 'string', enum: RUN_STATUSES },
          limit,
          cursor: { type: 'string', maxLength: 200 },
        },
      },
      response: {
        200: { type: 'object', properties: { runs: { type: 'array', items: runResponse }, next_cursor: { type: ['string', 'null'] } } },
        ...commonErrors,
      },
    },
    handler: async (request) => {
      const { activation, status, limit: size, cursor } = request.query;
      const page = await listRuns(db, {
        ...(activation === undefined ? {} : { activations: [activation] }),
        ...(status === undefined ? {} : { status }),
        limit: size,
        ...(cursor === undefined ? {} : { cursor }),
      });
      return { runs: page.runs.map(runView), next_cursor: page.next_cursor };
    },
  });

  app.get<{ Params: { id: string } }>('/runs/:id', {
    schema: { tags, description: 'One run.', params: idParams, response: { 200: runResponse, ...commonErrors } },
    handler: async (request) => runView(await existingRun(db, request.params.id)),
  });

  app.post<{ Params: { id: string } }>('/runs/:id(.+)::cancel', {
    schema: {
      tags,
      description: 'Cancels a run (audited): a queued run at once, a running one at its next heartbeat. 409 when it has already ended.',
      params: idParams,
      response: { 202: runResponse, ...commonErrors, 409: errorResponse },
    },
    handler: async (request, reply) => {
      const run = await existingRun(db, request.params.id);
      if (!ACTIVE_STATUSES.includes(run.status)) throw new HttpError(409, `run ${run.id} has already ended (${run.status})`);
      const updated = await requestCancel(db, run.id);
      await audit(db, { actor: request.actor, action: 'run.cancel', target: run.activation, detail: { run_id: run.id, status: run.status } });
      void reply.code(202);
      return runView(updated ?? run);
    },
  });

  app.get<{ Params: { id: string }; Querystring: { after?: number; limit: number } }>('/runs/:id/logs', {
    schema: {
      tags,
      description: "A run's log lines in order; pass `next_after` back as `after` for more.",
      params: idParams,
      querystring: pageAfter,
      response: {
        200: { type: 'object', properties: { logs: { type: 'array', items: { type: 'object', additionalProperties: true } }, next_after: { type: ['integer', 'null'] } } },
        ...commonErrors,
      },
    },
    handler: async (request) => {
      const run = await existingRun(db, request.params.id);
      return listRunLogs(db, run.id, request.query);
    },
  });

  app.get<{ Params: { id: string }; Querystring: { after?: number; limit: number } }>('/runs/:id/rejects', {
    schema: {
      tags,
      description: "A run's rejected records with their reasons; pass `next_after` back as `after` for more.",
      params: idParams,
      querystring: pageAfter,
      response: {
        200: { type: 'object', properties: { rejects: { type: 'array', items: { type: 'object', additionalProperties: true } }, next_after: { type: ['integer', 'null'] } } },
        ...commonErrors,
      },
    },
    handler: async (request) => {
      const run = await existingRun(db, request.params.id);
      return listRejects(db, run.id, request.query);
    },
  });

  const names = { type: 'array', items: { type: 'string', minLength: 1 } } as const;
  for (const base of ['/activations', '/connections']) {
    app.get<{ Querystring: { activation_names?: string[]; connection_names?: string[]; page: number; page_size: number } }>(`${base}/~/runs::batchGet`, {
      schema: {
        tags,
        description: "Tightlock's run log: runs of the named activations (all when none is named), newest first, by page.",
        querystring: {
          type: 'object',
          properties: {
            activation_names: names,
            connection_names: names,
            page: { type: 'integer', minimum: 0, default: 0 },
            page_size: { type: 'integer', minimum: 1, maximum: 500, default: 20 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { run_logs: { type: 'array', items: { type: 'object', additionalProperties: true } }, total_entries: { type: 'integer' } },
          },
          ...commonErrors,
        },
      },
      handler: async (request) => {
        const { activation_names = [], connection_names = [], page, page_size } = request.query;
        const activations = [...activation_names, ...connection_names];
        const found = await listRuns(db, {
          ...(activations.length === 0 ? {} : { activations }),
          limit: page_size,
          offset: page * page_size,
          withTotal: true,
        });
        const configs = await configActivations.of(db, found.runs.map((run) => run.config_id));
        return {
          run_logs: found.runs.map((run) => runLogView(run, configs.get(run.config_id)?.get(run.activation))),
          total_entries: found.total ?? 0,
        };
      },
    });
  }
}
