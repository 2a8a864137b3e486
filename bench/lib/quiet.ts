/**
 * Noisy neighbours: these machines are shared (2 cores, other jobs running tests), so before each measured run
 * the harness samples how busy the machine is from /proc/stat and waits — up to a limit — until it is quiet.
 * The busy fraction seen before each run is reported with it, so a slow outlier can be explained.
 * Outside Linux (no /proc/stat) the machine counts as quiet.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

function readCpuTimes(): CpuTimes | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: idle and iowait are the idle part.
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** The fraction (0–1) of all cores' time that was busy over the next `sampleMs`; 0 when unknown. */
export async function busyFraction(sampleMs = 1000): Promise<number> {
  const before = readCpuTimes();
  await sleep(sampleMs);
  const after = readCpuTimes();
  if (before === undefined || after === undefined || after.total <= before.total) return 0;
  return (after.busy - before.busy) / (after.total - before.total);
}

/**
 * Wait until the machine is less than `threshold` busy (sampled over a second), or `maxWaitMs` has passed.
 * Returns the last busy fraction seen.
 */
export async function waitForQuiet(threshold = 0.15, maxWaitMs = 60_000): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const busy = await busyFraction();
    if (busy < threshold || Date.now() >= deadline) return busy;
  }
}
