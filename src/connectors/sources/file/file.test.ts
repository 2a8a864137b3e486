import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultContext } from '../../../sdk/context.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import type { SourceMessage } from '../../../sdk/source.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import { ExactDecimal, stringifyJson } from '../../../protocol/json.ts';
import { CsvTokenizer, type CsvRowSink } from './csv-tokenizer.ts';
import { Flatten } from './flatten.ts';
import { streamName } from './format.ts';
import source from './index.ts';
import { isoFromMicros } from './iso-time.ts';
import { JsonArraySplitter, type JsonElementSink } from './json-array-splitter.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-file-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

function config(raw: Record<string, unknown>) {
  const parsed = parseConfig(source.spec, raw);
  if (!parsed.ok) throw new Error(`bad test config: ${JSON.stringify(parsed.issues)}`);
  return parsed.value;
}

async function readAll(raw: Record<string, unknown>, streams: string[] = []): Promise<SourceMessage[]> {
  const out: SourceMessage[] = [];
  const request = { streams: streams.map((name) => ({ name, syncMode: 'full_refresh' as const })), state: undefined };
  for await (const message of source.read(config(raw), request, defaultContext())) out.push(message);
  return out;
}

/** Records as `line: exact JSON` strings, so bigint and ExactDecimal are compared digit for digit. */
function records(messages: readonly SourceMessage[]): string[] {
  return messages.flatMap((m) => (m.type === 'record' ? [`${m.origin?.line}: ${stringifyJson(m.data)}`] : []));
}

function invalids(messages: readonly SourceMessage[]) {
  return messages.flatMap((m) => (m.type === 'invalid' ? [m] : []));
}

describe('spec', () => {
  it('rejects unknown keys, naming them', () => {
    const result = parseConfig(source.spec, { path: 'data/orders.csv', delimeter: ';' });
    expect(result).toEqual({ ok: false, issues: [{ path: 'delimeter', message: 'unknown key' }] });
  });

  it('asks for a format when the extension says none', () => {
    const result = parseConfig(source.spec, { path: 'data/orders.txt' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]?.path).toBe('format');
    expect(parseConfig(source.spec, { path: 'data/orders.txt', format: 'csv' }).ok).toBe(true);
  });

  it('fills CSV defaults', () => {
    expect(config({ path: 'a.csv' })).toMatchObject({ delimiter: ',', header: true, null_values: [''], types: {}, encoding: 'utf8' });
  });

  it('derives the stream name from the file name, globs included', () => {
    expect(streamName({ path: 'data/orders.csv', stream: undefined })).toBe('orders');
    expect(streamName({ path: 'data/orders-*.csv', stream: undefined })).toBe('orders');
    expect(streamName({ path: 'exports/*.jsonl', stream: undefined })).toBe('exports');
    expect(streamName({ path: 'data/orders.csv', stream: 'sales' })).toBe('sales');
  });
});

