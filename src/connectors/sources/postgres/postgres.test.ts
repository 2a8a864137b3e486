/**
 * The postgres source against a real PostgreSQL (test/support/databases.ts: SLUICE_TEST_DATABASE_URL, by
 * default 127.0.0.1:5432; skipped with a warning when it does not answer, failing under CI). Each run
 * makes its own uniquely named tables and drops them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_TEST_URL, postgresBackend } from '../../../../test/support/databases.ts';
import { defaultContext } from '../../../sdk/context.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import type { SourceMessage, State } from '../../../sdk/source.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import { ExactDecimal, stringifyJson } from '../../../protocol/json.ts';
import type { JsonObject, JsonValue } from '../../../protocol/json.ts';
import { parseTableName } from '../../sql-source/identifiers.ts';
import { parsePgArray } from './array.ts';
import source from './index.ts';
import { openReader } from './read.ts';
import { isoTimestamp, isoTimestamptz } from './types.ts';

const available = (await postgresBackend()) === 'server';
if (!available) console.warn('PostgreSQL not reachable on 127.0.0.1:5432: the postgres source tests that need a server are skipped');

const suffix = randomBytes(4).toString('hex');
const T = {
  types: `sluice_src_types_${suffix}`,
  big: `sluice_src_big_${suffix}`,
  ties: `sluice_src_ties_${suffix}`,
  keyed: `sluice_src_keyed_${suffix}`,
};
const BIG_ROWS = 50_000;

/** The test server's URL with session settings (`options`) and without a password. */
function url(options?: string): string {
  const parsed = new URL(POSTGRES_TEST_URL);
  parsed.searchParams.set('options', options ?? '-c TimeZone=UTC');
  return parsed.toString();
}

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

let admin: pg.Client;

async function sql(text: string, values?: unknown[]): Promise<pg.QueryResult> {
  return admin.query(text, values);
}

describe('spec', () => {
  it('wants exactly one of table and query, naming the path', () => {
    expect(parseConfig(source.spec, { url: 'postgres://u@h/db' })).toEqual({
      ok: false,
      issues: [{ path: 'table', message: 'set either table (a table or view to read) or query (custom SQL)' }],
    });
    expect(parseConfig(source.spec, { url: 'postgres://u@h/db', table: 't', query: 'select 1' })).toEqual({
      ok: false,
      issues: [{ path: 'query', message: 'set either table or query, not both' }],
    });
  });

  it('wants a url or a host with a user, and refuses unknown keys', () => {
    const none = parseConfig(source.spec, { table: 't' });
    expect(none.ok === false && none.issues.map((issue) => issue.path)).toEqual(['host']);
    const both = parseConfig(source.spec, { url: 'postgres://u@h/db', host: 'h', table: 't' });
    expect(both.ok === false && both.issues.map((issue) => issue.path)).toEqual(['host']);
    const noUser = parseConfig(source.spec, { host: 'h', table: 't' });
    expect(noUser.ok === false && noUser.issues.map((issue) => issue.path)).toEqual(['user']);
    expect(parseConfig(source.spec, { host: 'h', user: 'u', password: 'p', port: 6543, database: 'd', table: 'public.t', ssl: 'require' }).ok).toBe(true);
    expect(parseConfig(source.spec, { url: 'postgres://u@h/db', table: 't', tabel: 'x' })).toEqual({ ok: false, issues: [{ path: 'tabel', message: 'unknown key' }] });
  });

  it('refuses a url of another scheme without quoting it', () => {
    const result = parseConfig(source.spec, { url: 'mysql://u:hunter2@h/db', table: 't' });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('hunter2');
    expect(result.ok === false && result.issues[0]?.path).toBe('url');
  });

  it('checks table names and defaults fetch_size to 10,000', () => {
    expect(parseConfig(source.spec, { url: 'postgres://h/db', table: 'a.b.c' }).ok).toBe(false);
    expect(parseConfig(source.spec, { url: 'postgres://h/db', table: '"unclosed' }).ok).toBe(false);
    expect(config({ url: 'postgres://h/db', table: 'orders' }).fetch_size).toBe(10_000);
    expect(parseTableName('"Sales"."order.lines"', '"')).toEqual({ schema: 'Sales', name: 'order.lines' });
    expect(parseTableName('public.Orders', '"')).toEqual({ schema: 'public', name: 'Orders' });
  });
});

