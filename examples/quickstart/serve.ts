/**
 * `npm start`: the platform with the quickstart loaded. It starts a local receiver (the bench mock
 * destination) on 127.0.0.1:8787 for the example's http destination, then `sluice serve --config
 * examples/quickstart/sluice.yaml`, which prints the URL and an API key. Trigger a run with the curl line
 * it prints (or see README), then watch it under /api/v1/runs. Ctrl-C stops both.
 */
import { main } from '../../src/cli/main.ts';
import { startMockDestination } from '../../bench/mock-destination.ts';

const receiver = await startMockDestination({ port: Number(process.env.SLUICE_EXAMPLE_PORT ?? 8787), capture: true });
process.env.SLUICE_EXAMPLE_URL ??= receiver.url;
process.env.SLUICE_EXAMPLE_TOKEN ??= 'example-token';
console.error(`example receiver listening on ${receiver.url}`);
try {
  process.exitCode = await main(['node', 'sluice', 'serve', '--config', 'examples/quickstart/sluice.yaml']);
  console.error(`the example receiver got ${receiver.records().length} records`);
} finally {
  await receiver.close();
}
