/**
 * Admission to the destination: at most `concurrency` requests in flight, at most `requestsPerSecond`
 * started per second (a token bucket with a burst of one second's worth), and a shared pause — when the
 * destination says `Retry-After`, no request at all is sent before that time.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class Admission {
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];
  private tokens: number;
  private lastRefill = Date.now();
  private pausedUntil = 0;

  constructor(
    private readonly concurrency: number,
    private readonly requestsPerSecond: number,
  ) {
    this.tokens = Math.max(1, requestsPerSecond);
  }

  /** Hold back every request until this epoch-ms time. */
  pauseUntil(time: number): void {
    if (time > this.pausedUntil) this.pausedUntil = time;
  }

  /** Wait for a slot, the rate and any pause; returns a release function. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.inFlight >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    } else {
      this.inFlight++;
    }
    try {
      await this.waitForRateAndPause(signal);
    } catch (error) {
      this.release();
      throw error;
    }
    return () => this.release();
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next(); // hand the slot over directly: inFlight stays the same
    else this.inFlight--;
  }

  private async waitForRateAndPause(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = Date.now();
      if (now < this.pausedUntil) {
        await sleep(this.pausedUntil - now, undefined, { signal });
        continue;
      }
      if (this.requestsPerSecond <= 0) return;
      this.tokens = Math.min(this.requestsPerSecond, this.tokens + ((now - this.lastRefill) / 1000) * this.requestsPerSecond);
      this.lastRefill = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / this.requestsPerSecond) * 1000), undefined, { signal });
    }
  }
}
