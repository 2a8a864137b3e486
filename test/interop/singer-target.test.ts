/**
 * `sluice singer target` as Meltano runs it: a child process, Singer messages piped on stdin, states
 * read from stdout. Real recorded streams from meltano/sdk (../shared fixtures). More cases, run in process:
 * src/interop/singer-target.test.ts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { STACK_TRACE, fixture, fixturesPresent, lines, readJsonl, sluice, tempDir } from './support.ts';

let dir: string;
let n = 0;
/** A file destination config writing to a fresh file; returns both paths. */
async function fileDestination(): Promise<{ config: string; out: string }> {
  const out = join(dir, `out-${++n}.jsonl`);
  const config = join(dir, `dest-${n}.json`);
  await writeFile(config, JSON.stringify({ path: out }));
  return { config, out };
}

beforeAll(async () => {
  dir = await tempDir();
});

const A = 'test_multiple_state_messages_a';
const B = 'test_multiple_state_messages_b';

describe.skipIf(!fixturesPresent)('singer target with recorded streams', { concurrent: true }, () => {
  it('multiple_state_messages: echoes every state in order once its records are written; all 12 records land', async () => {
    const { config, out } = await fileDestination();
    const result = await sluice(['singer', 'target', 'file', '--config', config], { stdin: await readFile(fixture('singer/multiple_state_messages.singer')) });
    expect(result.code).toBe(0);
    expect(lines(result.stdout).map((line) => JSON.parse(line))).toEqual([
      { [A]: 1, [B]: 0 },
      { [A]: 2, [B]: 1 },
      { [A]: 3, [B]: 2 },
      { [A]: 5, [B]: 3 },
      { [A]: 5, [B]: 6 },
    ]);
    const records = await readJsonl(out);
    expect(records).toHaveLength(12);
    expect(records).toContainEqual({ id: 6, metric: 600 });
  });

  it('tap_countries: 257 records with nested objects and emoji land intact; the final state is the recorded target output', async () => {
    const { config, out } = await fileDestination();
    const input = await readFile(fixture('singer/tap_countries.tap.jsonl'), 'utf8');
    const result = await sluice(['singer', 'target', 'file', '--config', config], { stdin: input });
    expect(result.code).toBe(0);
    const expected = lines(input)
      .map((line) => JSON.parse(line) as { type: string; record?: unknown })
      .filter((message) => message.type === 'RECORD')
      .map((message) => message.record);
    expect(expected).toHaveLength(257);
    expect(await readJsonl(out)).toEqual(expected);
    expect(await readFile(out, 'utf8')).toContain('"emoji":"🇿🇲"');
    const states = lines(result.stdout);
    const recorded = JSON.parse(await readFile(fixture('singer/tap_countries.target_state_out.jsonl'), 'utf8')) as unknown;
    expect(JSON.parse(states.at(-1)!)).toEqual(recorded);
    expect(result.stderr).toContain('INFO METRIC: {"type":"counter","metric":"record_count","value":250,"tags":{"endpoint":"countries"}}');
  });

});

describe('singer target input handling', () => {
  it('a malformed line names its line number, without a stack trace; later records are still delivered', async () => {
    const { config, out } = await fileDestination();
    const input = [
      '{"type":"SCHEMA","stream":"s","schema":{"type":"object"},"key_properties":["id"]}',
      '{"type":"record","stream":"s","record":{"id":1},"unexpected_field":true}',
      '{"type":"Record","stream":"s","record":{"id":2}}',
      '{"type":"RECORD","stream":"s","record":{"id":3',
      '{"type":"RECORD","record":{"id":4}}',
      '{"type":"SOMETHING_NEW","stream":"s"}',
      '',
      '{"type":"RECORD","stream":"s","record":{"id":5}}',
      '{"type":"STATE","value":{"bookmarks":{"s":5}}}',
    ].join('\n');
    const result = await sluice(['singer', 'target', 'file', '--config', config], { stdin: input });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/WARNING stdin line 4: not valid JSON \(/);
    expect(result.stderr).toContain('WARNING stdin line 5: RECORD has no "stream"');
    expect(result.stderr).toContain('stdin line 6: unknown message type SOMETHING_NEW; skipped');
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(((await readJsonl(out)) as Array<{ id: number }>).map((record) => record.id)).toEqual([1, 2, 5]);
    expect(result.stdout).toBe('{"bookmarks":{"s":5}}\n');
  });
});
