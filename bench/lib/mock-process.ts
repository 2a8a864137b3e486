/**
 * The mock destination in its own process, so its work (parsing requests, counting records) runs on its own
 * event loop instead of the measured process's. Spawned as `node --import tsx bench/mock-destination.ts
 * --port 0 --exit-with-parent --quiet …`; the URL is the first line it prints. Stats and reset go through its
 * control endpoints (`GET /__stats`, `POST /__reset`).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { MockDestinationStats } from '../mock-destination.ts';
import { REPO_ROOT } from './measure.ts';

const MOCK_SCRIPT = fileURLToPath(new URL('../mock-destination.ts', import.meta.url));

export interface MockProcess {
  readonly url: string;
  readonly pid: number;
  stats(): Promise<MockDestinationStats>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Start the mock; `args` are its command-line options (e.g. `['--latency', '5']`). */
export async function spawnMockDestination(args: readonly string[] = []): Promise<MockProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MOCK_SCRIPT, '--port', '0', '--exit-with-parent', '--quiet', ...args], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('mock destination did not start within 30 s')), 30_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line.trim());
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mock destination exited (code ${code}) before printing its URL`));
    });
  });
  if (!/^https?:\/\//.test(url)) throw new Error(`mock destination printed ${JSON.stringify(url)}, not a URL`);
  const control = new URL('/', url);

  const call = async (method: 'GET' | 'POST', path: string): Promise<unknown> => {
    const response = await request(new URL(path, control), { method });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`mock destination ${path}: HTTP ${response.statusCode} ${text}`);
    return JSON.parse(text) as unknown;
  };

  return {
    url,
    pid: child.pid ?? -1,
    stats: async () => (await call('GET', '/__stats')) as MockDestinationStats,
    reset: async () => {
      await call('POST', '/__reset');
    },
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      lines.close();
    },
  };
}
