/** The file source passes the shared conformance suite on a small typed CSV; the invalid config is derived (a missing file). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeConformance } from 'sluice/testing';
import source from './index.ts';

describeConformance(source, {
  validConfig: async ({ dir }) => {
    const rows = Array.from({ length: 50 }, (_, index) => `${index + 1},user${index + 1}@example.com,${index}.50`);
    await writeFile(join(dir, 'orders.csv'), ['id,email,amount', ...rows, '51,broken'].join('\n'));
    return { path: join(dir, 'orders.csv'), types: { id: 'integer', amount: 'number' } };
  },
});
