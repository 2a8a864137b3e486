/**
 * A tiny preload for measured child processes: on exit it writes the process's peak resident set size
 * (`process.resourceUsage().maxRSS`, in kilobytes) to the file named by `BENCH_RSS_FILE`, so the floor and
 * Sluice are measured the same way, by the kernel, including everything up to the last moment. A second
 * line holds the process's user and system CPU time in microseconds (all threads), a figure that noisy
 * neighbours disturb far less than wall time.
 *
 * Plain JavaScript, so a measured process that runs compiled code need not load tsx just for this:
 * `node --import ./bench/report-rss.mjs …`. It uses nothing but node:fs.
 */
import { writeFileSync } from 'node:fs';

const target = process.env.BENCH_RSS_FILE;
if (target !== undefined && target !== '') {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(target, `${usage.maxRSS}\n${usage.userCPUTime} ${usage.systemCPUTime}\n`);
  });
}