describe('csv', () => {
  it('casts typed columns exactly and leaves the rest as strings', async () => {
    const path = await file(
      'orders.csv',
      'id,zip,amount,active,note\n' +
        '9007199254740993,01234,1234567890.123456789012,true,hello\n' +
        '42,00501,19.99,no,\n' +
        '7,"",0.1,1,""\n',
    );
    const messages = await readAll({ path, types: { id: 'integer', amount: 'number', active: 'boolean' } });
    expect(records(messages)).toEqual([
      '2: {"id":9007199254740993,"zip":"01234","amount":1234567890.123456789012,"active":true,"note":"hello"}',
      '3: {"id":42,"zip":"00501","amount":19.99,"active":false,"note":null}',
      '4: {"id":7,"zip":"","amount":0.1,"active":true,"note":""}',
    ]);
    const first = messages[0];
    if (first?.type !== 'record') throw new Error('expected a record');
    expect(typeof first.data.id).toBe('bigint');
    expect(first.data.amount).toBeInstanceOf(ExactDecimal);
    const second = messages[1];
    expect(second?.type === 'record' && second.data.id).toBe(42);
    expect(first).toMatchObject({ stream: 'orders', origin: { file: path, line: 2 } });
  });

  it('keeps quoted multi-line fields whole and counts physical lines (LF and CRLF)', async () => {
    for (const eol of ['\n', '\r\n']) {
      const text = ['id,comment', '1,"first line', 'second line"', '2,"say ""hi"", then go"', '3,"a', '', 'b"', '4,plain'].join(eol) + eol;
      const path = await file(`notes-${eol.length}.csv`, text);
      const messages = await readAll({ path });
      expect(records(messages)).toEqual([
        `2: {"id":"1","comment":"first line${eol === '\n' ? '\\n' : '\\r\\n'}second line"}`,
        '4: {"id":"2","comment":"say \\"hi\\", then go"}',
        `5: {"id":"3","comment":"a${eol === '\n' ? '\\n\\n' : '\\r\\n\\r\\n'}b"}`,
        '8: {"id":"4","comment":"plain"}',
      ]);
    }
  });

  it('reports bad rows as invalid, naming file, line and problem, and goes on', async () => {
    const path = await file('bad.csv', 'id,amount\n1,10\n2\n3,abc\n\n4,40\n5,"open\n');
    const messages = await readAll({ path, types: { amount: 'number' } });
    expect(records(messages)).toEqual(['2: {"id":"1","amount":10}', '6: {"id":"4","amount":40}']);
    expect(invalids(messages).map((m) => [m.reason, m.raw, m.origin?.line])).toEqual([
      [`${path} line 3: expected 2 fields, found 1`, '2', 3],
      [`${path} line 4: column amount: "abc" is not a number`, '3,abc', 4],
      [`${path} line 7: a quoted field is not closed before the end of the file`, '5,"open', 7],
    ]);
  });

  it('supports another delimiter, no header, column names and several null values', async () => {
    const path = await file('plain.txt', '1;N/A;x\n2;;y\n');
    const messages = await readAll({ path, format: 'csv', delimiter: ';', header: false, null_values: ['', 'N/A'], types: { column_1: 'integer' } });
    expect(records(messages)).toEqual(['1: {"column_1":1,"column_2":null,"column_3":"x"}', '2: {"column_1":2,"column_2":null,"column_3":"y"}']);
    const named = await readAll({ path, format: 'csv', delimiter: ';', header: false, column_names: ['id', 'code', 'tag'] });
    expect(records(named)[0]).toBe('1: {"id":"1","code":"N/A","tag":"x"}');
    const renamed = await file('renamed.csv', 'ID,E-mail,,ID\n1,a@b.c,x,2\n');
    expect(records(await readAll({ path: renamed, column_names: ['id', 'email', 'note', 'other'] }))).toEqual(['2: {"id":"1","email":"a@b.c","note":"x","other":"2"}']);
    expect(records(await readAll({ path: renamed }))).toEqual(['2: {"ID":"1","E-mail":"a@b.c","column_3":"x","ID_2":"2"}']);
  });

  it('skips a byte-order mark and reads latin1', async () => {
    const bom = join(dir, 'bom.csv');
    await writeFile(bom, '\ufeffname\nJosé\n');
    expect(records(await readAll({ path: bom }))).toEqual(['2: {"name":"José"}']);
    const latin = join(dir, 'latin.csv');
    await writeFile(latin, Buffer.from('name\nJos\xe9\n', 'latin1'));
    expect(records(await readAll({ path: latin, encoding: 'latin1' }))).toEqual(['2: {"name":"José"}']);
  });

  it('discovers the header with types as the stream schema', async () => {
    const path = await file('customers.csv', 'id,email,score\n1,a@example.com,3.5\n');
    const [stream] = await source.discover(config({ path, types: { id: 'integer', score: 'number' } }), defaultContext());
    expect(stream).toEqual({
      name: 'customers',
      syncModes: ['full_refresh'],
      jsonSchema: {
        type: 'object',
        properties: { id: { type: ['integer', 'null'] }, email: { type: ['string', 'null'] }, score: { type: ['number', 'null'] } },
      },
    });
  });
});

