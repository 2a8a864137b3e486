/**
 * The suite can fail: a conforming fake destination passes every check, and each flaw switched on fails
 * the check that guards that promise — with a message that says what broke.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Flaw, fakeDestination } from './fixtures/fake-destination.ts';
import { readJsonLines } from './inspect.ts';
import { runDestinationConformance } from './conformance/destination.ts';
import { looksSecret } from './conformance/spec.ts';
import type { DestinationConformanceOptions } from './types.ts';

const options = (module = 'fake-destination.ts'): DestinationConformanceOptions => ({
  validConfig: ({ dir }) => ({ path: join(dir, 'out.jsonl'), api_key: 'fake-secret-key-42' }),
  invalidConfig: ({ dir }) => ({ path: join(dir, 'missing', 'out.jsonl') }),
  inspect: ({ dir }) => readJsonLines(join(dir, 'out.jsonl')),
  module: new URL(`./fixtures/${module}`, import.meta.url),
});

/** The failed checks and their messages; the kill -9 check (seconds) runs only when a module is named. */
async function failures(flaws: readonly Flaw[], module?: string): Promise<Record<string, string>> {
  const skip: Record<string, string> = module === undefined ? { 'destination.resume-after-kill': 'not under test here' } : {};
  const report = await runDestinationConformance(fakeDestination(flaws), { ...options(module), skip });
  return Object.fromEntries(report.results.filter((result) => result.status === 'fail').map((result) => [result.id, result.message]));
}

describe('the destination conformance suite', () => {
  it('passes a conforming destination on every check', async () => {
    const report = await runDestinationConformance(fakeDestination(), options());
    expect(report.results.filter((result) => result.status !== 'pass')).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('fails a loose spec: unknown keys, missing descriptions, unmarked credentials', async () => {
    const failed = await failures(['loose-spec']);
    expect(failed['spec.unknown-keys']).toMatch(/z\.strictObject/);
    expect(failed['spec.descriptions']).toMatch(/no description: note/);
    expect(failed['spec.secrets']).toMatch(/not marked secret: token/);
  });

  it('fails a check that leaks a secret or throws', async () => {
    expect((await failures(['leaky-check']))['check.invalid']).toMatch(/reveals a secret/);
    expect((await failures(['throwing-check']))['check.invalid']).toMatch(/check threw/);
  });

  it('fails a write that returns too few outcomes', async () => {
    const failed = await failures(['short-outcomes']);
    expect(failed['destination.outcomes']).toMatch(/a batch of 1 records got 0 outcomes/);
    expect(failed['destination.batch-limits']).toMatch(/outcomes for/);
  });

  it('fails a write that logs a secret', async () => {
    expect((await failures(['logs-secret']))['destination.outcomes']).toMatch(/secret value appeared in a log line/);
  });

  it('fails a destination that reports records delivered before they are written, and loses them on kill -9', async () => {
    const failed = await failures(['buffers-until-close'], 'lossy-destination.ts');
    expect(failed['destination.state-order']).toMatch(/cannot be read back/);
    expect(failed['destination.resume-after-kill']).toMatch(/records were lost/);
  });
});

describe('names that look secret', () => {
  it('are credentials, not settings about them', () => {
    const secret = ['password', 'api_key', 'apiKey', 'client_secret', 'access_token', 'private_key', 'db_passphrase', 'credentials'];
    const plain = ['envelope_key', 'token_url', 'max_tokens', 'client_id', 'secret_name', 'partition_key', 'author', 'passenger_count'];
    expect(secret.filter((name) => !looksSecret(name))).toEqual([]);
    expect(plain.filter(looksSecret)).toEqual([]);
  });
});
