/**
 * A live progress line for `sluice run` on a terminal: counters and the current rate. Off a terminal it
 * prints nothing — logs and the final summary carry the information instead.
 */
import { SingleBar } from 'cli-progress';
import type { RunCounters } from '../engine/types.ts';

export interface Progress {
  update(counters: Readonly<RunCounters>): void;
  stop(): void;
}

const number = new Intl.NumberFormat('en-US');

export function createProgress(activation: string, enabled: boolean): Progress {
  if (!enabled) return { update() {}, stop() {} };
  const started = Date.now();
  const bar = new SingleBar(
    {
      format: `${activation} | {duration_formatted} | read {read} | delivered {delivered} | rejected {rejected} | retried {retried} | {rate} records/s`,
      hideCursor: true,
      stream: process.stderr,
      clearOnComplete: true,
    },
  );
  bar.start(1, 0, { read: 0, delivered: 0, rejected: 0, retried: 0, rate: 0 });
  return {
    update(counters) {
      const seconds = (Date.now() - started) / 1000;
      bar.update(0, {
        read: number.format(counters.read),
        delivered: number.format(counters.delivered),
        rejected: number.format(counters.rejected),
        retried: number.format(counters.retried),
        rate: number.format(seconds > 0 ? Math.round(counters.read / seconds) : 0),
      });
    },
    stop() {
      bar.stop();
    },
  };
}