describe('csv tokenizer', () => {
  class Rows implements CsvRowSink {
    readonly rows: [number, string[]][] = [];
    readonly bad: [number, string][] = [];
    row(fields: string[], _quoted: readonly boolean[] | undefined, line: number): void {
      this.rows.push([line, fields]);
    }
    malformed(line: number, problem: string): void {
      this.bad.push([line, problem]);
    }
  }

  function tokenize(text: string, chunkSize = text.length, delimiter = ',', max?: number): Rows {
    const rows = new Rows();
    const tokenizer = new CsvTokenizer(delimiter, rows, max);
    for (let i = 0; i < text.length; i += chunkSize) tokenizer.write(text.slice(i, i + chunkSize));
    tokenizer.end();
    return rows;
  }

  const tricky = [
    'a,b,c\n1,2,3\n',
    'a,b\r\n"x\r\ny",2\r\n"",""\r\n',
    '"a ""quoted"" word",b\n"multi\n\nline",",;"\nlast,row',
    'x,"",y\n,,\n"""",z,""""""\n',
    'q,"a,b"\n"\n",\n',
  ];

  it('agrees with csv-parse on well-formed input', () => {
    for (const text of tricky) {
      const expected = parseCsvSync(text, { relax_column_count: true, skip_empty_lines: true }) as string[][];
      expect(tokenize(text).rows.map(([, fields]) => fields)).toEqual(expected);
    }
  });

  it('gives the same rows and lines however the text is chunked', () => {
    for (const text of tricky) {
      const whole = tokenize(text);
      for (let size = 1; size <= text.length; size++) expect(tokenize(text, size)).toEqual(whole);
    }
  });

  it('treats stray quotes in unquoted fields as text, like Python csv', () => {
    expect(tokenize('5" screen,"a"b,c\n').rows).toEqual([[1, ['5" screen', 'ab', 'c']]]);
  });

  it('drops a record longer than the limit, reports its line and resumes on the next line', () => {
    const rows = tokenize('a,b\n"unclosed,1\n2,3\n4,5\n', 4, ',', 10);
    expect(rows.bad).toEqual([[2, 'the record is longer than 10 characters (is a quote left open?)']]);
    expect(rows.rows).toEqual([
      [1, ['a', 'b']],
      [3, ['2', '3']],
      [4, ['4', '5']],
    ]);
  });
});

