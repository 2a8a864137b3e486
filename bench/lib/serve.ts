/**
 * The real `sluice serve` (compiled) as a benchmark's child process: on a free port, with the given
 * environment, ready once `/healthz` answers; `stop` sends SIGTERM and waits for the exit.
 *
 * For looking into a result: `BENCH_SERVE_FLAGS` adds Node flags to the server (e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/prof`), and `BENCH_SERVE_STDOUT=1` shows its output instead of discarding it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { REPO_ROOT } from './measure.ts';
import { SLUICE_BIN, SLUICE_ENV } from './sluice-cli.ts';

export interface Served {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startServe(env: Record<string, string>, extraArgs: readonly string[] = []): Promise<Served> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(process.env.BENCH_SERVE_FLAGS ?? '').split(' ').filter(Boolean), SLUICE_BIN, 'serve', '--port', String(port), '--no-banner', ...extraArgs], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...SLUICE_ENV, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', process.env.BENCH_SERVE_STDOUT ? 'inherit' : 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    if (process.env.BENCH_SERVE_STDOUT) process.stderr.write(chunk);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sluice serve exited with ${child.exitCode}: ${stderr}`);
    try {
      const response = await request(`${url}/healthz`);
      await response.body.dump();
      if (response.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`sluice serve did not answer /healthz within 60 s: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
