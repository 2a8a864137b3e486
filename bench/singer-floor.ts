/**
 * The raw floor for a Singer target writing JSONL: the least a program can do with the same stream —
 * split stdin into lines, `JSON.parse` each, `JSON.stringify(message.record)` for every RECORD, write the
 * lines to a file stream with backpressure (one write per input chunk), and print each STATE's value once
 * the writes before it have completed. No exact numbers, no validation, no error reporting, no batching
 * engine: Sluice is measured against this in the same run, as a ratio.
 *
 * With `--airbyte` it reads Airbyte messages instead (`record.data`, `state.data`) — the same work.
 *
 * Run as a child process by bench/singer-target.ts, the stream on stdin:
 *   node --import tsx bench/singer-floor.ts --out <file.jsonl> [--airbyte] < singer-1000000.jsonl
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import { parseArgs } from 'node:util';

interface Message {
  type?: string;
  record?: unknown;
  value?: unknown;
  state?: { data?: unknown };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, airbyte: { type: 'boolean', default: false } } });
  if (values.out === undefined) throw new Error('usage: singer-floor.ts --out <file.jsonl> [--airbyte] < stream');
  const airbyte = values.airbyte === true;
  // flush: fsync before close, as Sluice's file destination does.
  const out = createWriteStream(values.out, { flush: true });
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let chunk = '';

  const echo = (value: unknown) => () => process.stdout.write(`${JSON.stringify(value)}\n`);
  const handle = (line: string): void => {
    if (line === '') return;
    const message = JSON.parse(line) as Message;
    if (message.type === 'RECORD') {
      const record = airbyte ? (message.record as { data: unknown }).data : message.record;
      chunk += `${JSON.stringify(record)}\n`;
    } else if (message.type === 'STATE') {
      // Echoed once the records before it are written (the write callbacks run in order).
      out.write(chunk, echo(airbyte ? message.state?.data : message.value));
      chunk = '';
    }
  };

  for await (const data of process.stdin as AsyncIterable<Buffer>) {
    const text = rest + decoder.write(data);
    let start = 0;
    for (let lf = text.indexOf('\n'); lf !== -1; lf = text.indexOf('\n', start)) {
      handle(text.slice(start, lf));
      start = lf + 1;
    }
    rest = text.slice(start);
    if (chunk !== '') {
      const ok = out.write(chunk);
      chunk = '';
      if (!ok) await once(out, 'drain');
    } else if (out.writableNeedDrain) await once(out, 'drain');
  }
  handle(rest + decoder.end());
  out.end(chunk);
  await once(out, 'close');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
