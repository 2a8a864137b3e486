/**
 * The suite for an external Singer target (`--kind singer-target`): it reads SCHEMA/RECORD/STATE on stdin
 * and exits 0; prints each state only after the records before it are delivered, in order; ignores
 * messages it does not know; and, killed -9 mid-stream and fed again from the last state it printed
 * (as a Singer runner would), loses nothing. Delivery is verified through `inspect` where given.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Check, type CheckContext, CheckSkipped, expectThat, resolveConfigInput } from '../checks.ts';
import type { ExternalConformanceOptions } from '../types.ts';
import { type CommandRun, startCommand } from './process.ts';
import { emittedLastId, feed } from './singer-messages.ts';

async function start(options: ExternalConformanceOptions, ctx: CheckContext, onLine?: (line: string) => void): Promise<CommandRun> {
  const configPath = join(ctx.scope.dir, 'config.json');
  await writeFile(configPath, JSON.stringify(await resolveConfigInput(options.config, ctx.scope)));
  const run = startCommand(options.command, ['--config', configPath], options.cwd, onLine);
  ctx.connector.signal.addEventListener('abort', () => run.kill(), { once: true });
  return run;
}

async function finish(run: CommandRun): Promise<void> {
  run.end();
  const exit = await run.exited;
  expectThat(exit.code === 0, `the command exited with ${exit.code ?? exit.signal}: ${exit.stderr.trim().slice(-500)}`);
}

/** Ids 1…count not delivered under this check's tag. */
async function missingIds(options: ExternalConformanceOptions, ctx: CheckContext, upTo: number): Promise<number[]> {
  if (options.inspect === undefined) return [];
  const seen = new Set((await options.inspect(ctx.scope)).filter((record) => record.tag === ctx.scope.tag).map((record) => record.id));
  const missing: number[] = [];
  for (let id = 1; id <= upTo; id++) if (!seen.has(id)) missing.push(id);
  return missing;
}

const list = (ids: readonly number[]) => `${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''}`;
const verified = (options: ExternalConformanceOptions) => (options.inspect === undefined ? ' (no inspect: delivery not read back)' : '');

export function singerTargetChecks(options: ExternalConformanceOptions): Check[] {
  return [
    {
      id: 'singer.accepts',
      title: 'reads SCHEMA, RECORD and STATE messages, prints only JSON on stdout, exits 0',
      async run(ctx) {
        const run = await start(options, ctx);
        await feed(run, { from: 1, to: 50, tag: ctx.scope.tag, stateEvery: 10, record: options.record });
        await finish(run);
        const notJson = run.lines.find((line) => line.trim() !== '' && emittedLastId(line) === undefined);
        expectThat(notJson === undefined, `stdout carries something other than JSON: ${notJson?.slice(0, 200)}`);
        const missing = await missingIds(options, ctx, 50);
        expectThat(missing.length === 0, `${missing.length} of 50 records were not delivered (ids ${list(missing)})`);
        return `50 records${verified(options)}`;
      },
    },
    {
      id: 'singer.state-order',
      title: 'prints each state after the records before it are delivered, in order',
      async run(ctx) {
        const count = 100;
        const emitted: number[] = [];
        const problems: string[] = [];
        const audits: Array<Promise<void>> = [];
        // Read back the moment a state is printed: records before it must be there already.
        const run = await start(options, ctx, (line) => {
          const lastId = emittedLastId(line);
          if (lastId === undefined) return;
          emitted.push(lastId);
          const audit = async () => {
            const missing = await missingIds(options, ctx, lastId);
            if (missing.length > 0) problems.push(`state ${lastId} was printed before records ${list(missing)} were delivered`);
          };
          audits.push(audit().catch((error: unknown) => void problems.push(`inspect failed: ${String(error)}`)));
        });
        await feed(run, { from: 1, to: count, tag: ctx.scope.tag, stateEvery: 20, pauseMs: 30, record: options.record });
        await finish(run);
        await Promise.all(audits);
        expectThat(problems.length === 0, problems[0] ?? '');
        expectThat(emitted.length > 0, 'the target printed no state');
        emitted.forEach((lastId, index) => expectThat(index === 0 || lastId >= emitted[index - 1]!, `state ${lastId} was printed after state ${emitted[index - 1]}`));
        expectThat(emitted[emitted.length - 1] === count, `the last state printed covers ${emitted[emitted.length - 1]}, not ${count}`);
        return `${emitted.length} states printed${verified(options)}`;
      },
    },
    {
      id: 'singer.unknown-messages',
      title: 'tolerates message types and fields it does not know',
      async run(ctx) {
        const run = await start(options, ctx);
        await feed(run, { from: 1, to: 30, tag: ctx.scope.tag, stateEvery: 10, unknown: true, record: options.record });
        await finish(run);
        const missing = await missingIds(options, ctx, 30);
        expectThat(missing.length === 0, `${missing.length} of 30 records were not delivered (ids ${list(missing)})`);
        return `30 records with unknown messages between them${verified(options)}`;
      },
    },
    {
      id: 'singer.resume-after-kill',
      title: 'killed (SIGKILL) mid-stream and fed again from its last printed state, loses no record',
      async run(ctx) {
        if (options.inspect === undefined) throw new CheckSkipped('no inspect: what was delivered cannot be read back');
        const count = 400;
        let printed = 0;
        const first = await start(options, ctx, (line) => {
          printed = Math.max(printed, emittedLastId(line) ?? 0);
        });
        // One chunk, then wait until the target has printed its state (however slowly it starts), then
        // two more chunks and the kill: records are in flight when it lands.
        await feed(first, { from: 1, to: 20, tag: ctx.scope.tag, stateEvery: 20, record: options.record });
        const echoed = await first.waitForLine((line) => (emittedLastId(line) ?? 0) >= 20);
        if (echoed === undefined) {
          const exit = await first.exited;
          expectThat(false, `the target exited (${exit.code ?? exit.signal}) before printing state 20: ${exit.stderr.trim().slice(-500)}`);
        }
        await feed(first, { from: 21, to: 60, tag: ctx.scope.tag, stateEvery: 20, record: options.record, schema: false });
        first.kill();
        await first.exited;
        const resumeFrom = printed;
        const second = await start(options, ctx);
        await feed(second, { from: resumeFrom + 1, to: count, tag: ctx.scope.tag, stateEvery: 20, record: options.record });
        await finish(second);
        const missing = await missingIds(options, ctx, count);
        expectThat(missing.length === 0, `${missing.length} of ${count} records were lost (ids ${list(missing)}); the target had printed state ${resumeFrom}`);
        return `killed after printing state ${resumeFrom}; resumed; all ${count} records delivered`;
      },
    },
  ];
}
