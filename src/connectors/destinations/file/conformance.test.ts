/** The file destination passes the shared conformance suite, reading back what it wrote from the file. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeConformance, readJsonLines } from 'sluice/testing';
import file from './index.ts';

describeConformance(file, {
  validConfig: ({ dir }) => ({ path: join(dir, 'out.jsonl') }),
  // Under a plain file, so no directory can be created: refused even when running as root.
  invalidConfig: async ({ dir }) => {
    await writeFile(join(dir, 'blocker'), '');
    return { path: join(dir, 'blocker', 'out.jsonl') };
  },
  inspect: ({ dir }) => readJsonLines(join(dir, 'out.jsonl')),
  module: new URL('./index.ts', import.meta.url),
});
