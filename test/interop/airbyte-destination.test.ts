/**
 * `sluice airbyte <destination> write` as the Airbyte platform runs it: a child process, the configured
 * catalog as a file, source messages piped on stdin, states (with destinationStats) read from stdout.
 * Real destination-acceptance-test messages from airbytehq/airbyte (../shared fixtures). More cases, run
 * in process: src/interop/airbyte-destination.test.ts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { STACK_TRACE, fixture, fixturesPresent, lines, readJsonl, sluice, tempDir } from './support.ts';

let dir: string;
let n = 0;
async function fileDestination(extra: Record<string, unknown> = {}): Promise<{ config: string; out: string }> {
  const out = join(dir, `out-${++n}.jsonl`);
  const config = join(dir, `dest-${n}.json`);
  await writeFile(config, JSON.stringify({ path: out, ...extra }));
  return { config, out };
}

type Message = { type: string; state?: Record<string, unknown>; log?: { level: string; message: string }; trace?: { type: string; error?: { failure_type: string; message: string } } };
const parse = (stdout: string) => lines(stdout).map((line) => JSON.parse(line) as Message);

beforeAll(async () => {
  dir = await tempDir();
});

describe.skipIf(!fixturesPresent)('airbyte write with recorded messages', { concurrent: true }, () => {
  it('exchange_rate: echoes the three states in order, verbatim, with recordCount 1, 1, 3', async () => {
    const { config, out } = await fileDestination();
    const input = await readFile(fixture('airbyte/exchange_rate_messages.jsonl'), 'utf8');
    const result = await sluice(['airbyte', 'file', 'write', '--config', config, '--catalog', fixture('airbyte/exchange_rate_configured_catalog.DERIVED.json')], { stdin: input });
    expect(result.code).toBe(0);
    const states = lines(result.stdout).filter((line) => line.startsWith('{"type":"STATE"'));
    // Counts are written as Airbyte's connectors write them: 1.0, not 1.
    expect(states.map((line) => /"destinationStats":\{"recordCount":([\d.]+)\}/.exec(line)?.[1])).toEqual(['1.0', '1.0', '3.0']);
    const sent = lines(input)
      .map((line) => JSON.parse(line) as Message)
      .filter((message) => message.type === 'STATE');
    const echoed = states.map((line) => JSON.parse(line) as Message);
    for (const message of echoed) delete message.state!.destinationStats;
    expect(echoed).toEqual(sent);
    expect(((await readJsonl(out)) as Array<{ date: string }>).map((record) => record.date)).toEqual([
      '2020-08-29T00:00:00Z',
      '2020-08-30T00:00:00Z',
      '2020-08-31T00:00:00Z',
      '2020-08-31T00:00:00Z',
      '2020-09-01T00:00:00Z',
    ]);
    expect(result.stderr).not.toMatch(STACK_TRACE);
  });

  it('duckdb_messages: no STATE in, none out; exit 0 and the record is written', async () => {
    const { config, out } = await fileDestination();
    const result = await sluice(['airbyte', 'destination/file', 'write', '--config', config, '--catalog', fixture('airbyte/duckdb_configured_catalog.json')], {
      stdin: await readFile(fixture('airbyte/duckdb_messages.jsonl')),
    });
    expect(result.code).toBe(0);
    expect(parse(result.stdout).filter((message) => message.type !== 'LOG')).toEqual([]);
    expect(await readJsonl(out)).toEqual([{ column1: 'test', column2: 222, column3: '2022-06-20T18:56:18', column4: 33.33, column5: [1, 2, null] }]);
  });
});
