/**
 * JSON Schema fragments shared by the routes: request shapes Fastify validates (its errors become
 * `{ error, issues }` answers, see errors.ts) and response shapes for the OpenAPI document. Responses are
 * serialized by the app's exact-JSON serializer, not from these schemas, so a schema never drops a field.
 */
export const errorResponse = {
  type: 'object',
  properties: { error: { type: 'string' } },
  required: ['error'],
  additionalProperties: true,
} as const;

export const issuesResponse = {
  type: 'object',
  properties: {
    error: { type: 'string' },
    issues: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } }, required: ['path', 'message'] },
    },
  },
  required: ['error', 'issues'],
} as const;

export const configResponse = {
  type: 'object',
  description: 'A config version; secret values are shown as "********".',
  properties: {
    id: { type: 'integer' },
    create_date: { type: 'string', format: 'date-time' },
    label: { type: 'string' },
    value: { type: 'object', additionalProperties: true },
  },
  required: ['id', 'create_date', 'label', 'value'],
} as const;

export const counters = {
  type: 'object',
  properties: {
    read: { type: 'integer' },
    delivered: { type: 'integer' },
    rejected: { type: 'integer' },
    unchanged: { type: 'integer', description: 'Diff sync modes: records read but not sent (unchanged, or a change the mode does not send).' },
    deleted: { type: 'integer', description: 'Mirror: deletes delivered.' },
    retried: { type: 'integer' },
    batches: { type: 'integer' },
  },
} as const;

export const runResponse = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    activation: { type: 'string' },
    config_id: { type: 'integer' },
    status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'interrupted', 'cancelled'] },
    trigger: { type: 'string' },
    dry_run: { type: 'boolean' },
    counters,
    unsettled: { type: 'integer' },
    plan: {},
    error: { type: ['string', 'null'] },
    drift: {
      type: ['object', 'null'],
      description: "Source schema drift found by the run: columns added, removed, and changed ({ column, from, to }).",
      additionalProperties: true,
    },
    created_at: { type: 'string', format: 'date-time' },
    started_at: { type: ['string', 'null'], format: 'date-time' },
    finished_at: { type: ['string', 'null'], format: 'date-time' },
    duration_ms: { type: ['integer', 'null'] },
    worker: { type: ['string', 'null'] },
    attempts: { type: 'integer' },
    cancel_requested: { type: 'boolean' },
  },
  additionalProperties: true,
} as const;

export const activationResponse = {
  type: 'object',
  description: 'An activation of the current config, with its last run and next scheduled time.',
  properties: {
    name: { type: 'string' },
    // Written as `additionalProperties`: a property literally named `$ref` would be read as a reference.
    source: { type: 'object', description: '`{ "$ref": "#/sources/<name>" }`', additionalProperties: { type: 'string' } },
    destination: { type: 'object', description: '`{ "$ref": "#/destinations/<name>" }`', additionalProperties: { type: 'string' } },
    schedule: { type: ['string', 'null'] },
    last_run: { anyOf: [runResponse, { type: 'null' }] },
    next_run_at: { type: ['string', 'null'], format: 'date-time' },
  },
  additionalProperties: true,
} as const;

export const stateVersionResponse = {
  type: 'object',
  properties: {
    activation: { type: 'string' },
    version: { type: 'integer' },
    state: { type: 'object', additionalProperties: true },
    run_id: { type: ['string', 'null'] },
    reverted_from: { type: ['integer', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

export const nameParams = {
  type: 'object',
  properties: { name: { type: 'string', minLength: 1, maxLength: 200 } },
  required: ['name'],
} as const;

export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 100 } },
  required: ['id'],
} as const;

/** `limit` of a page: 1…500, 50 by default. */
export const limit = { type: 'integer', minimum: 1, maximum: 500, default: 50 } as const;

/** Errors most routes may answer, for the OpenAPI document. */
export const commonErrors = { 400: issuesResponse, 401: errorResponse, 404: errorResponse } as const;
