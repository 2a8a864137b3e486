import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.ts';

describe('createMetrics', () => {
  it('renders run, record and HTTP series after they are recorded', async () => {
    const metrics = createMetrics();
    metrics.runFinished({ activation: 'orders_to_api', status: 'succeeded', delivered: 98, rejected: 2, durationSeconds: 12.5 });
    metrics.runFinished({ activation: 'orders_to_api', status: 'failed', delivered: 0, rejected: 0, durationSeconds: 0.4 });
    metrics.httpRequest({ method: 'get', route: '/runs/:id', status: 200, seconds: 0.003 });
    metrics.httpRequest({ method: 'GET', route: '/runs/:id', status: 404, seconds: 0.002 });

    const { contentType, body } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('sluice_runs_total{activation="orders_to_api",status="succeeded"} 1');
    expect(body).toContain('sluice_runs_total{activation="orders_to_api",status="failed"} 1');
    expect(body).toContain('sluice_records_total{activation="orders_to_api",outcome="delivered"} 98');
    expect(body).toContain('sluice_records_total{activation="orders_to_api",outcome="rejected"} 2');
    expect(body).toContain('sluice_run_duration_seconds_bucket{le="15",activation="orders_to_api"} 2');
    expect(body).toContain('sluice_run_duration_seconds_bucket{le="1",activation="orders_to_api"} 1');
    expect(body).toContain('sluice_run_duration_seconds_count{activation="orders_to_api"} 2');
    expect(body).toContain('sluice_run_duration_seconds_sum{activation="orders_to_api"} 12.9');
    expect(body).toContain('sluice_http_requests_total{method="GET",route="/runs/:id",status="200"} 1');
    expect(body).toContain('sluice_http_requests_total{method="GET",route="/runs/:id",status="404"} 1');
    expect(body).toContain('sluice_http_request_duration_seconds_count{method="GET",route="/runs/:id"} 2');
    expect(body).toContain('sluice_process_cpu_user_seconds_total');
    expect(body).toContain('sluice_nodejs_heap_size_used_bytes');
    expect(body).toContain('# TYPE sluice_queue_runs gauge');
  });

  it('asks for the queue depth at each scrape', async () => {
    let depth: Record<string, number> = { queued: 3, running: 1 };
    const metrics = createMetrics({ queueDepth: async () => depth });
    let { body } = await metrics.render();
    expect(body).toContain('sluice_queue_runs{status="queued"} 3');
    expect(body).toContain('sluice_queue_runs{status="running"} 1');
    depth = { running: 2 };
    ({ body } = await metrics.render());
    expect(body).toContain('sluice_queue_runs{status="running"} 2');
    expect(body).not.toContain('sluice_queue_runs{status="queued"}');
  });

  it('still answers a scrape when the queue cannot be read', async () => {
    const metrics = createMetrics({ queueDepth: () => Promise.reject(new Error('database is down')) });
    const { body } = await metrics.render();
    expect(body).toContain('# TYPE sluice_queue_runs gauge');
    expect(body).not.toContain('sluice_queue_runs{');
    expect(body).toContain('sluice_process_cpu_user_seconds_total');
  });

  it('keeps each instance on its own registry', async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.runFinished({ activation: 'a', status: 'succeeded', delivered: 1, rejected: 0, durationSeconds: 1 });
    expect((await second.render()).body).not.toContain('sluice_runs_total{');
    expect(await globalRegistry.metrics()).not.toContain('sluice_');
  });
});
