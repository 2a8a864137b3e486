/**
 * The Singer/Airbyte rule, measured from outside: a target must not print a state before every record
 * that came before it has been acknowledged by the destination. A local HTTP server acknowledges batches
 * slowly; we note when each batch is acknowledged and when each state line appears on the target's stdout.
 */
import type { ServerResponse } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver } from '../support/receiver.ts';
import { sluice, tempDir } from './support.ts';

const DELAY_MS = 150;
let receiver: Receiver;
/** Per batch: the ids it carried and when the answer was sent. */
const acks: Array<{ ids: number[]; at: number }> = [];

beforeAll(async () => {
  receiver = await startReceiver(async (request, _index, res: ServerResponse) => {
    await sleep(DELAY_MS);
    acks.push({ ids: request.records.map((record) => record.id as number), at: Date.now() });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
afterAll(async () => {
  await receiver.close();
});

describe('singer target state ordering', () => {
  it('prints each state only after the batches holding every record before it were acknowledged', async () => {
    const dir = await tempDir();
    const config = join(dir, 'http.json');
    await writeFile(config, JSON.stringify({ url: receiver.url, batch_size: 2, max_wait_ms: 20, concurrency: 2 }));
    const input: string[] = [];
    for (let id = 1; id <= 12; id++) {
      input.push(JSON.stringify({ type: 'RECORD', stream: 'events', record: { id } }));
      if (id % 3 === 0) input.push(JSON.stringify({ type: 'STATE', value: { upto: id } }));
    }
    const seen: Array<{ upto: number; at: number }> = [];
    let pending = '';
    const result = await sluice(['singer', 'target', 'http', '--config', config], {
      stdin: input.join('\n'),
      onStdout: (chunk, at) => {
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop()!;
        for (const line of parts) seen.push({ upto: (JSON.parse(line) as { upto: number }).upto, at });
      },
    });
    expect(result.code).toBe(0);
    expect(seen.map((state) => state.upto)).toEqual([3, 6, 9, 12]);
    expect(receiver.acceptedIds().sort((a, b) => (a as number) - (b as number))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const state of seen) {
      const covering = acks.filter((ack) => ack.ids.some((id) => id <= state.upto));
      const lastAck = Math.max(...covering.map((ack) => ack.at));
      expect(state.at, `state upto ${state.upto}`).toBeGreaterThanOrEqual(lastAck);
    }
    // The slow answers mattered: the last state could not appear before the last acknowledgement.
    expect(seen.at(-1)!.at).toBeGreaterThanOrEqual(Math.max(...acks.map((ack) => ack.at)));
  });
});
