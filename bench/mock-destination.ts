/**
 * A mock HTTP destination for benchmarks, tests and the quickstart: it accepts batches POSTed (or PUT/PATCHed)
 * as a JSON array, NDJSON or a JSON envelope (`{"batch": [...]}`), counts the records in them, and can be made
 * slow (`latencyMs`), flaky (`failureRate`: that fraction of requests answered 503) or rate limited
 * (`burst429`: in every window of `every` requests, the last `count` are answered 429 with Retry-After), or
 * capped at a request rate (`rateLimit`: at most `perSecond` data requests a second — either served late, each
 * answer held until its slot, or answered 429 with Retry-After beyond the rate).
 * A request whose `Idempotency-Key` was already delivered is answered 200 again but its records are counted
 * as duplicates, not as records — so `records` is exactly what a receiver that dedupes would hold.
 *
 * Counting is cheap by default: the body is scanned byte by byte (strings, escapes and nesting tracked, so the
 * count is exact for valid JSON) instead of parsed, because the mock shares the machine's cores with the
 * process being measured. `capture: true` parses every body instead and keeps the records, for tests.
 *
 * Control endpoints: `GET /__stats` answers the stats as JSON; `POST /__reset` zeroes them.
 *
 * As a module: `const mock = await startMockDestination({ latencyMs: 5 }); mock.url; mock.stats(); await mock.close();`
 * Standalone: `node --import tsx bench/mock-destination.ts --port 8787 --latency 5 [--failure-rate 0.01]
 * [--burst429 100:5] [--retry-after 1] [--rate-limit 10 [--rate-limit-mode delay|429]] [--seed 1] [--capture] [--quiet]` — prints the URL on the first line of
 * stdout, and its stats on stderr when stopped (SIGINT/SIGTERM, or stdin closing with `--exit-with-parent`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { isMain } from './lib/entry.ts';

export interface Burst429 {
  /** Window length in requests. */
  readonly every: number;
  /** How many requests at the end of each window are answered 429. */
  readonly count: number;
  /** The Retry-After value sent with each 429, in seconds (default 1). */
  readonly retryAfterSeconds?: number;
}

/**
 * At most `perSecond` data requests a second. `delay` (default): every request is served, but its answer is
 * held until its slot — slots are 1/perSecond apart, given out in arrival order — so a client sees exactly
 * that rate whatever its concurrency, and never an error. `429`: a request arriving when `perSecond`
 * requests were already accepted in the last second is answered 429 with `Retry-After` (whole seconds until
 * the oldest of them leaves the window, at least 1) and not counted.
 */
export interface RateLimit {
  readonly perSecond: number;
  readonly mode?: 'delay' | '429';
}

export interface MockDestinationOptions {
  readonly port?: number;
  readonly host?: string;
  /** Delay before answering each data request, in milliseconds (after its body has arrived). */
  readonly latencyMs?: number;
  /** Fraction (0–1) of data requests answered 503. */
  readonly failureRate?: number;
  readonly burst429?: Burst429;
  readonly rateLimit?: RateLimit;
  /** Seed for the failure-rate draws, so a flaky run is reproducible. */
  readonly seed?: number;
  /** Parse every body and keep its records (see `records()`); for tests, not for benchmarks. */
  readonly capture?: boolean;
}

export interface MockDestinationStats {
  /** Data requests received (any outcome). */
  requests: number;
  /** Requests answered 2xx whose records were counted (first delivery of their idempotency key). */
  accepted: number;
  /** Records delivered: each counted once, however often its batch was resent. */
  records: number;
  /** Requests repeating an idempotency key that was already delivered, and their records. */
  duplicateRequests: number;
  duplicateRecords: number;
  /** Requests answered 503 (failureRate), 429 (burst429 or rateLimit 429) and 400 (unreadable body). */
  failed503: number;
  throttled429: number;
  badRequests: number;
  /** Body bytes received on data requests. */
  bytes: number;
  /** Most data requests being handled at once. */
  maxInFlight: number;
  /** rateLimit `delay`: requests whose answer was held for their slot, and the total time held (ms). */
  delayedRequests: number;
  delayedMs: number;
}

