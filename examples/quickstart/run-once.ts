/**
 * `npm run demo`: the quickstart end to end as a one-off CLI run, offline. It starts a local receiver (the bench mock destination)
 * on 127.0.0.1:8787, runs `sluice run examples/quickstart/sluice.yaml`, and shows what arrived. Two rows of
 * orders.csv are broken on purpose, so the run also shows how rejects are reported.
 */
import { readFile } from 'node:fs/promises';
import { main } from '../../src/cli/main.ts';
import { startMockDestination } from '../../bench/mock-destination.ts';

const port = Number(process.env.PORT ?? 8787);
const receiver = await startMockDestination({ port, capture: true });
process.env.SLUICE_EXAMPLE_URL ??= receiver.url;
process.env.SLUICE_EXAMPLE_TOKEN ??= 'example-token';
console.error(`receiver listening on ${receiver.url}\n`);
try {
  process.exitCode = await main(['node', 'sluice', 'run', 'examples/quickstart/sluice.yaml', '--log-level', 'warn']);
  const records = receiver.records();
  console.error(`\nthe receiver got ${records.length} records; the first one:\n${JSON.stringify(records[0], null, 2)}`);
  const ledger = '.sluice/state/orders_to_api.rejects.jsonl';
  const rejects = (await readFile(ledger, 'utf8')).trim().split('\n').slice(-2);
  console.error(`\nwhy rows were rejected (from ${ledger}):`);
  for (const line of rejects) console.error(`  ${(JSON.parse(line) as { reason: string }).reason}`);
} finally {
  await receiver.close();
}