describe('text parsers', () => {
  it('turns timestamps into ISO 8601, keeping the offset', () => {
    expect(isoTimestamptz('2024-01-01 10:00:00+02')).toBe('2024-01-01T10:00:00+02:00');
    expect(isoTimestamptz('2024-01-01 10:00:00.123456-07:30')).toBe('2024-01-01T10:00:00.123456-07:30');
    expect(isoTimestamptz('2024-01-01 10:00:00+00')).toBe('2024-01-01T10:00:00+00:00');
    expect(isoTimestamptz('infinity')).toBe('infinity');
    expect(isoTimestamp('2024-01-01 10:00:00.5')).toBe('2024-01-01T10:00:00.5');
    expect(isoTimestamp('0044-03-15 10:00:00 BC')).toBe('0044-03-15 10:00:00 BC');
  });

  it('parses array literals: quotes, escapes, NULL, nesting and bounds', () => {
    const text = (value: string): JsonValue => value;
    expect(parsePgArray('{}', text)).toEqual([]);
    expect(parsePgArray('{a,"b c","d\\"e\\\\f",NULL,"NULL"}', text)).toEqual(['a', 'b c', 'd"e\\f', null, 'NULL']);
    expect(parsePgArray('{{1,2},{3,NULL}}', Number)).toEqual([
      [1, 2],
      [3, null],
    ]);
    expect(parsePgArray('[0:1]={7,8}', Number)).toEqual([7, 8]);
    expect(parsePgArray('{(0,0),(1,1);(2,2),(3,3)}', text, ';')).toEqual(['(0,0),(1,1)', '(2,2),(3,3)']);
  });
});

