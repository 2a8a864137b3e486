/**
 * The raw floor for file → sftp: the least a program can do to move the same CSV to the same SFTP server —
 * csv-parse (streamed, rows as arrays of strings), each row written back as a CSV line into one local file
 * (64 KB chunks, honouring backpressure), then that file uploaded with ssh2's `fastPut` (64 writes in flight)
 * under a temporary name and renamed into place. No mapping, no validation, no job records, no state, and no
 * overlap of writing and uploading.
 *
 * Run as its own child process (bench/bulk-sftp.ts preloads bench/report-rss.mjs for peak RSS):
 *   node --import tsx bench/bulk-sftp-floor.ts --csv <file> --port <port> --user <u> --password <p> --dir <remote dir>
 * Prints one JSON line: `{ records, durationMs, recordsPerSecond }`.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';
import ssh2 from 'ssh2';

const QUOTE = /[",\r\n]/;
const cell = (value: string) => (QUOTE.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { csv: { type: 'string' }, port: { type: 'string' }, user: { type: 'string' }, password: { type: 'string' }, dir: { type: 'string', default: '/' } },
  });
  if (values.csv === undefined || values.port === undefined || values.user === undefined || values.password === undefined) {
    throw new Error('usage: bulk-sftp-floor.ts --csv <file> --port <port> --user <u> --password <p> [--dir /]');
  }
  const started = performance.now();
  const local = mkdtempSync(join(tmpdir(), 'sluice-floor-'));
  const file = join(local, 'orders.csv');
  const out = createWriteStream(file);
  let records = -1; // the header is not a record
  let chunk = '';
  for await (const row of createReadStream(values.csv).pipe(parse({ relax_column_count: true })) as AsyncIterable<string[]>) {
    records++;
    chunk += `${row.map(cell).join(',')}\n`;
    if (chunk.length >= 65_536) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'close');

  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve).once('error', reject).connect({ host: '127.0.0.1', port: Number(values.port), username: values.user, password: values.password });
  });
  const sftp = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => client.sftp((error, session) => (error ? reject(error) : resolve(session))));
  const target = `${values.dir.replace(/\/$/, '')}/floor.csv`;
  await new Promise<void>((resolve, reject) => sftp.fastPut(file, `${target}.part`, { concurrency: 64, chunkSize: 32_768 }, (error) => (error ? reject(error) : resolve())));
  await new Promise<void>((resolve, reject) => sftp.rename(`${target}.part`, target, (error) => (error ? reject(error) : resolve())));
  client.end();
  const durationMs = performance.now() - started;
  rmSync(local, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ records, durationMs, recordsPerSecond: Math.round((records / durationMs) * 1000) })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
