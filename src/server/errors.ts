/**
 * Every error the API answers has one of a few JSON shapes, whoever raised it (a handler, Fastify's
 * validator, its body parser, the router):
 * - 400 `{ error, issues: [{ path, message }] }` for invalid input, each issue naming a JSON path such as
 *   `body.value` or `querystring.limit` (configs report paths inside the config: `destinations.api.url`);
 * - 4xx `{ error, …extra }` for the rest (404 unknown route or name, 409 conflict, 413 body too large, …);
 * - 500 `{ error: 'internal error', request_id }`: the detail goes to the server log only.
 * No response ever carries a stack trace, and no error message echoes a request body.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConfigIssue } from '../sdk/spec.ts';
import { formatPath } from '../sdk/spec.ts';
import { LabelTakenError } from '../store/configs.ts';
import { InvalidCursorError } from '../store/rows.ts';

/** An answer other than success, thrown by handlers: `body` adds fields next to `error`. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly body: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new HttpError(404, message);

export function invalid(message: string, issues: readonly ConfigIssue[]): HttpError {
  return new HttpError(400, message, { issues });
}

/** The subset of an Ajv error the formatter reads. */
interface SchemaError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly message?: string;
  readonly params: Record<string, unknown>;
}

/** Fastify's validator errors as issues with JSON paths: `/value/0/x` in the body → `body.value[0].x`. */
export function schemaIssues(errors: readonly SchemaError[], dataVar: string): ConfigIssue[] {
  return errors.map((error) => {
    const segments = error.instancePath
      .split('/')
      .slice(1)
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
    if (error.keyword === 'required') return { path: formatPath(dataVar, [...segments, String(error.params.missingProperty)]), message: 'required' };
    if (error.keyword === 'additionalProperties') {
      return { path: formatPath(dataVar, [...segments, String(error.params.additionalProperty)]), message: 'unknown key' };
    }
    return { path: formatPath(dataVar, segments), message: error.message ?? error.keyword };
  });
}

class RequestValidationError extends Error {
  readonly statusCode = 400;
  constructor(readonly issues: ConfigIssue[]) {
    super('invalid request');
  }
}

/** Installs the error handler, the 404 handler and the validator's error formatter on `app`. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setSchemaErrorFormatter((errors, dataVar) => new RequestValidationError(schemaIssues(errors as SchemaError[], dataVar)));
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply, bodyLimit));
}

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply, bodyLimit: number): FastifyReply {
  if (error instanceof HttpError) return reply.code(error.statusCode).send({ error: error.message, ...error.body });
  if (error instanceof RequestValidationError) return reply.code(400).send({ error: error.message, issues: error.issues });
  if (error instanceof InvalidCursorError) return reply.code(400).send({ error: 'invalid request', issues: [{ path: 'querystring.cursor', message: error.message }] });
  if (error instanceof LabelTakenError) return reply.code(409).send({ error: error.message });
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode;
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return reply.code(413).send({ error: `request body exceeds ${request.routeOptions.bodyLimit ?? bodyLimit} bytes` });
  }
  // Fastify's own client errors (unsupported media type, bad content length, …): their messages are fixed texts.
  if (typeof status === 'number' && status >= 400 && status < 500 && fastifyError.code?.startsWith('FST_') === true) {
    const message = fastifyError.message ?? 'bad request';
    // Every 400 lists its issues; Fastify's are about the body (FST_ERR_CTP_*) or the request line.
    const issues = status === 400 ? { issues: [{ path: fastifyError.code.startsWith('FST_ERR_CTP_') ? 'body' : '(request)', message }] } : {};
    return reply.code(status).send({ error: message, ...issues });
  }
  request.log.error({ err: error }, 'request failed');
  return reply.code(500).send({ error: 'internal error', request_id: request.id });
}
