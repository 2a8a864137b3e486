/**
 * The external form against a real Singer target (fixtures/jsonl-target.mjs, run as `node …`): the
 * conforming target passes every check; one that holds records back or refuses unknown messages fails
 * the check guarding that promise.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readJsonLines } from '../inspect.ts';
import type { ExternalConformanceOptions } from '../types.ts';
import { runExternalConformance } from './index.ts';
import { describeExternalConformance } from '../vitest.ts';

const TARGET = fileURLToPath(new URL('../fixtures/jsonl-target.mjs', import.meta.url));

function target(flags: Record<string, boolean> = {}): ExternalConformanceOptions {
  return {
    command: `node ${TARGET}`,
    kind: 'singer-target',
    config: ({ dir }) => ({ path: join(dir, 'out.jsonl'), ...flags }),
    inspect: ({ dir }) => readJsonLines(join(dir, 'out.jsonl')),
  };
}

describeExternalConformance(target());

describe('the singer-target suite', () => {
  it('fails a target that prints states before writing the records, and loses them when killed', async () => {
    const report = await runExternalConformance(target({ buffer_all: true }));
    const failed = Object.fromEntries(report.results.filter((result) => result.status === 'fail').map((result) => [result.id, result.message]));
    expect(failed['singer.state-order']).toMatch(/printed before records/);
    expect(failed['singer.resume-after-kill']).toMatch(/records were lost/);
    expect(report.ok).toBe(false);
  });

  it('fails a target that exits on a message type it does not know', async () => {
    const report = await runExternalConformance({ ...target({ strict: true }), skip: { 'singer.resume-after-kill': 'not under test' } });
    const unknown = report.results.find((result) => result.id === 'singer.unknown-messages');
    expect(unknown?.status).toBe('fail');
    expect(unknown?.message).toMatch(/exited with 1: unknown message type SLUICE_CONFORMANCE_UNKNOWN/);
  });
});
