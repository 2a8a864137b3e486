/**
 * The mysql source against a real MySQL or MariaDB (test/support/mysql.ts: SLUICE_TEST_MYSQL_URL, by
 * default root@127.0.0.1:3306/test; skipped with a warning when it does not answer, failing under CI).
 * Each run makes its own uniquely named tables and drops them.
 */
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL_TEST_URL, mysqlAdmin, mysqlAvailable } from '../../../../test/support/mysql.ts';
import { defaultContext } from '../../../sdk/context.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import type { SourceMessage, State } from '../../../sdk/source.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import { ExactDecimal, stringifyJson } from '../../../protocol/json.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import { parseTableName } from '../../sql-source/identifiers.ts';
import source from './index.ts';
import { bookmarkSql, openReader } from './read.ts';

const available = await mysqlAvailable();

const suffix = randomBytes(4).toString('hex');
const T = {
  types: `sluice_src_types_${suffix}`,
  big: `sluice_src_big_${suffix}`,
  ties: `sluice_src_ties_${suffix}`,
  keyed: `sluice_src_keyed_${suffix}`,
};
const BIG_ROWS = 50_000;
const url = MYSQL_TEST_URL;

function config(raw: Record<string, unknown>) {
  const parsed = parseConfig(source.spec, raw);
  if (!parsed.ok) throw new Error(`bad test config: ${JSON.stringify(parsed.issues)}`);
  return parsed.value;
}

async function readAll(raw: Record<string, unknown>, state?: State, syncMode: 'incremental' | 'full_refresh' = 'incremental'): Promise<SourceMessage[]> {
  const cfg = config(raw);
  const stream = (await source.discover(cfg, defaultContext()))[0]!.name;
  const out: SourceMessage[] = [];
  for await (const message of source.read(cfg, { streams: [{ name: stream, syncMode }], state }, defaultContext())) out.push(message);
  return out;
}

const records = (messages: readonly SourceMessage[]): JsonObject[] => messages.flatMap((m) => (m.type === 'record' ? [m.data] : []));
const states = (messages: readonly SourceMessage[]): State[] => messages.flatMap((m) => (m.type === 'state' ? [m.state] : []));

let admin: Connection;

/** Rows inserted a few thousand at a time (portable: no sequence tables or deep recursion needed). */
async function insertRows(table: string, count: number, row: (n: number) => unknown[]): Promise<void> {
  for (let start = 1; start <= count; start += 5000) {
    const rows = Array.from({ length: Math.min(5000, count - start + 1) }, (_, index) => row(start + index));
    await admin.query(`insert into ${table} values ?`, [rows]);
  }
}

describe('spec', () => {
  it('wants exactly one of table and query, and a mysql:// or mariadb:// url', () => {
    expect(parseConfig(source.spec, { url: 'mysql://u@h/db' })).toEqual({
      ok: false,
      issues: [{ path: 'table', message: 'set either table (a table or view to read) or query (custom SQL)' }],
    });
    expect(parseConfig(source.spec, { url: 'mariadb://u@h/db', table: 't', query: 'select 1' })).toEqual({
      ok: false,
      issues: [{ path: 'query', message: 'set either table or query, not both' }],
    });
    const wrong = parseConfig(source.spec, { url: 'postgres://u:hunter2@h/db', table: 't' });
    expect(wrong.ok === false && wrong.issues.map((issue) => issue.path)).toEqual(['url']);
    expect(JSON.stringify(wrong)).not.toContain('hunter2');
    expect(parseConfig(source.spec, { host: 'h', user: 'u', table: 'shop.orders', ssl: 'verify_identity', fetch_size: 500 }).ok).toBe(true);
    expect(parseConfig(source.spec, { host: 'h', user: 'u', table: 't', ssl: 'verify-full' }).ok).toBe(false);
    expect(parseTableName('`shop`.`order.lines`', '`')).toEqual({ schema: 'shop', name: 'order.lines' });
  });

  it('puts numeric bookmarks in SQL as literals and dates back in MySQL form', () => {
    expect(bookmarkSql(9007199254740993n, undefined)).toEqual({ sql: '9007199254740993', values: [] });
    expect(bookmarkSql(new ExactDecimal('12345678901234567890.5'), undefined)).toEqual({ sql: '12345678901234567890.5', values: [] });
    const datetime = { name: 'at', field: { name: 'at', columnType: 12 }, type: { schema: {}, convert: undefined } };
    expect(bookmarkSql('2024-01-01T10:00:00.5', datetime)).toEqual({ sql: '?', values: ['2024-01-01 10:00:00.5'] });
    expect(bookmarkSql('2024-01-01T10:00:00+00:00', { ...datetime, field: { name: 'at', columnType: 7 } })).toEqual({ sql: '?', values: ['2024-01-01 10:00:00'] });
    expect(bookmarkSql("x' or 1=1 --", undefined)).toEqual({ sql: '?', values: ["x' or 1=1 --"] });
  });
});