export interface MockDestination {
  /** Where to send batches, e.g. `http://127.0.0.1:8787/records` (any path but `/__*` is accepted). */
  readonly url: string;
  readonly port: number;
  stats(): MockDestinationStats;
  /** Captured records, in arrival order (only with `capture: true`). */
  records(): readonly unknown[];
  reset(): void;
  close(): Promise<void>;
}

type BodyFormat = 'json' | 'ndjson';

/**
 * Counts the elements of a JSON array — the top-level one, or for an object body (an envelope) the first
 * array directly inside it — or the lines of NDJSON, fed chunk by chunk without building the body.
 */
export class RecordCounter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Depth of the elements being counted (1 for a top-level array, 2 in an envelope); 0 until known, -1 once counted. */
  private arrayDepth = 0;
  private done = false;
  private commas = 0;
  private nonEmpty = false;
  private count = 0;
  private started = false;
  private lineHasContent = false;

  constructor(private readonly format: BodyFormat) {}

  push(chunk: Buffer): void {
    if (this.format === 'ndjson') this.pushNdjson(chunk);
    else this.pushJson(chunk);
  }

  /** The record count, or undefined when the body was not well formed enough to count. */
  end(): number | undefined {
    if (this.format === 'ndjson') return this.lineHasContent ? this.count + 1 : this.count;
    if (this.inString || this.depth !== 0 || !this.started) return undefined;
    return this.done ? this.count : undefined;
  }

  private pushNdjson(chunk: Buffer): void {
    // A newline cannot occur raw inside a JSON string, so every line with content is one record.
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === 0x0a) {
        if (this.lineHasContent) this.count++;
        this.lineHasContent = false;
      } else if (byte !== 0x20 && byte !== 0x0d && byte !== 0x09) {
        this.lineHasContent = true;
      }
    }
  }

  private pushJson(chunk: Buffer): void {
    const length = chunk.length;
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    let arrayDepth = this.arrayDepth;
    // The next backslash at or after the cursor; -2 until looked up, -1 when the chunk has no more.
    let nextBackslash = -2;
    let i = 0;
    while (i < length) {
      if (inString) {
        // Jump from quote to quote (native search), stepping over backslash escapes.
        if (escaped) {
          escaped = false;
          i++;
          continue;
        }
        const quote = chunk.indexOf(0x22, i);
        if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = chunk.indexOf(0x5c, i);
        if (nextBackslash !== -1 && (quote === -1 || nextBackslash < quote)) {
          escaped = true;
          i = nextBackslash + 1;
          continue;
        }
        if (quote === -1) break; // the string goes on in the next chunk
        inString = false;
        i = quote + 1;
        continue;
      }
      const byte = chunk[i++]!;
      if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
      if (!this.started) {
        this.started = true;
        if (byte === 0x5b) arrayDepth = 1; // [ — a plain array
      }
      if (depth === arrayDepth && arrayDepth > 0) {
        if (byte === 0x2c) this.commas++;
        else if (byte !== 0x5d) this.nonEmpty = true;
      }
      if (byte === 0x22) inString = true;
      else if (byte === 0x5b || byte === 0x7b) {
        // An envelope: the first array directly inside the top-level object holds the records.
        if (byte === 0x5b && depth === 1 && arrayDepth === 0) arrayDepth = 2;
        depth++;
      } else if (byte === 0x5d || byte === 0x7d) {
        if (depth === arrayDepth && byte === 0x5d) {
          this.count = this.commas + (this.nonEmpty ? 1 : 0);
          this.done = true;
          arrayDepth = -1; // counted: later arrays are not records
        }
        depth--;
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    this.arrayDepth = arrayDepth;
  }
}

/** Mulberry32: a tiny seeded PRNG, so failure draws repeat from run to run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function emptyStats(): MockDestinationStats {
  return {
    requests: 0,
    accepted: 0,
    records: 0,
    duplicateRequests: 0,
    duplicateRecords: 0,
    failed503: 0,
    throttled429: 0,
    badRequests: 0,
    bytes: 0,
    maxInFlight: 0,
    delayedRequests: 0,
    delayedMs: 0,
  };
}

function formatOf(request: IncomingMessage): BodyFormat {
  const type = request.headers['content-type'] ?? '';
  return /ndjson|jsonl|jsonlines/i.test(type) ? 'ndjson' : 'json';
}

/** Parse a whole body into its records (capture mode); undefined when it is not readable. */
function parseRecords(body: string, format: BodyFormat): unknown[] | undefined {
  try {
    if (format === 'ndjson') {
      return body
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
    }
    const value = JSON.parse(body) as unknown;
    if (Array.isArray(value)) return value;
    if (value !== null && typeof value === 'object') {
      const inner = Object.values(value).find((entry) => Array.isArray(entry));
      if (Array.isArray(inner)) return inner as unknown[];
    }
    return undefined;
  } catch {
    return undefined;
  }
}

export async function startMockDestination(options: MockDestinationOptions = {}): Promise<MockDestination> {
  const latencyMs = options.latencyMs ?? 0;
  const failureRate = options.failureRate ?? 0;
  const burst = options.burst429;
  const random = seededRandom(options.seed ?? 1);
  const rateLimit = options.rateLimit;
  if (rateLimit !== undefined && !(rateLimit.perSecond > 0)) throw new Error(`rateLimit.perSecond must be positive, got ${rateLimit.perSecond}`);
  const slotMs = rateLimit === undefined ? 0 : 1000 / rateLimit.perSecond;
  /** `delay`: when the last slot given out falls (performance.now() ms). */
  let lastSlot = Number.NEGATIVE_INFINITY;
  /** `429`: arrival times of the requests accepted in the last second, oldest first. */
  let recentAccepts: number[] = [];
  let stats = emptyStats();
  let delivered = new Set<string>();
  let captured: unknown[] = [];
  let sequence = 0;
  let inFlight = 0;

  const send = (response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
    response.end(body);
  };

  const handleData = (request: IncomingMessage, response: ServerResponse): void => {
    const index = sequence++;
    stats.requests++;
    inFlight++;
    if (inFlight > stats.maxInFlight) stats.maxInFlight = inFlight;
    // Decide the answer on arrival, so the draws follow request order, not body sizes.
    let verdict: 'ok' | 429 | 503 = 'ok';
    let retryAfter = burst?.retryAfterSeconds ?? 1;
    /** rateLimit `delay`: do not answer before this time (performance.now() ms). */
    let notBefore = 0;
    if (burst !== undefined && burst.every > 0 && index % burst.every >= burst.every - burst.count) verdict = 429;
    else if (failureRate > 0 && random() < failureRate) verdict = 503;
    if (verdict === 'ok' && rateLimit !== undefined) {
      const now = performance.now();
      if (rateLimit.mode === '429') {
        while (recentAccepts.length > 0 && recentAccepts[0]! <= now - 1000) recentAccepts.shift();
        if (recentAccepts.length >= rateLimit.perSecond) {
          verdict = 429;
          retryAfter = Math.max(1, Math.ceil((recentAccepts[0]! + 1000 - now) / 1000));
        } else recentAccepts.push(now);
      } else {
        lastSlot = Math.max(now, lastSlot + slotMs);
        notBefore = lastSlot;
      }
    }
    const format = formatOf(request);
    const counter = options.capture ? undefined : new RecordCounter(format);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      stats.bytes += chunk.length;
      if (verdict !== 'ok') return;
      if (counter !== undefined) counter.push(chunk);
      else chunks.push(chunk);
    });
    request.on('end', () => {
      const answer = (): void => {
        inFlight--;
        if (verdict === 429) {
          stats.throttled429++;
          send(response, 429, '{"error":"rate limited"}', { 'retry-after': String(retryAfter) });
          return;
        }
        if (verdict === 503) {
          stats.failed503++;
          send(response, 503, '{"error":"unavailable"}');
          return;
        }
        let records: unknown[] | undefined;
        let count: number | undefined;
        if (counter !== undefined) count = counter.end();
        else {
          records = parseRecords(Buffer.concat(chunks).toString('utf8'), format);
          count = records?.length;
        }
        if (count === undefined) {
          stats.badRequests++;
          send(response, 400, '{"error":"body is not a JSON array, envelope or NDJSON"}');
          return;
        }
        const keyHeader = request.headers['idempotency-key'];
        const key = Array.isArray(keyHeader) ? keyHeader[0] : keyHeader;
        if (key !== undefined && delivered.has(key)) {
          stats.duplicateRequests++;
          stats.duplicateRecords += count;
        } else {
          if (key !== undefined) delivered.add(key);
          stats.accepted++;
          stats.records += count;
          if (records !== undefined) for (const record of records) captured.push(record);
        }
        send(response, 200, `{"received":${count}}`);
      };
      const wait = Math.max(latencyMs, notBefore - performance.now());
      if (notBefore > 0 && wait > latencyMs) {
        stats.delayedRequests++;
        stats.delayedMs += wait;
      }
      if (wait > 0) setTimeout(answer, wait);
      else answer();
    });
    request.on('error', () => {
      // The client went away mid-body: nothing to answer, and `end` will not follow.
      inFlight--;
    });
  };

  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    if (path.startsWith('/__stats')) {
      send(response, 200, JSON.stringify(stats));
      request.resume();
      return;
    }
    if (path.startsWith('/__reset') && request.method === 'POST') {
      reset();
      send(response, 200, '{"reset":true}');
      request.resume();
      return;
    }
    if (request.method === 'OPTIONS' || request.method === 'HEAD') {
      response.writeHead(204, { allow: 'POST, PUT, PATCH, OPTIONS' });
      response.end();
      request.resume();
      return;
    }
    if (request.method === 'POST' || request.method === 'PUT' || request.method === 'PATCH') {
      handleData(request, response);
      return;
    }
    send(response, 405, '{"error":"method not allowed"}', { allow: 'POST, PUT, PATCH, OPTIONS' });
    request.resume();
  });
  // Longer than any client's idle time, so the server never closes a connection a client is about to reuse.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 0;

  function reset(): void {
    stats = emptyStats();
    lastSlot = Number.NEGATIVE_INFINITY;
    recentAccepts = [];
    delivered = new Set();
    captured = [];
    sequence = 0;
  }

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/records`,
    port,
    stats: () => ({ ...stats }),
    records: () => captured,
    reset,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Parse `--burst429 100:5` (window:count) or `100:5:2` (with Retry-After seconds). */
function parseBurst(text: string | undefined): Burst429 | undefined {
  if (text === undefined) return undefined;
  const [every, count, retryAfter] = text.split(':').map(Number);
  if (every === undefined || count === undefined || !Number.isInteger(every) || !Number.isInteger(count) || every <= 0 || count < 0 || count > every) {
    throw new Error(`--burst429 wants <every>:<count>[:<retry-after-seconds>], got ${text}`);
  }
  return retryAfter === undefined || Number.isNaN(retryAfter) ? { every, count } : { every, count, retryAfterSeconds: retryAfter };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      latency: { type: 'string', default: '0' },
      'failure-rate': { type: 'string', default: '0' },
      burst429: { type: 'string' },
      'retry-after': { type: 'string' },
      'rate-limit': { type: 'string' },
      'rate-limit-mode': { type: 'string', default: 'delay' },
      seed: { type: 'string', default: '1' },
      capture: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      // Exit when stdin closes: a parent that spawns the mock cannot leave it behind, even if it crashes.
      'exit-with-parent': { type: 'boolean', default: false },
    },
  });
  let burst = parseBurst(values.burst429);
  if (burst !== undefined && values['retry-after'] !== undefined) burst = { ...burst, retryAfterSeconds: Number(values['retry-after']) };
  const mode = values['rate-limit-mode'];
  if (mode !== 'delay' && mode !== '429') throw new Error(`--rate-limit-mode wants delay or 429, got ${mode}`);
  const perSecond = values['rate-limit'] === undefined ? undefined : Number(values['rate-limit']);
  if (perSecond !== undefined && !(perSecond > 0)) throw new Error(`--rate-limit wants a positive number of requests per second, got ${values['rate-limit']}`);
  const mock = await startMockDestination({
    port: Number(values.port),
    host: values.host,
    latencyMs: Number(values.latency),
    failureRate: Number(values['failure-rate']),
    ...(burst === undefined ? {} : { burst429: burst }),
    ...(perSecond === undefined ? {} : { rateLimit: { perSecond, mode } }),
    seed: Number(values.seed),
    capture: values.capture,
  });
  process.stdout.write(`${mock.url}\n`);
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    if (!values.quiet) process.stderr.write(`mock destination: ${JSON.stringify(mock.stats())}\n`);
    void mock.close().finally(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  if (values['exit-with-parent']) {
    process.stdin.on('end', shutdown);
    process.stdin.on('close', shutdown);
    process.stdin.resume();
  }
}

if (isMain(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`mock destination: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
