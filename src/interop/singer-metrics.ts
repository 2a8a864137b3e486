/**
 * Singer metrics on stderr, in singer-python's format, which Meltano and other runners parse:
 * `INFO METRIC: {"type":"counter","metric":"record_count","value":N,"tags":{"endpoint":"<stream>"}}`.
 * Like singer-python's counters, each line counts the records since the stream's previous line; lines are
 * written every interval (60 s by default) for streams that moved, and once more at the end.
 */
import { singerMetricLine } from '../protocol/singer.ts';

export const METRICS_INTERVAL_MS = 60_000;

export class RecordMetrics {
  private readonly counts = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly emit: (line: string) => void,
    intervalMs: number = METRICS_INTERVAL_MS,
  ) {
    this.timer = setInterval(() => this.report(), intervalMs).unref();
  }

  count(stream: string): void {
    this.counts.set(stream, (this.counts.get(stream) ?? 0) + 1);
  }

  /** Stop the timer and report what is left. */
  stop(): void {
    clearInterval(this.timer);
    this.report();
  }

  private report(): void {
    for (const [stream, value] of this.counts) {
      if (value > 0) this.emit(singerMetricLine('record_count', value, { endpoint: stream }));
      this.counts.set(stream, 0);
    }
  }
}
