/**
 * Retry policy: exponential backoff with full jitter (delay drawn uniformly from 0 to
 * min(cap, base · 2^(attempt−1))), so that many clients retrying at once spread out instead of
 * stampeding. A record is retried until `maxAttempts` sends or `maxElapsedMs` since its first send,
 * whichever comes first; then it is rejected with the last reason.
 */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly maxElapsedMs: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 20,
  maxElapsedMs: 10 * 60_000,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
};

export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Whether another attempt is allowed after `attempts` sends that began at `firstAttemptAt`. */
export function mayRetry(attempts: number, firstAttemptAt: number, policy: RetryPolicy, now = Date.now()): boolean {
  return attempts < policy.maxAttempts && now - firstAttemptAt < policy.maxElapsedMs;
}
