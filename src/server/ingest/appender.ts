/**
 * Group commit for the event log: requests that arrive while an append is being written are written
 * together by the next one — one statement (one transaction) for many requests, each answered once it is
 * committed. At low load every request is written at once, alone; under load the per-statement cost is
 * shared. Bounded: a group holds at most `maxEvents` events.
 */
import type { Database } from '../../store/db.ts';
import { type EventAppend, type EventRejectInput, appendEvents } from '../../store/events.ts';

interface Pending extends EventAppend {
  resolve(): void;
  reject(error: unknown): void;
}

export class EventAppender {
  private pending: Pending[] = [];
  private writing = false;

  constructor(
    private readonly db: Database,
    private readonly maxEvents = 5000,
  ) {}

  /**
   * Resolves once the events (and the request's rejected events) are committed to the log (duplicates of
   * logged events are dropped).
   */
  append(source: string, events: EventAppend['events'], receivedAt: string, rejected: readonly EventRejectInput[] = []): Promise<void> {
    if (events.length === 0 && rejected.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ source, events, receivedAt, rejected, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        let count = 0;
        let take = 0;
        while (take < this.pending.length && (take === 0 || count + this.pending[take]!.events.length <= this.maxEvents)) {
          count += this.pending[take]!.events.length;
          take++;
        }
        const group = this.pending.splice(0, take);
        try {
          await appendEvents(this.db, group);
          for (const item of group) item.resolve();
        } catch (error) {
          for (const item of group) item.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
