/**
 * Helpers for event tests: a config with an `events` source and activations to http receivers, tracking
 * requests through `app.inject` with a write key, and a wait for a condition.
 */
import type { FastifyInstance } from 'fastify';

export const WRITE_KEY = 'wk_test_0123456789abcdef';

export function basicAuth(key: string = WRITE_KEY): string {
  return `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
}

export interface EventActivationSpec {
  readonly name: string;
  readonly url: string;
  readonly filter?: Record<string, unknown>;
  readonly mapping?: Record<string, unknown>;
  readonly destination?: Record<string, unknown>;
  readonly retry?: Record<string, unknown>;
}

/** A config with the `web` events source and one http destination per activation. */
export function eventConfig(activations: readonly EventActivationSpec[], writeKeys: readonly string[] = [WRITE_KEY]) {
  return {
    sources: { web: { type: 'events', write_keys: writeKeys } },
    destinations: Object.fromEntries(activations.map((activation) => [`to_${activation.name}`, { type: 'http', url: activation.url, ...activation.destination }])),
    activations: activations.map((activation) => ({
      name: activation.name,
      source: { $ref: '#/sources/web' },
      destination: { $ref: `#/destinations/to_${activation.name}` },
      ...(activation.filter === undefined ? {} : { filter: activation.filter }),
      ...(activation.mapping === undefined ? {} : { mapping: activation.mapping }),
      ...(activation.retry === undefined ? {} : { retry: activation.retry }),
    })),
  };
}

export async function track(app: FastifyInstance, path: string, body: unknown, headers: Record<string, string> = { authorization: basicAuth() }) {
  const response = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
