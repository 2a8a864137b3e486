/**
 * The file destination on a real temporary directory: exact JSONL and CSV bytes, CSV quoting, exact
 * numbers, append vs overwrite (by config and by sync mode), CSV headers across runs, check() and the spec.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultContext } from '../../../sdk/context.ts';
import { isStreamingObject } from '../../../sdk/destination.ts';
import type { DestinationSyncMode, OutgoingRecord, StreamingObject } from '../../../sdk/destination.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import { ExactDecimal, stringifyJson } from '../../../protocol/json.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import file from './index.ts';
import type { FileSession } from './session.ts';
import type { FileConfig } from './spec.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-file-dest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const recordsObject = file.objects.records;
if (recordsObject === undefined || !isStreamingObject(recordsObject)) throw new Error('records must be a streaming object');
const object: StreamingObject<FileConfig, FileSession> = recordsObject;

function config(input: Record<string, unknown>): FileConfig {
  const parsed = parseConfig(file.spec, input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

function outgoing(...rows: JsonObject[]): OutgoingRecord[] {
  return rows.map((data) => ({ stream: 'test', data, json: stringifyJson(data) }));
}

/** One run as the engine drives it: open, write each batch in turn, close. */
async function run(input: Record<string, unknown>, batches: readonly OutgoingRecord[][], syncMode: DestinationSyncMode = 'overwrite', runId = 'run-1') {
  const cfg = config(input);
  const base = defaultContext({ runId });
  const session = await file.open!(cfg, base);
  const outcomes = [];
  try {
    for (const [i, records] of batches.entries()) {
      const ctx = { ...base, config: cfg, session, object: 'records', syncMode, idempotencyKey: `b${i}`, attempt: 1, stream: { name: 'records', jsonSchema: {} } };
      outcomes.push(...(await object.write(records, ctx)));
    }
  } finally {
    await file.close!(session, base, { complete: true });
  }
  return outcomes;
}

const BIG = 12345678901234567890n;
const PI = new ExactDecimal('3.14159265358979323846264338327950288');
let counter = 0;
const fresh = (name: string) => join(dir, `${counter++}-${name}`);

describe('file destination: JSONL', () => {
  it('writes each record as its exact JSON, one per line, across batches', async () => {
    const path = fresh('out.jsonl');
    const outcomes = await run({ path }, [outgoing({ id: BIG, pi: PI }, { id: 2, s: 'a\nb' }), outgoing({ id: 3 })]);
    expect(outcomes).toEqual([{ status: 'delivered' }, { status: 'delivered' }, { status: 'delivered' }]);
    expect(await readFile(path, 'utf8')).toBe(
      '{"id":12345678901234567890,"pi":3.14159265358979323846264338327950288}\n{"id":2,"s":"a\\nb"}\n{"id":3}\n',
    );
  });

  it('keeps concurrent writes whole and in call order', async () => {
    const path = fresh('order.jsonl');
    const cfg = config({ path });
    const base = defaultContext();
    const session = await file.open!(cfg, base);
    const ctx = { ...base, config: cfg, session, object: 'records', syncMode: 'overwrite' as const, attempt: 1, stream: { name: 'records', jsonSchema: {} } };
    const writes = Array.from({ length: 20 }, (_, b) =>
      object.write(outgoing(...Array.from({ length: 100 }, (_, i) => ({ b, i }))), { ...ctx, idempotencyKey: `b${b}` }),
    );
    await Promise.all(writes);
    await file.close!(session, base, { complete: true });
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(2000);
    expect(lines.map((line) => JSON.parse(line) as { b: number; i: number })).toEqual(
      Array.from({ length: 2000 }, (_, n) => ({ b: Math.floor(n / 100), i: n % 100 })),
    );
  });

  it('fills {run_id} and creates missing parent directories', async () => {
    const path = join(dir, 'nested', '{run_id}', 'out-{run_id}.jsonl');
    await run({ path }, [outgoing({ id: 1 })], 'overwrite', 'r 42/x');
    expect(await readFile(join(dir, 'nested', 'r_42_x', 'out-r_42_x.jsonl'), 'utf8')).toBe('{"id":1}\n');
  });
});

