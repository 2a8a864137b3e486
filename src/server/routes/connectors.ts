/**
 * Connectors: the native `GET /connectors` and `GET /connectors/{kind}/{id}` (title, config JSON Schema,
 * a destination's objects), Tightlock's combined `GET /schemas`, and Tightlock's
 * `POST /sources/{type}:validate` and `/destinations/{type}:validate` (`{ value }` → `{ is_valid, messages }`).
 */
import type { FastifyInstance } from 'fastify';
import type { ConnectorKind } from '../../connectors/registry.ts';
import type { RouteContext } from '../app.ts';
import { allConnectors, combinedSchemas, connectorInfo, isConnector, validateSettings } from '../catalog.ts';
import { notFound } from '../errors.ts';
import { commonErrors } from './schemas.ts';

const tags = ['connectors'];

const connectorResponse = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['source', 'destination'] },
    id: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    schema: { type: 'object', additionalProperties: true, description: "JSON Schema (2020-12) of the connector's settings." },
    objects: { type: 'array', items: { type: 'object', additionalProperties: true } },
  },
} as const;

function requireConnector(kind: string, id: string): ConnectorKind {
  if (!isConnector(kind, id)) throw notFound(`no ${kind === 'source' || kind === 'destination' ? kind : 'connector'} named "${id}"`);
  return kind;
}

export function connectorRoutes(app: FastifyInstance, { platform }: RouteContext): void {
  app.get('/connectors', {
    schema: { tags, description: 'Every source and destination connector.', response: { 200: { type: 'array', items: connectorResponse } } },
    handler: () => allConnectors(),
  });

  app.get<{ Params: { kind: string; id: string } }>('/connectors/:kind/:id', {
    schema: {
      tags,
      description: 'One connector; `kind` is `source` or `destination`.',
      params: { type: 'object', properties: { kind: { type: 'string' }, id: { type: 'string' } }, required: ['kind', 'id'] },
      response: { 200: connectorResponse, ...commonErrors },
    },
    handler: async (request) => connectorInfo(requireConnector(request.params.kind, request.params.id), request.params.id),
  });

  app.get('/schemas', {
    schema: {
      tags,
      description: "Tightlock's Schemas document: `source` and `destination` are each an anyOf of every connector's settings schema, in `$defs`.",
      response: { 200: { type: 'object', additionalProperties: true } },
    },
    handler: () => combinedSchemas(),
  });

  for (const [kind, section] of [['source', 'sources'], ['destination', 'destinations']] as const) {
    app.post<{ Params: { type: string }; Body: { value: Record<string, unknown> } }>(`/${section}/:type(.+)::validate`, {
      schema: {
        tags,
        description: `Validates one ${kind}'s settings against its connector's spec, then (when valid) runs the connector's check, within 10 s.`,
        params: { type: 'object', properties: { type: { type: 'string' } }, required: ['type'] },
        body: { type: 'object', properties: { value: { type: 'object' } }, required: ['value'], additionalProperties: false },
        response: {
          200: { type: 'object', properties: { is_valid: { type: 'boolean' }, messages: { type: 'array', items: { type: 'string' } } } },
          ...commonErrors,
        },
      },
      handler: async (request) => {
        requireConnector(kind, request.params.type);
        return validateSettings(platform, kind, request.params.type, request.body.value);
      },
    });
  }
}
