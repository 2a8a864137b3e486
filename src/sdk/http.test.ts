import { describe, expect, it } from 'vitest';
import { RETRY_AFTER_CAP_MS, outcomeForHttpResponse, parseRetryAfter, readBodyCapped } from './http.ts';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('3', now)).toBe(now + 3000);
  });
  it('reads an HTTP-date', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(now + 10_000);
  });
  it('caps long waits and floors past dates at now', () => {
    expect(parseRetryAfter('99999', now)).toBe(now + RETRY_AFTER_CAP_MS);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(now);
  });
  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('outcomeForHttpResponse', () => {
  it('rejects a 400 with an excerpt of the body, retries a 503 with its Retry-After', () => {
    expect(outcomeForHttpResponse(400, undefined, '{"error":"email is invalid"}')).toEqual({ status: 'rejected', reason: 'HTTP 400: {"error":"email is invalid"}' });
    const outcome = outcomeForHttpResponse(503, '2', '');
    expect(outcome.status).toBe('retry');
    expect(outcome.status === 'retry' && outcome.notBefore! - Date.now()).toBeGreaterThan(1000);
  });
});

describe('readBodyCapped', () => {
  async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
    for (const part of parts) yield new TextEncoder().encode(part);
  }

  it('reads a whole body under the cap, and stops at the cap', async () => {
    expect(await readBodyCapped(chunks('{"a":', '1}'), 100)).toBe('{"a":1}');
    expect(await readBodyCapped(chunks('0123', '4567', '89ab'), 6)).toBe('012345');
  });
});
