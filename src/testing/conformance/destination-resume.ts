/**
 * `destination.resume-after-kill`: the engine runs in a child process into the destination; right after a
 * state is committed and a new write begins, the child is killed with SIGKILL — no cleanup, no close, no
 * flush. A second run resumes from the state the first one saved and runs to the end. Then every record
 * must be readable (via `inspect`): a repeat of what was in flight is allowed, a loss is not. The kill
 * waits until a state is on disk, so the second run really resumes rather than starting over.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { DestinationDefinition } from '../../sdk/destination.ts';
import { FileStateStore } from '../../engine/state-store.ts';
import { type Check, CheckSkipped, expectThat } from '../checks.ts';
import { startChild } from '../runner/spawn.ts';
import type { ChildJob } from '../runner/job.ts';
import { lastIdOf } from '../sequence-source.ts';
import type { DestinationConformanceOptions } from '../types.ts';
import { resolveTarget } from './target.ts';

function moduleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  return /^[a-z]+:/i.test(module) ? module : pathToFileURL(module).href;
}

/** The last id in the state file once there is one; 0 if the child exits first. */
async function savedState(path: string, exited: Promise<unknown>): Promise<number> {
  let gone = false;
  void exited.then(() => (gone = true));
  const store = new FileStateStore(path);
  for (;;) {
    const lastId = lastIdOf(await store.load().catch(() => undefined));
    if (lastId > 0 || gone) return lastId;
    await sleep(5);
  }
}

export function resumeCheck(definition: DestinationDefinition, options: DestinationConformanceOptions): Check {
  return {
    id: 'destination.resume-after-kill',
    title: 'a run killed (SIGKILL) mid-write and resumed from its state loses no record',
    async run(ctx) {
      if (options.module === undefined) throw new CheckSkipped('no `module`: the child process cannot load the connector');
      if (options.inspect === undefined) throw new CheckSkipped('no `inspect` hook: what was delivered cannot be read back');
      const inspect = options.inspect;
      const target = await resolveTarget(definition, options, ctx.scope);
      // Long enough for a few batches to settle before the kill, whatever the batch wait.
      const durationMs = Math.min(Math.max(3 * target.batch.maxWaitMs, 3000), 20_000);
      const count = Math.max(3000, Math.min(3 * target.batch.maxRecords, 30_000));
      const job: ChildJob = {
        module: moduleUrl(options.module),
        config: target.raw,
        object: target.objectName,
        syncMode: target.syncMode,
        statePath: join(ctx.scope.dir, 'state.json'),
        count,
        stateEvery: Math.max(1, Math.ceil(Math.min(target.batch.maxRecords, 1000) / 2)),
        tag: ctx.scope.tag,
        record: options.record,
      };

      const first = await startChild({ ...job, pace: { every: Math.max(1, Math.ceil((count * 10) / durationMs)), ms: 10 } }, ctx.scope.dir, 'first');
      ctx.connector.signal.addEventListener('abort', () => first.kill(), { once: true });
      // Kill once a state is on disk (so the second run truly resumes) and the next write has begun.
      const saved = await first.waitFor((event) => event.event === 'state').then(() => savedState(job.statePath, first.exited));
      const writesBefore = first.events.length;
      const midWrite = saved > 0 ? await first.waitFor((event, index) => index >= writesBefore && event.event === 'write') : undefined;
      first.kill();
      const killed = await first.exited;
      const done = first.events.find((event) => event.event === 'done');
      expectThat(midWrite !== undefined, done === undefined ? `the first run exited (${killed.code ?? killed.signal}) before saving a state: ${killed.stderr.slice(-500)}` : `the first run ended (${done.event === 'done' ? done.status : ''}) before it could be killed mid-write`);
      const savedUpTo = lastIdOf(await new FileStateStore(job.statePath).load());

      const second = await startChild(job, ctx.scope.dir, 'second');
      ctx.connector.signal.addEventListener('abort', () => second.kill(), { once: true });
      const end = await second.waitFor((event) => event.event === 'done');
      const exit = await second.exited;
      expectThat(end !== undefined && end.event === 'done', `the resumed run exited (${exit.code ?? exit.signal}) without finishing: ${exit.stderr.slice(-500)}`);
      expectThat(end.status === 'succeeded', `the resumed run ${end.status}: ${end.error ?? ''}`);

      const counts = new Map<unknown, number>();
      for (const record of await inspect(ctx.scope)) {
        if (record.tag === ctx.scope.tag) counts.set(record.id, (counts.get(record.id) ?? 0) + 1);
      }
      const missing: number[] = [];
      for (let id = 1; id <= count; id++) if (!counts.has(id)) missing.push(id);
      expectThat(missing.length === 0, `${missing.length} of ${count} records were lost (ids ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}); state had been saved up to ${savedUpTo}`);
      const repeats = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
      return `killed after ${first.events.filter((event) => event.event === 'state').length} committed states; resumed from ${savedUpTo}; all ${count} records delivered, ${repeats} more than once`;
    },
  };
}