describe('jsonl', () => {
  it('reads objects exactly, reports a malformed line by file and line, and goes on', async () => {
    const path = await file(
      'orders.jsonl',
      '{"id":1,"big":9007199254740993}\n' +
        '\n' +
        '{"id":2,"price":1234567890.123456789012}\r\n' +
        '{"id":3,"broken":}\n' +
        '[1,2]\n' +
        '{"id":4}',
    );
    const messages = await readAll({ path });
    expect(records(messages)).toEqual(['1: {"id":1,"big":9007199254740993}', '3: {"id":2,"price":1234567890.123456789012}', '6: {"id":4}']);
    const bad = invalids(messages);
    expect(bad).toHaveLength(2);
    expect(bad[0]?.reason).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 4: .*JSON`));
    expect(bad[0]).toMatchObject({ stream: 'orders', raw: '{"id":3,"broken":}', origin: { file: path, line: 4 } });
    expect(bad[1]?.reason).toBe(`${path} line 5: expected a JSON object, found an array`);
  });

  it('infers a shallow schema from the first records', async () => {
    const path = await file('events.jsonl', '{"id":1,"v":1,"tag":"a"}\n{"id":2,"v":2.5,"tag":null,"meta":{"x":1}}\n');
    const [stream] = await source.discover(config({ path }), defaultContext());
    expect(stream?.jsonSchema).toEqual({
      type: 'object',
      properties: { id: { type: 'integer' }, v: { type: 'number' }, tag: { type: ['null', 'string'] }, meta: { type: 'object' } },
    });
  });
});

describe('json array', () => {
  it('streams the elements of a top-level array, exactly, with their lines', async () => {
    const path = await file(
      'items.json',
      '[\n  {"id": 1, "name": "a, [b] {c}", "big": 12345678901234567890},\n  {"id": 2, "esc": "quote \\" and \\\\"},\n  {"id": 3, "bad": },\n  {"id": 4,\n   "price": 0.10000000000000000001}\n]\n',
    );
    const messages = await readAll({ path });
    expect(records(messages)).toEqual([
      '2: {"id":1,"name":"a, [b] {c}","big":12345678901234567890}',
      '3: {"id":2,"esc":"quote \\" and \\\\"}',
      '5: {"id":4,"price":0.10000000000000000001}',
    ]);
    expect(invalids(messages).map((m) => [m.origin?.line, m.raw])).toEqual([[4, '{"id": 3, "bad": }']]);
  });

  it('splits the same way however the text is chunked', () => {
    const text = '[{"a":"x\\"]"},\n{"b":[1,{"c":2}]}, 3 ,\n{"d":"\\\\"}]';
    const split = (size: number) => {
      const seen: [number, string][] = [];
      const sink: JsonElementSink = { element: (t, line) => seen.push([line, t.trim()]), malformed: (line, p) => seen.push([line, p]) };
      const splitter = new JsonArraySplitter(sink);
      for (let i = 0; i < text.length; i += size) splitter.write(text.slice(i, i + size));
      splitter.end();
      return seen;
    };
    const whole = split(text.length);
    expect(whole).toEqual([
      [1, '{"a":"x\\"]"}'],
      [2, '{"b":[1,{"c":2}]}'],
      [2, '3'],
      [3, '{"d":"\\\\"}'],
    ]);
    for (let size = 1; size < text.length; size++) expect(split(size)).toEqual(whole);
  });

  it('reports a truncated array, and fails clearly on a file that is no array', async () => {
    const truncated = await file('cut.json', '[{"id":1},\n{"id":');
    const messages = await readAll({ path: truncated });
    expect(records(messages)).toEqual(['1: {"id":1}']);
    expect(invalids(messages).map((m) => m.reason)).toEqual([`${truncated} line 2: the file ends before the array is closed with ]`]);

    const lines = await file('lines.json', '{"id":1}\n{"id":2}\n');
    await expect(readAll({ path: lines })).rejects.toThrow(/lines\.json line 1: expected a JSON array.*format jsonl/);
  });
});

describe('parquet', () => {
  it('streams rows with exact BIGINT and DECIMAL values and ISO timestamps', async () => {
    const path = join(dir, 'ledger.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(`COPY (
      SELECT * FROM (VALUES
        (9007199254740993::BIGINT, 1234567890.1234567891::DECIMAL(38,10), 'a', TIMESTAMP '2024-03-01 12:30:45.123456', TIMESTAMPTZ '2024-03-01 12:30:45+00'),
        (1::BIGINT, 2.5::DECIMAL(38,10), NULL, TIMESTAMP '1969-12-31 23:59:59', NULL)
      ) AS t(id, amount, name, created, paid_at)
    ) TO '${path}' (FORMAT parquet)`);
    connection.closeSync();
    instance.closeSync();

    const messages = await readAll({ path });
    expect(records(messages)).toEqual([
      '1: {"id":9007199254740993,"amount":1234567890.1234567891,"name":"a","created":"2024-03-01T12:30:45.123456","paid_at":"2024-03-01T12:30:45Z"}',
      '2: {"id":1,"amount":2.5,"name":null,"created":"1969-12-31T23:59:59","paid_at":null}',
    ]);
    const first = messages[0];
    if (first?.type !== 'record') throw new Error('expected a record');
    expect(typeof first.data.id).toBe('bigint');
    expect(first.data.amount).toBeInstanceOf(ExactDecimal);

    const [stream] = await source.discover(config({ path }), defaultContext());
    expect(stream?.jsonSchema).toEqual({
      type: 'object',
      properties: {
        id: { type: ['integer', 'null'] },
        amount: { type: ['number', 'null'] },
        name: { type: ['string', 'null'] },
        created: { type: ['string', 'null'] },
        paid_at: { type: ['string', 'null'] },
      },
    });
  });

  it('fails with SOURCE_FAILED naming a file that is not Parquet', async () => {
    const path = await file('fake.parquet', 'not parquet at all');
    const error = await readAll({ path }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('SOURCE_FAILED');
    expect((error as SluiceError).message).toContain(`cannot read ${path} as Parquet`);
  });
});

describe('files', () => {
  it('reads a glob as one stream, files in sorted order', async () => {
    const b = await file('part-b.csv', 'id\n3\n4\n');
    const a = await file('part-a.csv', 'id\n1\n2\n');
    const messages = await readAll({ path: join(dir, 'part-*.csv') });
    expect(messages.map((m) => (m.type === 'record' ? [m.stream, m.data.id, m.origin?.file, m.origin?.line] : m.type))).toEqual([
      ['part', '1', a, 2],
      ['part', '2', a, 3],
      ['part', '3', b, 2],
      ['part', '4', b, 3],
    ]);
  });

  it('check names a missing path or an empty glob; read fails with SOURCE_FAILED', async () => {
    const missing = join(dir, 'nope.csv');
    expect(await source.check(config({ path: missing }), defaultContext())).toEqual({ ok: false, reason: `${missing} does not exist` });
    const empty = join(dir, 'nothing-*.csv');
    expect(await source.check(config({ path: empty }), defaultContext())).toEqual({ ok: false, reason: `no file matches ${empty}` });
    const present = await file('here.csv', 'id\n1\n');
    expect(await source.check(config({ path: present }), defaultContext())).toEqual({ ok: true });

    const error = await readAll({ path: missing }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceError);
    expect(error).toMatchObject({ code: 'SOURCE_FAILED', message: `${missing} does not exist` });
  });

  it('reads nothing when the request selects other streams only', async () => {
    const path = await file('solo.csv', 'id\n1\n');
    expect(await readAll({ path }, ['other'])).toEqual([]);
    expect(records(await readAll({ path }, ['solo']))).toEqual(['2: {"id":"1"}']);
  });
});

describe('flatten', () => {
  it('serves items in order even when next() is called again before it settles', async () => {
    async function* batches() {
      yield [1, 2];
      yield [];
      yield [3];
    }
    const items = new Flatten(batches());
    const results = await Promise.all([items.next(), items.next(), items.next(), items.next()]);
    expect(results).toEqual([
      { value: 1, done: false },
      { value: 2, done: false },
      { value: 3, done: false },
      { value: undefined, done: true },
    ]);
  });
});

describe('iso timestamps', () => {
  it('match Date for microsecond epochs across eras', () => {
    const samples = [0, -1, 1, 999_999, -86_400_000_001, 951_782_400_000_000, 4_102_444_800_000_000, -62_135_596_800_000_000];
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 2000; i++) samples.push(Math.round((random() - 0.5) * 2 * 8e15));
    for (const micros of samples) {
      const millis = Math.floor(micros / 1000);
      const expected = new Date(millis).toISOString().slice(0, -5);
      const iso = isoFromMicros(BigInt(micros)) ?? '';
      expect(iso.slice(0, 19)).toBe(expected);
      const fraction = micros - Math.floor(micros / 1e6) * 1e6;
      expect(iso.length > 19 ? Number(`0${iso.slice(19)}`) : 0).toBeCloseTo(fraction / 1e6, 9);
    }
  });
});