describe.skipIf(!available)('postgres source on a server', () => {
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: POSTGRES_TEST_URL });
    await admin.connect();
    await sql(`create table ${T.types} (
      id int8 primary key, small int2, amount numeric(30,10), ratio float8, flag bool, label text not null, code varchar(10),
      uid uuid, day date, at timestamp, at_tz timestamptz, doc jsonb, raw json, bytes bytea,
      tags text[], big_ids int8[], amounts numeric[], grid int4[][], stamps timestamptz[])`);
    await sql(`insert into ${T.types} values
      (9007199254740993, 7, 12345678901234567890.1234567890, 0.1, true, 'first', 'a', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29',
       '2024-01-01 10:00:00.5', '2024-01-01 10:00:00+02', '{"n": 12345678901234567890, "d": 0.12345678901234567890, "s": "x"}', '[1, 2.5, null]', '\\x00ff10',
       '{"a b","say \\"hi\\"",NULL,"x,y"}', '{1,9007199254740993,-9223372036854775808}', '{1.5,12345678901234567890.5}', '{{1,2},{3,4}}',
       '{"2024-06-30 23:59:59.123456-07:30"}'),
      (2, null, 1.5, 'NaN', false, 'second', null, null, null, null, '2024-06-30 23:59:59.123456-07:30', 'null', null, null, '{}', null, null, null, null),
      (3, null, null, null, null, 'third', null, null, null, null, null, null, null, null, null, null, null, null, null)`);
    await sql(`create table ${T.big} (id int4 primary key, email text not null, amount numeric(12,2), created_at timestamptz)`);
    await sql(`insert into ${T.big} select g, 'user' || g || '@example.com', g / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' from generate_series(1, ${BIG_ROWS}) g`);
    await sql(`create table ${T.ties} (id int4 primary key, updated_at timestamptz not null, version int8 not null)`);
    // 7 rows share each updated_at (and version), so fetch boundaries fall inside runs of equal cursors.
    await sql(`insert into ${T.ties} select g, timestamptz '2024-01-01 00:00:00+00' + (g / 7) * interval '1 minute', 9007199254741000 + g / 7 from generate_series(1, 2000) g`);
    await sql(`create table ${T.keyed} (region text, seq int4, note text, primary key (seq, region))`);
  });

  afterAll(async () => {
    if (admin === undefined) return;
    for (const table of Object.values(T)) await sql(`drop table if exists ${table}`);
    await admin.end();
  });

  describe('discover', () => {
    it('maps column types to JSON Schema, with nullability and the primary key from the catalog', async () => {
      const [stream] = await source.discover(config({ url: url(), table: T.types, cursor_field: 'id' }), defaultContext());
      expect(stream?.name).toBe(T.types);
      expect(stream?.primaryKey).toEqual([['id']]);
      expect(stream?.cursorField).toEqual(['id']);
      expect(stream?.syncModes).toEqual(['full_refresh', 'incremental']);
      const properties = stream?.jsonSchema.properties as Record<string, Record<string, unknown>>;
      expect(properties.id).toEqual({ type: 'integer' });
      expect(properties.small).toEqual({ type: ['integer', 'null'] });
      expect(properties.amount).toEqual({ type: ['number', 'null'] });
      expect(properties.ratio).toEqual({ type: ['number', 'null'] });
      expect(properties.flag).toEqual({ type: ['boolean', 'null'] });
      expect(properties.label).toEqual({ type: 'string' });
      expect(properties.uid).toMatchObject({ type: ['string', 'null'], format: 'uuid' });
      expect(properties.day).toEqual({ type: ['string', 'null'], format: 'date' });
      expect(properties.at).toMatchObject({ type: ['string', 'null'], format: 'date-time', airbyte_type: 'timestamp_without_timezone' });
      expect(properties.at_tz).toMatchObject({ type: ['string', 'null'], format: 'date-time', airbyte_type: 'timestamp_with_timezone' });
      expect(properties.doc).toEqual({});
      expect(properties.bytes).toEqual({ type: ['string', 'null'], contentEncoding: 'base64' });
      expect(properties.big_ids).toEqual({ type: ['array', 'null'], items: { type: ['integer', 'null'] } });
      expect(properties.tags).toEqual({ type: ['array', 'null'], items: { type: ['string', 'null'] } });
    });

    it('reads a composite primary key in key order, and a table without cursor is full refresh only', async () => {
      const [stream] = await source.discover(config({ url: url(), table: `public.${T.keyed}` }), defaultContext());
      expect(stream?.name).toBe(T.keyed);
      expect(stream?.primaryKey).toEqual([['seq'], ['region']]);
      expect(stream?.cursorField).toBeUndefined();
      expect(stream?.syncModes).toEqual(['full_refresh']);
    });

    it('discovers a query by running it with limit 0; its key comes from primary_key', async () => {
      const [stream] = await source.discover(
        config({ url: url(), query: `select id, amount * 2 as doubled, label from ${T.types};`, primary_key: ['id'], stream: 'doubled' }),
        defaultContext(),
      );
      expect(stream?.name).toBe('doubled');
      expect(stream?.primaryKey).toEqual([['id']]);
      expect(stream?.jsonSchema).toEqual({
        type: 'object',
        properties: { id: { type: ['integer', 'null'] }, doubled: { type: ['number', 'null'] }, label: { type: ['string', 'null'] } },
      });
      const [plain] = await source.discover(config({ url: url(), query: 'select 1 as one' }), defaultContext());
      expect(plain?.name).toBe('query');
      expect(plain?.primaryKey).toBeUndefined();
    });

    it('refuses a cursor_field or primary_key that is not a column, naming it', async () => {
      await expect(source.discover(config({ url: url(), table: T.types, cursor_field: 'updated' }), defaultContext())).rejects.toThrow(/cursor_field: table \S+ has no column named updated/);
      await expect(source.discover(config({ url: url(), table: T.types, primary_key: ['nope'] }), defaultContext())).rejects.toThrow(/primary_key: .* no column named nope/);
    });
  });

  describe('read', () => {
    it('keeps every value exact: int8 beyond 2^53, numeric(30,10), timestamptz offsets, json, arrays, bytea, nulls', async () => {
      const rows = records(await readAll({ url: url(), table: T.types, cursor_field: 'id' }));
      expect(rows.map((row) => row.id)).toEqual([2, 3, 9007199254740993n]);
      const first = rows[2] as JsonObject;
      expect(first.amount).toBeInstanceOf(ExactDecimal);
      expect(stringifyJson(first)).toBe(
        '{"id":9007199254740993,"small":7,"amount":12345678901234567890.1234567890,"ratio":0.1,"flag":true,"label":"first","code":"a",' +
          '"uid":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","day":"2024-02-29","at":"2024-01-01T10:00:00.5","at_tz":"2024-01-01T08:00:00+00:00",' +
          '"doc":{"d":0.12345678901234567890,"n":12345678901234567890,"s":"x"},"raw":[1,2.5,null],"bytes":"AP8Q",' +
          '"tags":["a b","say \\"hi\\"",null,"x,y"],"big_ids":[1,9007199254740993,-9223372036854775808],"amounts":[1.5,12345678901234567890.5],' +
          '"grid":[[1,2],[3,4]],"stamps":["2024-07-01T07:29:59.123456+00:00"]}',
      );
      expect(rows[0]).toMatchObject({ amount: 1.5, ratio: 'NaN', flag: false, at_tz: '2024-07-01T07:29:59.123456+00:00', doc: null, tags: [] });
      expect(Object.values(rows[1] as JsonObject).filter((value) => value !== null)).toEqual([3, 'third']);
    });

    it("keeps the offset the session's TimeZone gives", async () => {
      const rows = records(await readAll({ url: url('-c TimeZone=Asia/Kolkata'), query: `select id, at_tz from ${T.types} where id = 2` }));
      expect(rows).toEqual([{ id: 2, at_tz: '2024-07-01T12:59:59.123456+05:30' }]);
      expect(new Date(rows[0]?.at_tz as string).toISOString()).toBe('2024-07-01T07:29:59.123Z');
    });

    it(`streams all ${BIG_ROWS.toLocaleString()} rows of a table, an array of messages at a time`, async () => {
      const messages = source.read(config({ url: url(), table: T.big, fetch_size: 5000 }), { streams: [], state: undefined }, defaultContext()) as AsyncIterable<SourceMessage> & {
        batches(): AsyncIterator<readonly SourceMessage[]>;
      };
      expect(typeof messages.batches).toBe('function');
      const iterator = messages.batches();
      let count = 0;
      let sum = 0;
      let largest = 0;
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
        largest = Math.max(largest, next.value.length);
        for (const message of next.value) {
          if (message.type !== 'record') continue;
          count++;
          sum += message.data.id as number;
        }
      }
      expect(count).toBe(BIG_ROWS);
      expect(sum).toBe((BIG_ROWS * (BIG_ROWS + 1)) / 2);
      expect(largest).toBeLessThanOrEqual(1000);
      // Full refresh keeps no state.
      expect(states(await readAll({ url: url(), query: `select * from ${T.big} where id <= 10`, cursor_field: 'id' }, undefined, 'full_refresh'))).toEqual([]);
    });

    it('resumes an incremental read without skipping rows that share a cursor value', async () => {
      const cfg = { url: url(), table: T.ties, cursor_field: 'updated_at', fetch_size: 100 };
      const first = await readAll(cfg);
      // States come only between two cursor values: every record before has a cursor <= the bookmark, every one after >.
      let cursorBefore: string | undefined;
      const seenStates: string[] = [];
      for (const [index, message] of first.entries()) {
        if (message.type === 'record') cursorBefore = message.data.updated_at as string;
        if (message.type !== 'state') continue;
        const bookmark = (message.state.bookmarks?.[T.ties] as { cursor: string }).cursor;
        seenStates.push(bookmark);
        expect(bookmark).toBe(cursorBefore);
        const after = first.slice(index + 1).find((m) => m.type === 'record');
        if (after?.type === 'record') expect((after.data.updated_at as string) > bookmark).toBe(true);
      }
      expect(seenStates.length).toBeGreaterThan(10);
      expect(records(first)).toHaveLength(2000);

      // A run that stopped after its 5th state resumes from it: the rows before it plus the resumed ones are every row, once.
      const cut = first.findIndex((message, index) => message.type === 'state' && first.slice(0, index).filter((m) => m.type === 'state').length === 4);
      const stateAtCut = (first[cut] as { state: State }).state;
      const before = records(first.slice(0, cut)).map((row) => row.id as number);
      const resumed = records(await readAll(cfg, stateAtCut)).map((row) => row.id as number);
      expect([...before, ...resumed].sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));

      // After the whole read, only newer rows come.
      const last = states(first).at(-1);
      expect(last).toEqual({ bookmarks: { [T.ties]: { cursor: '2024-01-01T04:45:00+00:00' } } });
      expect(records(await readAll(cfg, last))).toEqual([]);
      await sql(`insert into ${T.ties} values (2001, '2024-01-01 04:45:00+00', 0), (2002, '2024-01-01 05:00:00+00', 0), (2003, '2024-01-01 05:00:00+00', 0)`);
      const next = await readAll(cfg, last);
      expect(records(next).map((row) => row.id)).toEqual([2002, 2003]);
      expect(states(next)).toEqual([{ bookmarks: { [T.ties]: { cursor: '2024-01-01T05:00:00+00:00' } } }]);
      await sql(`delete from ${T.ties} where id > 2000`);
    });

    it('resumes on a bigint cursor beyond 2^53, keeping other bookmarks', async () => {
      const cfg = { url: url(), table: T.ties, cursor_field: 'version', fetch_size: 50 };
      const base: State = { bookmarks: { other_stream: { cursor: 5 } } };
      const all = await readAll(cfg, base);
      const final = states(all).at(-1);
      expect(final).toEqual({ bookmarks: { other_stream: { cursor: 5 }, [T.ties]: { cursor: 9007199254741285n } } });
      const resumed = await readAll(cfg, { bookmarks: { [T.ties]: { cursor: 9007199254741284n } } });
      expect(records(resumed).map((row) => row.id)).toEqual([1995, 1996, 1997, 1998, 1999, 2000]);
      expect(records(resumed)[0]?.version).toBe(9007199254741285n);
    });

    it('reads a query, and wraps it as a subquery for an incremental read', async () => {
      const cfg = { url: url(), query: `select id, email, amount from ${T.big} where id % 1000 = 0`, cursor_field: 'id', fetch_size: 10 };
      const all = await readAll(cfg);
      expect(records(all)).toHaveLength(50);
      expect(records(all)[0]).toEqual({ id: 1000, email: 'user1000@example.com', amount: 10 });
      expect(states(all).at(-1)).toEqual({ bookmarks: { query: { cursor: 50_000 } } });
      const resumed = await readAll(cfg, { bookmarks: { query: { cursor: 48_000 } } });
      expect(records(resumed).map((row) => row.id)).toEqual([49_000, 50_000]);
    });

    it('reads nothing for a selection without its stream', async () => {
      const messages: SourceMessage[] = [];
      for await (const message of source.read(config({ url: url(), table: T.big }), { streams: [{ name: 'other', syncMode: 'full_refresh' }], state: undefined }, defaultContext())) {
        messages.push(message);
      }
      expect(messages).toEqual([]);
    });

    it('holds the server back while rows wait unread, whatever the fetch size', async () => {
      const reader = await openReader(config({ url: url(), table: T.big, fetch_size: 10_000 }), undefined);
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
      const ctx = defaultContext({ signal: controller.signal });
      const iterator = source.read(config({ url: url(), table: T.big, fetch_size: 1000 }), { streams: [], state: undefined }, ctx)[Symbol.asyncIterator]();
      let taken = 0;
      while (taken < 1500) {
        const next = await iterator.next();
        if (next.done === true) break;
        taken++;
      }
      const started = Date.now();
      controller.abort();
      let after = 0;
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) after++;
      expect(Date.now() - started).toBeLessThan(1500);
      expect(after).toBeLessThan(1000);
    });

    it('ends promptly when the signal aborts while the server is still working', async () => {
      const controller = new AbortController();
      const ctx = defaultContext({ signal: controller.signal });
      const slow = config({ url: url(), query: 'select g, pg_sleep(0.05) from generate_series(1, 200) g' });
      const reading = (async () => {
        const out: SourceMessage[] = [];
        for await (const message of source.read(slow, { streams: [], state: undefined }, ctx)) out.push(message);
        return out;
      })();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      controller.abort();
      expect(await reading).toEqual([]);
      expect(Date.now() - started).toBeLessThan(1500);
    });

    it('fails a read of a missing table with a clear error', async () => {
      const reading = readAllRaw({ url: url(), table: 'sluice_no_such_table' });
      await expect(reading).rejects.toThrow(SluiceError);
      await expect(reading).rejects.toThrow(/table sluice_no_such_table does not exist/);
    });
  });

  describe('check', () => {
    it('passes for a readable table and a valid query', async () => {
      expect(await source.check(config({ url: url(), table: T.types, cursor_field: 'id' }), defaultContext())).toEqual({ ok: true });
      expect(await source.check(config({ url: url(), query: `select id from ${T.types}` }), defaultContext())).toEqual({ ok: true });
    });

    it('says when the table is missing, or the query is not valid SQL', async () => {
      const missing = await source.check(config({ url: url(), table: 'public.sluice_no_such_table' }), defaultContext());
      expect(missing).toEqual({ ok: false, reason: expect.stringMatching(/table public\.sluice_no_such_table does not exist/) });
      const broken = await source.check(config({ url: url(), query: 'selec 1' }), defaultContext());
      expect(broken).toEqual({ ok: false, reason: expect.stringMatching(/the query is not valid SQL .*syntax error/) });
      const noCursor = await source.check(config({ url: url(), table: T.types, cursor_field: 'nope' }), defaultContext());
      expect(noCursor).toEqual({ ok: false, reason: expect.stringMatching(/cursor_field: .* no column named nope/) });
    });

    it('says when the login is refused, without the password', async () => {
      const password = 'hunter2-sluice-secret';
      const parsed = new URL(url());
      parsed.username = 'sluice_no_such_role';
      parsed.password = password;
      const result = await source.check(config({ url: parsed.toString(), table: T.types }), defaultContext());
      expect(result).toEqual({ ok: false, reason: expect.stringMatching(/refused the login of user sluice_no_such_role/) });
      expect(JSON.stringify(result)).not.toContain(password);
      const host = new URL(POSTGRES_TEST_URL);
      const separate = await source.check(
        config({ host: host.hostname, port: Number(host.port || 5432), user: 'sluice_no_such_role', password, database: 'postgres', table: T.types }),
        defaultContext(),
      );
      expect(separate.ok).toBe(false);
      expect(JSON.stringify(separate)).not.toContain(password);
    });

    it('says when the server cannot be reached or the database does not exist', async () => {
      const unreachable = await source.check(config({ host: '127.0.0.1', port: 1, user: 'postgres', password: 'hunter2-sluice-secret', table: 't' }), defaultContext());
      expect(unreachable).toEqual({ ok: false, reason: 'cannot connect to PostgreSQL at 127.0.0.1:1: the connection was refused: is the server running, and are the host and port right?' });
      const parsed = new URL(url());
      parsed.pathname = '/sluice_no_such_database';
      const noDatabase = await source.check(config({ url: parsed.toString(), table: 't' }), defaultContext());
      expect(noDatabase).toEqual({ ok: false, reason: expect.stringMatching(/database "sluice_no_such_database" does not exist/) });
    });
  });
});

async function readAllRaw(raw: Record<string, unknown>): Promise<SourceMessage[]> {
  const out: SourceMessage[] = [];
  for await (const message of source.read(config(raw), { streams: [], state: undefined }, defaultContext())) out.push(message);
  return out;
}
