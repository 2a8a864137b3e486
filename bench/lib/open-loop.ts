/**
 * An open-loop, constant-rate HTTP load: request k is due at `start + k / rate`, sent at its due time
 * whether or not earlier ones have answered (over as many connections as that takes), and its latency is
 * measured from its due time, not from when it was sent. So a stall on the server or in this process
 * counts against every request that should have gone out meanwhile (no coordinated omission), and the
 * load is spread evenly over each second. autocannon's `overallRate` instead lets each connection send
 * back to back until its quota for the second is used, then wait: bursts of `connections` concurrent
 * requests at the start of every second, whose queueing is what its latency then measures.
 */
import { Pool } from 'undici';

export interface OpenLoopResult {
  readonly sent: number;
  readonly ok: number;
  readonly errors: number;
  readonly seconds: number;
  /** Milliseconds from due time to the response's end. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** First error seen, for the report. */
  readonly firstError?: string;
}

export interface OpenLoopOptions {
  readonly url: string;
  readonly rate: number;
  readonly seconds: number;
  readonly headers: Record<string, string>;
  /** The body of request `k`: a POST; without it, a GET. */
  readonly body?: (k: number) => string;
  /** Upper bound on open connections (default 256). */
  readonly maxConnections?: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const url = new URL(options.url);
  const pool = new Pool(url.origin, { connections: options.maxConnections ?? 256, pipelining: 1 });
  const total = Math.round(options.rate * options.seconds);
  const intervalMs = 1000 / options.rate;
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const inFlight = new Set<Promise<void>>();

  const send = (k: number, due: number) => {
    const done = pool
      .request({
        path: `${url.pathname}${url.search}`,
        method: options.body === undefined ? 'GET' : 'POST',
        headers: options.headers,
        ...(options.body === undefined ? {} : { body: options.body(k) }),
      })
      .then(async (response) => {
        await response.body.dump();
        latencies.push(performance.now() - due);
        if (response.statusCode >= 200 && response.statusCode < 300) ok++;
        else {
          errors++;
          firstError ??= `HTTP ${response.statusCode}`;
        }
      })
      .catch((error: unknown) => {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  const start = performance.now() + 5;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) {
        send(next, start + next * intervalMs);
        next++;
      }
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
    };
    setTimeout(tick, 5);
  });
  while (inFlight.size > 0) await Promise.all([...inFlight]);
  await pool.close();
  const sorted = latencies.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    sent: total,
    ok,
    errors,
    seconds: options.seconds,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
    ...(firstError === undefined ? {} : { firstError }),
  };
}