describe('file destination: CSV', () => {
  it('writes a header from the first record and quotes what needs quoting', async () => {
    const path = fresh('out.csv');
    const rows = outgoing(
      { id: BIG, name: 'Lovelace, Ada', quote: 'say "hi"', note: 'line1\nline2', empty: '', none: null },
      { id: 2, name: 'plain', quote: 'x', note: 'cr\r', empty: 'y', none: 'z' },
      { id: 3, name: true, quote: 1.5, note: { nested: [BIG] }, empty: PI },
    );
    expect((await run({ path }, [rows])).map((o) => o.status)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(await readFile(path, 'utf8')).toBe(
      'id,name,quote,note,empty,none\n' +
        '12345678901234567890,"Lovelace, Ada","say ""hi""","line1\nline2","",\n' +
        '2,plain,x,"cr\r",y,z\n' +
        '3,true,1.5,"{""nested"":[12345678901234567890]}",3.14159265358979323846264338327950288,\n',
    );
  });

  it('rejects a record with a field outside the inferred columns, keeping the rest', async () => {
    const path = fresh('strict.csv');
    const outcomes = await run({ path }, [outgoing({ a: 1, b: 2 }, { a: 3, c: 4 }, { b: 5 })]);
    expect(outcomes[0]).toEqual({ status: 'delivered' });
    expect(outcomes[1]).toEqual({ status: 'rejected', reason: expect.stringContaining('field "c" is not a column') });
    expect(outcomes[2]).toEqual({ status: 'delivered' });
    expect(await readFile(path, 'utf8')).toBe('a,b\n1,2\n,5\n');
  });

  it('writes explicit columns in their order, leaving other fields out', async () => {
    const path = fresh('cols.txt');
    await run({ path, format: 'csv', columns: ['email', 'id'], delimiter: ';' }, [outgoing({ id: 1, email: 'a;b@x', extra: 'x' }, { id: 2 })]);
    expect(await readFile(path, 'utf8')).toBe('email;id\n"a;b@x";1\n;2\n');
  });

  it('can leave out the header and use a tab delimiter', async () => {
    const path = fresh('tab.csv');
    await run({ path, header: false, delimiter: '\t' }, [outgoing({ a: 'x\ty', b: 1 })]);
    expect(await readFile(path, 'utf8')).toBe('"x\ty"\t1\n');
  });

  it('appends under the existing header without repeating it, in its column order', async () => {
    const path = fresh('append.csv');
    await run({ path }, [outgoing({ id: 1, name: 'a' })]);
    await run({ path, mode: 'append' }, [outgoing({ name: 'b', id: 2 })]);
    expect(await readFile(path, 'utf8')).toBe('id,name\n1,a\n2,b\n');
  });
});

describe('file destination: append and overwrite', () => {
  it('appending to a file cut off mid-line starts on a new line', async () => {
    const csv = fresh('cut.csv');
    await writeFile(csv, 'b,a\n1,2');
    await run({ path: csv, mode: 'append' }, [outgoing({ a: 4, b: 3 })]);
    expect(await readFile(csv, 'utf8')).toBe('b,a\n1,2\n3,4\n');
    const header = fresh('header-only.csv');
    await writeFile(header, 'b,a');
    await run({ path: header, mode: 'append' }, [outgoing({ a: 2, b: 1 })]);
    expect(await readFile(header, 'utf8')).toBe('b,a\n1,2\n');
  });

  it('overwrite replaces the content; append adds to it', async () => {
    const path = fresh('modes.jsonl');
    await writeFile(path, '{"old":true}\n');
    await run({ path, mode: 'overwrite' }, [outgoing({ n: 1 })]);
    expect(await readFile(path, 'utf8')).toBe('{"n":1}\n');
    await run({ path, mode: 'append' }, [outgoing({ n: 2 })]);
    expect(await readFile(path, 'utf8')).toBe('{"n":1}\n{"n":2}\n');
  });

  it('an explicit mode wins over the sync mode and applies even when no records arrive', async () => {
    const path = fresh('explicit.jsonl');
    await writeFile(path, '{"old":true}\n');
    await run({ path, mode: 'append' }, [outgoing({ n: 1 })], 'overwrite');
    expect(await readFile(path, 'utf8')).toBe('{"old":true}\n{"n":1}\n');
    await run({ path, mode: 'overwrite' }, [], 'append');
    expect(await readFile(path, 'utf8')).toBe('');
  });

  it('without mode, follows the sync mode and leaves the file untouched when nothing is written', async () => {
    const path = fresh('sync.jsonl');
    await writeFile(path, '{"old":true}\n');
    await run({ path }, [outgoing({ n: 1 })], 'append');
    expect(await readFile(path, 'utf8')).toBe('{"old":true}\n{"n":1}\n');
    await run({ path }, [], 'overwrite');
    expect(await readFile(path, 'utf8')).toBe('{"old":true}\n{"n":1}\n');
    await run({ path }, [outgoing({ n: 2 })], 'overwrite');
    expect(await readFile(path, 'utf8')).toBe('{"n":2}\n');
  });

  it('defaults to overwrite when an activation names no sync mode', () => {
    expect(object.syncModes[0]).toBe('overwrite');
  });
});

describe('file destination: check and spec', () => {
  it('is ok for a new file, an existing file and missing parent directories', async () => {
    const ctx = defaultContext();
    expect(await file.check(config({ path: fresh('new.jsonl') }), ctx)).toEqual({ ok: true });
    const existing = fresh('existing.jsonl');
    await writeFile(existing, '');
    expect(await file.check(config({ path: existing }), ctx)).toEqual({ ok: true });
    expect(await file.check(config({ path: join(dir, 'a', 'b', '{run_id}.jsonl') }), ctx)).toEqual({ ok: true });
  });

  it('fails when the path is a directory or sits under a file', async () => {
    const ctx = defaultContext();
    const folder = fresh('folder');
    await mkdir(folder);
    expect(await file.check(config({ path: folder }), ctx)).toEqual({ ok: false, reason: expect.stringContaining('is a directory') });
    const plain = fresh('plain.txt');
    await writeFile(plain, '');
    expect(await file.check(config({ path: join(plain, 'out.jsonl') }), ctx)).toEqual({ ok: false, reason: `${plain} is not a directory` });
  });

  it('rejects unknown keys and bad delimiters, naming the path', () => {
    const result = parseConfig(file.spec, { path: 'x.csv', delimeter: ';', delimiter: '"' }, 'destinations.out');
    expect(result.ok).toBe(false);
    const paths = result.ok ? [] : result.issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['destinations.out.delimeter', 'destinations.out.delimiter']));
    expect(parseConfig(file.spec, { path: 'x.csv', format: 'xml' }).ok).toBe(false);
  });
});
