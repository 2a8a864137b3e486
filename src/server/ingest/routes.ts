/**
 * The tracking API, compatible with Segment's HTTP Tracking API (and so with RudderStack's): `POST
 * /v1/track|identify|page|screen|group|alias`, and `/v1/batch` (also `/v1/import`). Unchanged Segment and
 * RudderStack client libraries work when pointed at the server.
 *
 * Promises:
 * - a request is authenticated by a write key of an `events` source: HTTP Basic with the key as user name
 *   (what the libraries send), or `writeKey` in the body; 401 otherwise. No X-API-Key is involved;
 * - bodies are JSON, decompressed by `Content-Encoding` (gzip, deflate, br) whatever the `Content-Type`
 *   says (RudderStack's Node library labels its gzip `application/x-www-form-urlencoded`);
 * - 200 `{"success": true}` only once every event of the request is committed to the event log (a
 *   duplicate `messageId` counts as accepted: it was logged before); a batch's events rejected by a
 *   per-event rule are committed to the rejects ledger with their reason, and listed in the 200's
 *   `rejected` (normalize.ts); 400 with the reason when the request itself is refused, and then nothing
 *   of it is stored; 500 when the store failed, so the client sends it again;
 * - request bodies are never logged; these routes log only warnings (the load is high and repetitive).
 */
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, type InputType, type ZlibOptions } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Platform } from '../../platform/context.ts';
import type { Metrics } from '../metrics.ts';
import { HttpError } from '../errors.ts';
import { EventAppender } from './appender.ts';
import { EVENT_TYPES, type EventType, MAX_BATCH_BYTES, normalizeRequest } from './normalize.ts';
import { WriteKeys, basicAuthUser } from './write-keys.ts';

/** Compressed bodies larger than this are refused before reading on (413); the 500 KB rule applies after decompression. */
const RAW_BODY_LIMIT = 4 * 1024 * 1024;

const decompressors: Record<string, (input: InputType, options: ZlibOptions) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress) as (input: InputType, options: ZlibOptions) => Promise<Buffer>,
};

interface ParsedBody {
  readonly bytes: number;
  readonly text: string;
  readonly value: unknown;
}

export interface IngestOptions {
  readonly platform: Platform;
  readonly metrics?: Metrics;
  /** Shared with tests: the write-key cache. */
  readonly writeKeys?: WriteKeys;
}

function refused(status: number, error: string, extra: Record<string, unknown> = {}): HttpError {
  return new HttpError(status, error, { success: false, ...extra });
}

/** Decompresses (by Content-Encoding) and parses a body; throws 400/415 errors with the reason. */
export async function parseTrackingBody(request: FastifyRequest, raw: Buffer): Promise<ParsedBody> {
  const encoding = String(request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let buffer = raw;
  if (encoding !== '' && encoding !== 'identity') {
    const decompress = decompressors[encoding];
    if (decompress === undefined) throw refused(415, `unsupported Content-Encoding "${encoding.slice(0, 40)}" (use gzip, deflate or br)`);
    try {
      buffer = await decompress(raw, { maxOutputLength: MAX_BATCH_BYTES + 1 });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
        throw refused(400, `the body exceeds ${MAX_BATCH_BYTES} bytes (500 KB) once decompressed`, { issues: [{ path: 'body', message: 'over 500 KB' }] });
      }
      throw refused(400, `the body is not valid ${encoding} data`, { issues: [{ path: 'body', message: `not ${encoding}` }] });
    }
  }
  if (buffer.length > MAX_BATCH_BYTES) {
    throw refused(400, `the body is ${buffer.length} bytes; the limit is ${MAX_BATCH_BYTES} (500 KB)`, { issues: [{ path: 'body', message: 'over 500 KB' }] });
  }
  if (buffer.length === 0) throw refused(400, 'the body is empty', { issues: [{ path: 'body', message: 'empty' }] });
  try {
    const text = buffer.toString('utf8');
    return { bytes: buffer.length, text, value: JSON.parse(text) as unknown };
  } catch (error) {
    // The parser's message without the excerpt of the input that V8 may add.
    const why = (error instanceof Error ? error.message : String(error)).replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '').slice(0, 200);
    throw refused(400, `malformed JSON body: ${why}`, { issues: [{ path: 'body', message: why }] });
  }
}

export function ingestRoutes(app: FastifyInstance, options: IngestOptions): { writeKeys: WriteKeys; appender: EventAppender } {
  const { platform } = options;
  const writeKeys = options.writeKeys ?? new WriteKeys(platform);
  const appender = new EventAppender(platform.eventLog ?? platform.db);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: RAW_BODY_LIMIT }, (request, body, done) => {
    parseTrackingBody(request, body as Buffer).then(
      (parsed) => done(null, parsed),
      (error: unknown) => done(error as Error, undefined),
    );
  });

  async function handle(route: 'batch' | EventType, request: FastifyRequest, reply: FastifyReply) {
    const body = request.body as ParsedBody | undefined;
    if (body === undefined) throw refused(400, 'the body is empty', { issues: [{ path: 'body', message: 'empty' }] });
    const received = new Date();
    const normalized = normalizeRequest(route, body.value, body.bytes, received, () => JSON.parse(body.text));
    const headerKey = basicAuthUser(request.headers.authorization);
    const bodyKey = normalized.ok ? normalized.writeKey : bodyWriteKey(body.value);
    let source = headerKey === undefined ? undefined : await writeKeys.sourceOf(headerKey);
    if (source === undefined && bodyKey !== undefined) source = await writeKeys.sourceOf(bodyKey);
    if (source === undefined) {
      throw refused(401, headerKey === undefined && bodyKey === undefined ? 'a write key is required: HTTP Basic auth with the key as user name, or "writeKey" in the body' : 'invalid write key');
    }
    if (!normalized.ok) throw refused(400, normalized.error, { issues: normalized.issues });
    const { events, rejected } = normalized;
    await appender.append(
      source,
      events,
      received.toISOString(),
      rejected.map((item) => ({ path: item.path, reason: item.reason, messageId: messageIdOf(item.event), event: JSON.stringify(item.event) ?? 'null' })),
    );
    options.metrics?.eventsAccepted?.(source, events.length);
    if (rejected.length === 0) return reply.code(200).send({ success: true });
    options.metrics?.eventsRejected?.(source, rejected.length);
    return reply.code(200).send({ success: true, rejected: rejected.map((item) => ({ index: item.index, path: item.path, message: item.reason })) });
  }

  const schema = (what: string) => ({
    tags: ['tracking'],
    description: `${what} Segment-compatible; authenticated by a write key (HTTP Basic user name, or \`writeKey\` in the body). Gzip bodies are read by Content-Encoding.`,
    security: [{ writeKey: [] }],
  });
  for (const type of EVENT_TYPES) {
    app.post(`/v1/${type}`, { schema: schema(`One ${type} event.`) }, (request, reply) => handle(type, request, reply));
  }
  for (const path of ['/v1/batch', '/v1/import']) {
    app.post(path, { schema: schema('A batch of events: `{"batch": [...], "context"?, "integrations"?, "sentAt"?}`, up to 500 KB (32 KB per event).') }, (request, reply) =>
      handle('batch', request, reply),
    );
  }
  return { writeKeys, appender };
}

function messageIdOf(event: unknown): string | undefined {
  const id = event !== null && typeof event === 'object' ? (event as { messageId?: unknown }).messageId : undefined;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

function bodyWriteKey(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const key = (value as { writeKey?: unknown }).writeKey;
  return typeof key === 'string' && key !== '' ? key : undefined;
}
