/**
 * The embedded event log in its worker thread: migrated on open, appends and reads in order with
 * deduplication, cursor moves with dead letters in one statement, replays, and data kept across a reopen.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventLog } from './event-log.ts';
import { advanceCursor, appendEvents, claimCursor, dumpEvents, eventRejectCounts, listDeadLetters, listEventRejects, pruneEvents, readEvents, replayDeadLetters } from './events.ts';

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-event-log-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const event = (id: string) => ({ messageId: id, json: JSON.stringify({ type: 'track', event: 'E', userId: 'u', messageId: id, receivedAt: new Date().toISOString() }) });
const received = () => new Date().toISOString();

describe('openEventLog', () => {
  it('keeps the event log in a worker-thread PGlite that survives a reopen', async () => {
    let log = await openEventLog(home);
    try {
      expect(
        await appendEvents(log, [
          { source: 'web', receivedAt: received(), events: [event('a'), event('b'), event('a')] },
          { source: 'app', receivedAt: received(), events: [event('a')] },
        ]),
      ).toBe(3);
      expect(await appendEvents(log, [{ source: 'web', receivedAt: received(), events: [event('b'), event('c')] }])).toBe(1);
      expect(await appendEvents(log, [{ source: 'web', receivedAt: received(), events: [event('c')] }])).toBe(0);
      const page = await readEvents(log, 'web', 'act', 0, 10);
      expect(page.events.map((row) => row.event.messageId)).toEqual(['a', 'b', 'c']);
      expect((await readEvents(log, 'web', 'act', page.events[0]!.seq, 1)).events.map((row) => row.event.messageId)).toEqual(['b']);
      expect(page.horizon).toBeGreaterThanOrEqual(page.events[2]!.seq);
      expect(await claimCursor(log, { activation: 'act', source: 'web', owner: 'w1', leaseSeconds: 30 })).toBe(page.horizon);
      await expect(log.transaction(async () => 1)).rejects.toThrow('single statements');
    } finally {
      await log.close();
    }
    log = await openEventLog(home);
    try {
      expect(await claimCursor(log, { activation: 'act', source: 'web', owner: 'w2', leaseSeconds: 30 })).toBeUndefined();
      const start = await claimCursor(log, { activation: 'act', source: 'web', owner: 'w2', leaseSeconds: 30, takeOver: true });
      await appendEvents(log, [{ source: 'web', receivedAt: received(), events: [event('d')] }]);
      const [d] = (await readEvents(log, 'web', 'act', start!, 10)).events;
      const cursor = { activation: 'act', source: 'web', destination: 'api', owner: 'w2' };
      const letter = { seq: d!.seq, messageId: 'd', event: JSON.stringify(d!.event), reason: 'refused', attempts: 1 };
      expect(await advanceCursor(log, { ...cursor, owner: 'w1' }, d!.seq, [letter])).toBe(false);
      expect(await advanceCursor(log, cursor, d!.seq, [letter])).toBe(true);
      const listed = await listDeadLetters(log, { activation: 'act', limit: 10 });
      expect(listed.dead_letters).toMatchObject([{ seq: d!.seq, message_id: 'd', reason: 'refused', event: { messageId: 'd' } }]);
      expect(await replayDeadLetters(log, { activation: 'act' })).toBe(1);
      const replayed = await readEvents(log, 'web', 'act', d!.seq, 10);
      expect(replayed.events).toHaveLength(1);
      expect(replayed.events[0]!.replayed).toBe(true);
      expect((await readEvents(log, 'web', 'other', d!.seq, 10)).events).toEqual([]);
    } finally {
      await log.close();
    }
  });
});

describe('pruneEvents', () => {
  it('drops what is past retention — events every cursor has passed, message ids, rejects — and keeps the rest', async () => {
    const log = await openEventLog(join(home, 'prune'));
    try {
      const old = new Date(Date.now() - 48 * 3_600_000).toISOString();
      const reject = { path: 'batch[1]', reason: 'batch[1]: needs a userId or an anonymousId', messageId: undefined, event: '{"type":"track"}' };
      await appendEvents(log, [{ source: 'web', receivedAt: old, events: [event('old-1')], rejected: [reject] }]);
      await appendEvents(log, [{ source: 'web', receivedAt: received(), events: [event('new-1')], rejected: [reject] }]);
      expect(await eventRejectCounts(log)).toEqual(new Map([['web', 2]]));
      await pruneEvents(log, new Date(Date.now() - 24 * 3_600_000), []);
      expect((await dumpEvents(log)).map((row) => row.event.messageId)).toEqual(['new-1']);
      const { rejects } = await listEventRejects(log, { source: 'web', limit: 10 });
      expect(rejects).toMatchObject([{ path: 'batch[1]', reason: reject.reason, event: { type: 'track' } }]);
      // Its message id is forgotten with it: the same id is logged again.
      expect(await appendEvents(log, [{ source: 'web', receivedAt: received(), events: [event('old-1')] }])).toBe(1);
    } finally {
      await log.close();
    }
  });
});