describe.skipIf(!available)('mysql source on a server', () => {
  beforeAll(async () => {
    admin = await mysqlAdmin();
    await admin.query(`create table ${T.types} (
      id bigint primary key, small smallint, big_unsigned bigint unsigned, amount decimal(30,10), ratio double, flag tinyint(1), label varchar(20) not null,
      day date, at datetime(6), at_ts timestamp(6) null, doc json, bytes varbinary(8), note text, kind enum('a','b'), bits bit(12), yr year, tm time)`);
    // TIMESTAMP values are given in +02:00 and read back in UTC.
    await admin.query("set time_zone = '+02:00'");
    await admin.query(`insert into ${T.types} values
      (9007199254740993, 7, 18446744073709551615, 12345678901234567890.1234567890, 0.1, 1, 'first', '2024-02-29', '2024-01-01 10:00:00.5', '2024-01-01 10:00:00',
       '{"n": 12345678901234567890, "d": 0.12345678901234567890, "s": "x"}', x'00ff10', 'héllo', 'b', b'101', 2024, '10:11:12'),
      (2, null, 0, 1.5, 2.5, 0, 'second', '0000-00-00', '0000-00-00 00:00:00', null, 'null', null, null, null, null, null, null),
      (3, null, null, null, null, null, 'third', null, null, null, null, null, null, null, null, null, null)`);
    await admin.query("set time_zone = '+00:00'");
    await admin.query(`create table ${T.big} (id int primary key, email varchar(100) not null, amount decimal(12,2), created_at datetime)`);
    await insertRows(T.big, BIG_ROWS, (n) => [n, `user${n}@example.com`, (n / 100).toFixed(2), new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString().slice(0, 19).replace('T', ' ')]);
    await admin.query(`create table ${T.ties} (id int primary key, updated_at datetime not null, version bigint not null)`);
    // 7 rows share each updated_at (and version), so fetch boundaries fall inside runs of equal cursors.
    await insertRows(T.ties, 2000, (n) => [n, `2024-01-01 ${String(Math.floor(Math.floor(n / 7) / 60)).padStart(2, '0')}:${String(Math.floor(n / 7) % 60).padStart(2, '0')}:00`, `${9007199254741000n + BigInt(Math.floor(n / 7))}`]);
    await admin.query(`create table ${T.keyed} (region varchar(10), seq int, note text, primary key (seq, region))`);
  });

  afterAll(async () => {
    if (admin === undefined) return;
    for (const table of Object.values(T)) await admin.query(`drop table if exists ${table}`);
    await admin.end();
  });

  describe('discover', () => {
    it('maps column types to JSON Schema, with nullability and the primary key from the catalog', async () => {
      const [stream] = await source.discover(config({ url, table: T.types, cursor_field: 'id' }), defaultContext());
      expect(stream?.name).toBe(T.types);
      expect(stream?.primaryKey).toEqual([['id']]);
      expect(stream?.cursorField).toEqual(['id']);
      expect(stream?.syncModes).toEqual(['full_refresh', 'incremental']);
      expect(stream?.jsonSchema.properties).toEqual({
        id: { type: 'integer' },
        small: { type: ['integer', 'null'] },
        big_unsigned: { type: ['integer', 'null'] },
        amount: { type: ['number', 'null'] },
        ratio: { type: ['number', 'null'] },
        flag: { type: ['boolean', 'null'] },
        label: { type: 'string' },
        day: { type: ['string', 'null'], format: 'date' },
        at: { type: ['string', 'null'], format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
        at_ts: { type: ['string', 'null'], format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
        doc: {},
        bytes: { type: ['string', 'null'], contentEncoding: 'base64' },
        note: { type: ['string', 'null'] },
        kind: { type: ['string', 'null'] },
        bits: { type: ['integer', 'null'] },
        yr: { type: ['integer', 'null'] },
        tm: { type: ['string', 'null'] },
      });
    });

    it('reads a composite primary key in key order, with the database in the table name', async () => {
      const database = new URL(url).pathname.slice(1);
      const [stream] = await source.discover(config({ url, table: `${database}.${T.keyed}` }), defaultContext());
      expect(stream?.name).toBe(T.keyed);
      expect(stream?.primaryKey).toEqual([['seq'], ['region']]);
      expect(stream?.syncModes).toEqual(['full_refresh']);
    });

    it('discovers a query by running it with limit 0; its key comes from primary_key', async () => {
      const [stream] = await source.discover(config({ url, query: `select id, amount * 2 as doubled, label from ${T.types};`, primary_key: ['id'] }), defaultContext());
      expect(stream?.name).toBe('query');
      expect(stream?.primaryKey).toEqual([['id']]);
      expect(stream?.jsonSchema).toEqual({
        type: 'object',
        properties: { id: { type: ['integer', 'null'] }, doubled: { type: ['number', 'null'] }, label: { type: ['string', 'null'] } },
      });
    });

    it('refuses a cursor_field that is not a column, naming it', async () => {
      await expect(source.discover(config({ url, table: T.types, cursor_field: 'updated' }), defaultContext())).rejects.toThrow(/cursor_field: table \S+ has no column named updated/);
    });
  });

  describe('read', () => {
    it('keeps every value exact: BIGINT beyond 2^53, DECIMAL(30,10), JSON, dates, bytes, nulls', async () => {
      const rows = records(await readAll({ url, table: T.types, cursor_field: 'id' }));
      expect(rows.map((row) => row.id)).toEqual([2, 3, 9007199254740993n]);
      const first = rows[2] as JsonObject;
      expect(first.amount).toBeInstanceOf(ExactDecimal);
      expect(stringifyJson(first)).toBe(
        '{"id":9007199254740993,"small":7,"big_unsigned":18446744073709551615,"amount":12345678901234567890.1234567890,"ratio":0.1,"flag":true,"label":"first",' +
          '"day":"2024-02-29","at":"2024-01-01T10:00:00.500000","at_ts":"2024-01-01T08:00:00.000000+00:00",' +
          '"doc":{"n":12345678901234567890,"d":0.12345678901234567890,"s":"x"},"bytes":"AP8Q","note":"héllo","kind":"b","bits":5,"yr":2024,"tm":"10:11:12"}',
      );
      // Zero dates are not dates: null.
      expect(rows[0]).toMatchObject({ big_unsigned: 0, amount: 1.5, flag: false, day: null, at: null, doc: null });
      expect(Object.values(rows[1] as JsonObject).filter((value) => value !== null)).toEqual([3, 'third']);
    });

    it(`streams all ${BIG_ROWS.toLocaleString()} rows of a table, an array of messages at a time`, async () => {
      const messages = source.read(config({ url, table: T.big, fetch_size: 5000 }), { streams: [], state: undefined }, defaultContext()) as AsyncIterable<SourceMessage> & {
        batches(): AsyncIterator<readonly SourceMessage[]>;
      };
      const iterator = messages.batches();
      let count = 0;
      let sum = 0;
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
        for (const message of next.value) {
          if (message.type !== 'record') continue;
          count++;
          sum += message.data.id as number;
        }
      }
      expect(count).toBe(BIG_ROWS);
      expect(sum).toBe((BIG_ROWS * (BIG_ROWS + 1)) / 2);
      expect(states(await readAll({ url, query: `select * from ${T.big} where id <= 10`, cursor_field: 'id' }, undefined, 'full_refresh'))).toEqual([]);
    });

    it('resumes an incremental read without skipping rows that share a cursor value', async () => {
      const cfg = { url, table: T.ties, cursor_field: 'updated_at', fetch_size: 100 };
      const first = await readAll(cfg);
      let cursorBefore: string | undefined;
      let count = 0;
      for (const [index, message] of first.entries()) {
        if (message.type === 'record') cursorBefore = message.data.updated_at as string;
        if (message.type !== 'state') continue;
        count++;
        const bookmark = (message.state.bookmarks?.[T.ties] as { cursor: string }).cursor;
        expect(bookmark).toBe(cursorBefore);
        const after = first.slice(index + 1).find((m) => m.type === 'record');
        if (after?.type === 'record') expect((after.data.updated_at as string) > bookmark).toBe(true);
      }
      expect(count).toBeGreaterThan(10);
      expect(records(first)).toHaveLength(2000);

      const cut = first.findIndex((message, index) => message.type === 'state' && first.slice(0, index).filter((m) => m.type === 'state').length === 4);
      const stateAtCut = (first[cut] as { state: State }).state;
      const before = records(first.slice(0, cut)).map((row) => row.id as number);
      const resumed = records(await readAll(cfg, stateAtCut)).map((row) => row.id as number);
      expect([...before, ...resumed].sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));

      const last = states(first).at(-1);
      expect(last).toEqual({ bookmarks: { [T.ties]: { cursor: '2024-01-01T04:45:00' } } });
      expect(records(await readAll(cfg, last))).toEqual([]);
      await admin.query(`insert into ${T.ties} values (2001, '2024-01-01 04:45:00', 0), (2002, '2024-01-01 05:00:00', 0), (2003, '2024-01-01 05:00:00', 0)`);
      const next = await readAll(cfg, last);
      expect(records(next).map((row) => row.id)).toEqual([2002, 2003]);
      expect(states(next)).toEqual([{ bookmarks: { [T.ties]: { cursor: '2024-01-01T05:00:00' } } }]);
      await admin.query(`delete from ${T.ties} where id > 2000`);
    });

    it('resumes on a BIGINT cursor beyond 2^53, compared exactly', async () => {
      const cfg = { url, table: T.ties, cursor_field: 'version', fetch_size: 50 };
      const final = states(await readAll(cfg)).at(-1);
      expect(final).toEqual({ bookmarks: { [T.ties]: { cursor: 9007199254741285n } } });
      const resumed = await readAll(cfg, { bookmarks: { [T.ties]: { cursor: 9007199254741284n } } });
      expect(records(resumed).map((row) => row.id)).toEqual([1995, 1996, 1997, 1998, 1999, 2000]);
    });

    it('reads a query, and wraps it as a subquery for an incremental read', async () => {
      const cfg = { url, query: `select id, email, amount from ${T.big} where id % 1000 = 0`, cursor_field: 'id', fetch_size: 10 };
      const all = await readAll(cfg);
      expect(records(all)).toHaveLength(50);
      expect(records(all)[0]).toEqual({ id: 1000, email: 'user1000@example.com', amount: 10 });
      expect(states(all).at(-1)).toEqual({ bookmarks: { query: { cursor: 50_000 } } });
      expect(records(await readAll(cfg, { bookmarks: { query: { cursor: 48_000 } } })).map((row) => row.id)).toEqual([49_000, 50_000]);
    });

    it('holds the server back while rows wait unread, whatever the fetch size', async () => {
      const reader = await openReader(config({ url, table: T.big, fetch_size: 10_000 }), undefined);
      try {
        expect((await reader.next())?.length).toBeGreaterThan(0);
        await new Promise((resolve) => setTimeout(resolve, 300));
        // Without backpressure a whole fetch (10,000 rows) would be waiting here.
        const waiting = await reader.next();
        expect(waiting?.length).toBeGreaterThan(0);
        expect(waiting?.length).toBeLessThan(2500);
      } finally {
        await reader.close();
      }
    });

    it('ends promptly when the signal aborts mid-read', async () => {
      const controller = new AbortController();
      const iterator = source.read(config({ url, table: T.big, fetch_size: 1000 }), { streams: [], state: undefined }, defaultContext({ signal: controller.signal }))[Symbol.asyncIterator]();
      for (let taken = 0; taken < 1500; taken++) if ((await iterator.next()).done === true) break;
      const started = Date.now();
      controller.abort();
      let after = 0;
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) after++;
      expect(Date.now() - started).toBeLessThan(1500);
      expect(after).toBeLessThan(1000);
    });

    it('ends promptly when the signal aborts while the server is still working', async () => {
      const controller = new AbortController();
      // 200 rows, 50 ms each; no table, so nothing is left locked by the abandoned query.
      const rows = Array.from({ length: 200 }, (_, n) => `select ${n} as n`).join(' union all ');
      const slow = config({ url, query: `select n, sleep(0.05) as s from (${rows}) as numbers` });
      const reading = (async () => {
        const out: SourceMessage[] = [];
        for await (const message of source.read(slow, { streams: [], state: undefined }, defaultContext({ signal: controller.signal }))) out.push(message);
        return out;
      })();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      controller.abort();
      expect(records(await reading).length).toBeLessThan(200);
      expect(Date.now() - started).toBeLessThan(1500);
    });

    it('fails a read of a missing table with a clear error', async () => {
      const reading = (async () => {
        for await (const _ of source.read(config({ url, table: 'sluice_no_such_table' }), { streams: [], state: undefined }, defaultContext()));
      })();
      await expect(reading).rejects.toThrow(SluiceError);
      await expect(reading).rejects.toThrow(/table sluice_no_such_table does not exist/);
    });
  });

  describe('check', () => {
    it('passes for a readable table and a valid query', async () => {
      expect(await source.check(config({ url, table: T.types, cursor_field: 'id' }), defaultContext())).toEqual({ ok: true });
      expect(await source.check(config({ url, query: `select id from ${T.types}` }), defaultContext())).toEqual({ ok: true });
    });

    it('says when the table is missing, or the query is not valid SQL', async () => {
      const missing = await source.check(config({ url, table: 'sluice_no_such_table' }), defaultContext());
      expect(missing).toEqual({ ok: false, reason: expect.stringMatching(/table sluice_no_such_table does not exist/) });
      const broken = await source.check(config({ url, query: 'selec 1' }), defaultContext());
      expect(broken).toEqual({ ok: false, reason: expect.stringMatching(/the query is not valid SQL .*syntax/) });
    });

    it('says when the login is refused, without the password', async () => {
      const password = 'hunter2-sluice-secret';
      const parsed = new URL(url);
      parsed.password = password;
      const result = await source.check(config({ url: parsed.toString(), table: T.types }), defaultContext());
      expect(result).toEqual({ ok: false, reason: expect.stringMatching(/refused the login of user root/) });
      expect(JSON.stringify(result)).not.toContain(password);
      const separate = await source.check(config({ host: parsed.hostname, port: Number(parsed.port || 3306), user: 'root', password, table: T.types }), defaultContext());
      expect(separate).toEqual({ ok: false, reason: expect.stringMatching(/refused the login of user root/) });
      expect(JSON.stringify(separate)).not.toContain(password);
    });

    it('says when the server cannot be reached', async () => {
      const unreachable = await source.check(config({ host: '127.0.0.1', port: 1, user: 'root', password: 'hunter2-sluice-secret', table: 't' }), defaultContext());
      expect(unreachable).toEqual({ ok: false, reason: 'cannot connect to MySQL at 127.0.0.1:1: the connection was refused: is the server running, and are the host and port right?' });
    });
  });
});
