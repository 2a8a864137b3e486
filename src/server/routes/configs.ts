/**
 * Config versions, Tightlock's routes and shapes: `POST /connect`, `GET|POST /configs`,
 * `GET /configs:getLatest`, `GET /configs/{id}`; plus `POST /configs:validate`, which checks a config the
 * way posting it would, storing nothing. Posting goes through platform/configs.ts.
 */
import type { FastifyInstance } from 'fastify';
import { checkConfig, postConfig } from '../../platform/configs.ts';
import { getConfig, latestConfig, listConfigs } from '../../store/configs.ts';
import type { RouteContext } from '../app.ts';
import { invalid, notFound } from '../errors.ts';
import { configView } from '../views.ts';
import { commonErrors, configResponse, errorResponse, issuesResponse } from './schemas.ts';

interface ConfigBody {
  readonly label?: string;
  readonly value: Record<string, unknown>;
}

const configBody = {
  type: 'object',
  properties: {
    label: { type: 'string', minLength: 1, maxLength: 200, description: 'Unique; default `version N (<time>)`.' },
    value: { type: 'object', description: 'The config: `sources`, `destinations`, `activations`.' },
  },
  required: ['value'],
  additionalProperties: false,
} as const;

const tags = ['configs'];

export function configRoutes(app: FastifyInstance, { platform, version }: RouteContext): void {
  const { db } = platform;

  app.post('/connect', {
    schema: {
      tags: ['system'],
      description: 'Checks the API key and tells the server version (Tightlock).',
      response: { 200: { type: 'object', properties: { version: { type: 'string' } } } },
    },
    handler: async () => ({ version }),
  });

  app.get('/configs', {
    schema: { tags, description: 'Every config version, oldest first.', response: { 200: { type: 'array', items: configResponse } } },
    handler: async () => (await listConfigs(db)).map(configView),
  });

  app.post<{ Body: ConfigBody }>('/configs', {
    schema: {
      tags,
      description:
        'Stores a new config version after validating it whole (400 lists every problem with its JSON path). Secrets posted as "********" keep the current version\'s values.',
      body: configBody,
      response: { 200: configResponse, 400: issuesResponse, 409: errorResponse },
    },
    handler: async (request) => {
      const { label, value } = request.body;
      const result = await postConfig(platform, { value, ...(label === undefined ? {} : { label }), actor: request.actor });
      if (!result.ok) throw invalid('invalid config', result.issues);
      return configView(result.config);
    },
  });

  app.get('/configs::getLatest', {
    schema: { tags, description: 'The current (newest) config version; 404 when none was posted.', response: { 200: configResponse, 404: errorResponse } },
    handler: async () => {
      const config = await latestConfig(db);
      if (config === undefined) throw notFound('no config has been posted yet');
      return configView(config);
    },
  });

  app.post<{ Body: ConfigBody }>('/configs::validate', {
    schema: {
      tags,
      description: 'Validates a config as posting it would, without storing it.',
      body: configBody,
      response: { 200: { type: 'object', properties: { is_valid: { type: 'boolean' }, issues: issuesResponse.properties.issues } } },
    },
    handler: async (request) => {
      const checked = await checkConfig(platform, request.body.value);
      return checked.ok ? { is_valid: true, issues: [] } : { is_valid: false, issues: checked.issues };
    },
  });

  app.get<{ Params: { id: number } }>('/configs/:id', {
    schema: {
      tags,
      description: 'One config version.',
      params: { type: 'object', properties: { id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } }, required: ['id'] },
      response: { 200: configResponse, ...commonErrors },
    },
    handler: async (request) => {
      const config = await getConfig(db, request.params.id);
      if (config === undefined) throw notFound(`no config version ${request.params.id}`);
      return configView(config);
    },
  });
}
