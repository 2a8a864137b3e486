/**
 * Prometheus metrics for `sluice serve`, on a registry of their own (never prom-client's global one, so two
 * servers in one process — or tests — do not share series). Exposed series:
 * - process/Node defaults, prefixed `sluice_` (CPU, memory, event loop lag, GC, …);
 * - `sluice_runs_total{activation,status}` and `sluice_records_total{activation,outcome}` (delivered|rejected),
 *   `sluice_run_duration_seconds{activation}` — counted when a run finishes;
 * - `sluice_http_requests_total{method,route,status}`, `sluice_http_request_duration_seconds{method,route}` —
 *   `route` must be the route pattern (`/runs/:id`), not the raw URL, to keep label sets bounded;
 * - `sluice_queue_runs{status}` — read at scrape time from the `queueDepth` callback. If the callback fails,
 *   the scrape still succeeds and this gauge has no series (absence, not a stale or zero value).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A finished run's status (the terminal states of `sluice.runs.status`). */
export type FinishedRunStatus = 'succeeded' | 'failed' | 'interrupted' | 'cancelled';

export interface MetricsOptions {
  /** Runs per queue status (e.g. `{ queued: 3, running: 1 }`), called on each scrape. */
  readonly queueDepth?: () => Promise<Record<string, number>>;
}

export interface RunFinished {
  readonly activation: string;
  readonly status: FinishedRunStatus;
  readonly delivered: number;
  readonly rejected: number;
  readonly durationSeconds: number;
}

export interface HttpRequestObserved {
  readonly method: string;
  /** The route pattern, e.g. `/activations/:name/runs`. */
  readonly route: string;
  readonly status: number;
  readonly seconds: number;
}

export interface Metrics {
  readonly registry: Registry;
  runFinished(run: RunFinished): void;
  httpRequest(request: HttpRequestObserved): void;
  /** Tracking API: events committed to the event log, per event source. */
  eventsAccepted?(source: string, count: number): void;
  /** Tracking API: events of accepted batches rejected by a per-event rule. */
  eventsRejected?(source: string, count: number): void;
  /** Event delivery: events settled per activation, as `delivered` or `dead_lettered`. */
  eventsSettled?(activation: string, outcome: 'delivered' | 'dead_lettered', count: number): void;
  render(): Promise<{ contentType: string; body: string }>;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'sluice_' });

  const runs = new Counter({ name: 'sluice_runs_total', help: 'Finished runs.', labelNames: ['activation', 'status'] as const, registers });
  const records = new Counter({
    name: 'sluice_records_total',
    help: 'Records settled by finished runs.',
    labelNames: ['activation', 'outcome'] as const,
    registers,
  });
  const runDuration = new Histogram({
    name: 'sluice_run_duration_seconds',
    help: 'Wall time of finished runs.',
    labelNames: ['activation'] as const,
    buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600],
    registers,
  });
  const httpRequests = new Counter({
    name: 'sluice_http_requests_total',
    help: 'HTTP requests answered by the API.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'sluice_http_request_duration_seconds',
    help: 'Time to answer HTTP requests.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const eventsAccepted = new Counter({
    name: 'sluice_events_accepted_total',
    help: 'Tracking events committed to the event log, by event source.',
    labelNames: ['source'] as const,
    registers,
  });
  const eventsRejected = new Counter({
    name: 'sluice_events_rejected_total',
    help: 'Tracking events of accepted batches rejected by a per-event rule (kept in the rejects ledger), by event source.',
    labelNames: ['source'] as const,
    registers,
  });
  const eventsSettled = new Counter({
    name: 'sluice_events_settled_total',
    help: 'Tracking events settled by event activations: delivered or dead-lettered.',
    labelNames: ['activation', 'outcome'] as const,
    registers,
  });
  const queueDepth = options.queueDepth;
  new Gauge({
    name: 'sluice_queue_runs',
    help: 'Runs in the queue, by status, at scrape time.',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      this.reset();
      if (!queueDepth) return;
      let depth: Record<string, number>;
      try {
        depth = await queueDepth();
      } catch {
        return;
      }
      for (const [status, count] of Object.entries(depth)) this.set({ status }, count);
    },
  });

  return {
    registry,
    runFinished({ activation, status, delivered, rejected, durationSeconds }) {
      runs.inc({ activation, status });
      // inc(0) still creates the series, so a rate() over it starts from the first run.
      records.inc({ activation, outcome: 'delivered' }, delivered);
      records.inc({ activation, outcome: 'rejected' }, rejected);
      runDuration.observe({ activation }, durationSeconds);
    },
    httpRequest({ method, route, status, seconds }) {
      httpRequests.inc({ method: method.toUpperCase(), route, status: String(status) });
      httpDuration.observe({ method: method.toUpperCase(), route }, seconds);
    },
    eventsAccepted(source, count) {
      eventsAccepted.inc({ source }, count);
    },
    eventsRejected(source, count) {
      eventsRejected.inc({ source }, count);
    },
    eventsSettled(activation, outcome, count) {
      eventsSettled.inc({ activation, outcome }, count);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
