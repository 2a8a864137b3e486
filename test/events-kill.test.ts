/**
 * Kill -9 under load: `sluice serve` (embedded store) in a child process takes batches of events from
 * several concurrent senders; it is killed with SIGKILL mid-stream and started again on the same
 * SLUICE_HOME. Every event that got a 200 before the kill is delivered to the receiver after the restart
 * (an event may arrive twice only when its batch was in flight at the kill).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WRITE_KEY, basicAuth, eventConfig, waitFor } from './support/events.ts';
import { type Receiver, startReceiver } from './support/receiver.ts';

const BIN = new URL('../bin/sluice.js', import.meta.url).pathname;

let dir: string;
let receiver: Receiver;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-events-kill-'));
  receiver = await startReceiver();
  const config = eventConfig([{ name: 'web_to_api', url: receiver.url, mapping: { id: 'messageId', user: 'userId' }, destination: { batch_size: 200 } }]);
  await writeFile(join(dir, 'sluice.json'), JSON.stringify(config));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await receiver?.close();
  await rm(dir, { recursive: true, force: true });
});

async function serve(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--config', join(dir, 'sluice.json')], {
    cwd: dir,
    env: { ...process.env, SLUICE_HOME: join(dir, 'home'), DATABASE_URL: '', SLUICE_API_KEY: 'slk_kill_test_key_0000000000000000', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-4000)));
  const url = await waitFor('the serve banner', () => {
    if (child.exitCode !== null) throw new Error(`sluice serve exited ${child.exitCode}: ${err}`);
    return /serving on (http:\/\/\S+)/.exec(out)?.[1];
  }, 60_000);
  return { child, url };
}

function exited(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', resolve));
}

describe('kill -9 under load', () => {
  it('delivers every event that got a 200, after a restart', async () => {
    const first = await serve();
    const acknowledged = new Set<string>();
    let sent = 0;
    let stop = false;
    const sender = async (lane: number) => {
      for (let n = 0; !stop; n++) {
        const ids = Array.from({ length: 100 }, (_, i) => `k-${lane}-${n}-${i}`);
        const body = JSON.stringify({ batch: ids.map((id, i) => ({ type: 'track', userId: `user-${i % 17}`, event: 'Load', messageId: id })) });
        sent++;
        try {
          const response = await request(`${first.url}/v1/batch`, { method: 'POST', headers: { authorization: basicAuth(WRITE_KEY), 'content-type': 'application/json' }, body });
          await response.body.dump();
          if (response.statusCode === 200) for (const id of ids) acknowledged.add(id);
        } catch {
          return; // the server is gone
        }
      }
    };
    const senders = [0, 1, 2, 3].map(sender);
    await waitFor('some load', () => acknowledged.size >= 3000 && receiver.requests.length > 0, 30_000);
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(senders);
    await exited(first.child);
    const beforeRestart = new Set(receiver.acceptedIds());
    expect(acknowledged.size).toBeGreaterThan(0);

    const second = await serve();
    const missing = await waitFor(
      'every acknowledged event at the receiver',
      () => {
        const delivered = new Set(receiver.acceptedIds());
        const left = [...acknowledged].filter((id) => !delivered.has(id));
        return left.length === 0 ? left : undefined;
      },
      45_000,
    ).catch(() => [...acknowledged].filter((id) => !new Set(receiver.acceptedIds()).has(id)));
    expect(missing.slice(0, 5)).toEqual([]);
    // Repeats only from what was in flight: at most a couple of chunks' worth.
    const all = receiver.acceptedIds();
    const repeats = all.length - new Set(all).size;
    expect(repeats).toBeLessThanOrEqual(4000);
    console.log(`kill -9: ${acknowledged.size} events acknowledged of ${sent * 100} sent; ${beforeRestart.size} delivered before the restart; ${repeats} delivered twice`);
    second.child.kill('SIGTERM');
    await exited(second.child);
  });
});
