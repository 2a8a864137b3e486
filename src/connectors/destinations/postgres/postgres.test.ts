/**
 * The postgres destination against a real PostgreSQL, in a database made for this file: table creation
 * from the stream schema with exact types and awkward text, append, upsert (twice: idempotent), mirror
 * deletes, insert/update/all, overwrite swapped in or discarded, new columns, a bad row rejected with the
 * server's reason while the rest of its batch lands, connection and auth failures, check(), the spec,
 * and the pure helpers (type mapping, COPY escaping). Skipped without a server (failing loudly under CI).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase, databaseTargets, postgresBackend } from '../../../../test/support/databases.ts';
import { ExactDecimal, LosslessNumber, stringifyJson } from '../../../protocol/json.ts';
import type { JsonObject } from '../../../protocol/json.ts';
import { defaultContext } from '../../../sdk/context.ts';
import { isStreamingObject } from '../../../sdk/destination.ts';
import type { DestinationSyncMode, OutgoingRecord, OutgoingStream, StreamingObject, WriteContext } from '../../../sdk/destination.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import type { Outcome } from '../../../sdk/outcome.ts';
import { parseConfig } from '../../../sdk/spec.ts';
import { EVENT_JSON_SCHEMA } from '../../sources/events/index.ts';
import { classifyError, copyLine, errorColumn } from './errors.ts';
import postgres from './index.ts';
import type { PostgresSession } from './session.ts';
import { columnTypeForSchema, columnTypeForValues, copyField, overwriteTableName, isOverwriteTableOf, quoteIdent, valueText } from './sql.ts';
import type { PostgresConfig } from './spec.ts';

const hasPostgres = (await postgresBackend()) === 'server';

const recordsObject = postgres.objects.records;
if (recordsObject === undefined || !isStreamingObject(recordsObject)) throw new Error('records must be a streaming object');
const object: StreamingObject<PostgresConfig, PostgresSession> = recordsObject;

function config(input: Record<string, unknown>): PostgresConfig {
  const parsed = parseConfig(postgres.spec, input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

function outgoing(...rows: (JsonObject | [JsonObject, 'create' | 'update' | 'delete'])[]): OutgoingRecord[] {
  return rows.map((row) => {
    const [data, op] = Array.isArray(row) ? row : [row, undefined];
    return { stream: 'test', data, json: stringifyJson(data), ...(op === undefined ? {} : { op }) };
  });
}

interface RunOptions {
  readonly syncMode?: DestinationSyncMode;
  readonly stream?: Partial<OutgoingStream>;
  readonly runId?: string;
  readonly complete?: boolean;
}

/** One run as the engine drives it: open, write each batch in turn, close. Returns every outcome. */
async function run(input: Record<string, unknown>, batches: readonly OutgoingRecord[][], options: RunOptions = {}): Promise<Outcome[]> {
  const cfg = config(input);
  const base = defaultContext({ runId: options.runId ?? `run-${Math.random().toString(36).slice(2, 10)}` });
  const session = await postgres.open!(cfg, base);
  const stream: OutgoingStream = { name: 'test', jsonSchema: { type: 'object' }, ...options.stream };
  const outcomes: Outcome[] = [];
  let failed = false;
  try {
    for (const [i, records] of batches.entries()) {
      const ctx: WriteContext<PostgresConfig, PostgresSession> = {
        ...base,
        config: cfg,
        session,
        object: 'records',
        syncMode: options.syncMode ?? 'append',
        idempotencyKey: `b${i}`,
        attempt: 1,
        stream,
      };
      outcomes.push(...(await object.write(records, ctx)));
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await postgres.close!(session, base, { complete: !failed && (options.complete ?? true) });
  }
  return outcomes;
}

const statuses = (outcomes: readonly Outcome[]): string[] => outcomes.map((outcome) => outcome.status);

describe('helpers', () => {
  it('maps JSON Schema types to column types', () => {
    expect(columnTypeForSchema({ type: 'integer' })).toBe('bigint');
    expect(columnTypeForSchema({ type: ['null', 'integer'] })).toBe('bigint');
    expect(columnTypeForSchema({ type: 'number' })).toBe('numeric');
    expect(columnTypeForSchema({ type: ['integer', 'number'] })).toBe('numeric');
    expect(columnTypeForSchema({ type: 'boolean' })).toBe('boolean');
    expect(columnTypeForSchema({ type: 'string', format: 'date-time' })).toBe('timestamptz');
    expect(columnTypeForSchema({ anyOf: [{ type: 'null' }, { type: 'string', format: 'date' }] })).toBe('date');
    expect(columnTypeForSchema({ type: 'string', format: 'email' })).toBe('text');
    expect(columnTypeForSchema({ type: 'object' })).toBe('jsonb');
    expect(columnTypeForSchema({ type: 'array', items: {} })).toBe('jsonb');
    expect(columnTypeForSchema({ type: ['string', 'boolean'] })).toBe('jsonb');
    expect(columnTypeForSchema({})).toBeUndefined();
    expect(columnTypeForSchema(true)).toBeUndefined();
  });

  it('reads a column type from values when the schema says nothing', () => {
    expect(columnTypeForValues([1, 2n, null, new LosslessNumber('12345678901234567890')])).toBe('bigint');
    expect(columnTypeForValues([1, 2.5])).toBe('numeric');
    expect(columnTypeForValues([new ExactDecimal('0.1000000000000000000001')])).toBe('numeric');
    expect(columnTypeForValues([true, undefined])).toBe('boolean');
    expect(columnTypeForValues(['2024-01-01'])).toBe('text');
    expect(columnTypeForValues([{ a: 1 }])).toBe('jsonb');
    expect(columnTypeForValues(['a', 1])).toBe('jsonb');
    expect(columnTypeForValues([null])).toBe('text');
  });

  it('writes exact values and escapes COPY text fields', () => {
    expect(valueText(12345678901234567890n, 'plain')).toBe('12345678901234567890');
    expect(valueText(new ExactDecimal('3.14159265358979323846264338327950288'), 'plain')).toBe('3.14159265358979323846264338327950288');
    expect(valueText({ n: 12345678901234567890n }, 'json')).toBe('{"n":12345678901234567890}');
    expect(valueText('text', 'json')).toBe('"text"');
    expect(valueText(true, 'plain')).toBe('true');
    expect(valueText(null, 'plain')).toBeNull();
    expect(copyField(null)).toBe('\\N');
    expect(copyField('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyField('\\N')).toBe('\\\\N');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
  });

  it('names overwrite tables within the identifier limit', () => {
    const long = 'x'.repeat(63);
    const name = overwriteTableName(long, '0f8e2a6c-1d2b-4c3a-9e8f-7a6b5c4d3e2f');
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    expect(name.endsWith('__sluice_0f8e2a6c')).toBe(true);
    expect(isOverwriteTableOf(name, long)).toBe(true);
    expect(isOverwriteTableOf('orders__sluice_ab12', 'orders')).toBe(true);
    expect(isOverwriteTableOf('orders_archive', 'orders')).toBe(false);
  });

  it('classifies errors', () => {
    expect(classifyError({ code: '22003' })).toBe('data');
    expect(classifyError({ code: '23505' })).toBe('data');
    expect(classifyError({ code: '28P01' })).toBe('auth');
    expect(classifyError({ code: '08006' })).toBe('transient');
    expect(classifyError({ code: '40P01' })).toBe('transient');
    expect(classifyError({ code: 'ECONNREFUSED' })).toBe('transient');
    expect(classifyError(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(classifyError({ code: '42703' })).toBe('config');
    const copyError = { code: '22P02', where: 'COPY sluice_stage, line 3, column amount: "abc"' };
    expect(copyLine(copyError)).toBe(3);
    expect(errorColumn(copyError)).toBe('amount');
  });
});

describe('spec', () => {
  it('takes a url or separate fields, not both, and never echoes the url', () => {
    expect(config({ url: 'postgres://u:p@h/db', table: 't' })).toMatchObject({ schema: 'public', batch_size: 10_000 });
    expect(config({ host: 'h', table: 't' })).toMatchObject({ host: 'h' });
    const neither = parseConfig(postgres.spec, { table: 't' });
    expect(neither.ok).toBe(false);
    const both = parseConfig(postgres.spec, { url: 'postgres://h/db', host: 'h', table: 't' });
    expect(both.ok).toBe(false);
    const bad = parseConfig(postgres.spec, { url: 'mysql://user:hunter22@h/db', table: 't' });
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad)).not.toContain('hunter22');
    expect(parseConfig(postgres.spec, { host: 'h', table: 'x'.repeat(64) }).ok).toBe(false);
  });
});

describe.skipIf(!hasPostgres)('on PostgreSQL', () => {
  let database: TestDatabase;
  let admin: pg.Pool;
  let url = '';
  let counter = 0;
  /** A fresh table name per test. */
  const fresh = (prefix = 't'): string => `${prefix}_${++counter}`;
  const query = async <Row extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]> => (await admin.query<Row>(text, params)).rows;
  const target = (table: string, extra: Record<string, unknown> = {}) => ({ url, table, ...extra });

  beforeAll(async () => {
    database = await databaseTargets.find((candidate) => candidate.name === 'postgres')!.create();
    url = database.url!;
    admin = new pg.Pool({ connectionString: url, max: 2 });
    admin.on('error', () => {});
  });
  afterAll(async () => {
    await admin?.end();
    await database?.drop();
  });

  async function columnsOf(table: string, schema = 'public'): Promise<Record<string, string>> {
    const rows = await query<{ name: string; type: string }>(
      `select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute where attrelid = to_regclass($1) and attnum > 0 and not attisdropped order by attnum`,
      [`${quoteIdent(schema)}.${quoteIdent(table)}`],
    );
    return Object.fromEntries(rows.map((row) => [row.name, row.type]));
  }

  async function primaryKeyOf(table: string): Promise<string[]> {
    const rows = await query<{ name: string }>(
      `select a.attname as name from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
        where i.indrelid = to_regclass($1) and i.indisprimary order by a.attnum`,
      [table],
    );
    return rows.map((row) => row.name);
  }

  it('creates the table from the stream schema, with exact numbers, timestamps, jsonb, nulls and awkward text', async () => {
    const table = fresh('types');
    const stream: Partial<OutgoingStream> = {
      jsonSchema: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          amount: { type: ['number', 'null'] },
          active: { type: 'boolean' },
          created_at: { type: 'string', format: 'date-time' },
          birthday: { type: 'string', format: 'date' },
          note: { type: 'string' },
          payload: { type: 'object' },
          tags: { type: 'array', items: { type: 'string' } },
          'Mixed "Case"': { type: 'string' },
        },
      },
      primaryKey: ['id'],
    };
    const awkward = 'quote " apostrophe \' tab\there\nnewline\r\ncrlf back\\slash \\N literal, comma; ünïcødé 🚀';
    const records = outgoing(
      {
        id: 9223372036854775807n,
        amount: new ExactDecimal('3.14159265358979323846264338327950288'),
        active: true,
        created_at: '2024-05-06T07:08:09.123456Z',
        birthday: '1990-02-03',
        note: awkward,
        payload: { nested: { big: 12345678901234567890n, exact: new ExactDecimal('0.10000000000000000000001'), text: awkward }, list: [1, null, 'x'] },
        tags: ['a', 'b\\c'],
        'Mixed "Case"': 'yes',
      },
      { id: 9007199254740993n, amount: null, active: false, created_at: null, birthday: null, note: '', payload: null, tags: [], 'Mixed "Case"': null },
      { id: 3, amount: 12345678901234567890123456789n, active: null, note: null },
    );
    expect(statuses(await run(target(table), [records], { stream }))).toEqual(['delivered', 'delivered', 'delivered']);

    expect(await columnsOf(table)).toEqual({
      id: 'bigint',
      amount: 'numeric',
      active: 'boolean',
      created_at: 'timestamp with time zone',
      birthday: 'date',
      note: 'text',
      payload: 'jsonb',
      tags: 'jsonb',
      'Mixed "Case"': 'text',
    });
    expect(await primaryKeyOf(table)).toEqual(['id']);
    const rows = await query(
      `select id::text, amount::text, active, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as created_at, birthday::text,
              note, note is null as note_null, payload::text, tags::text, "Mixed ""Case"""::text as mixed
         from ${table} order by id`,
    );
    expect(rows).toEqual([
      { id: '3', amount: '12345678901234567890123456789', active: null, created_at: null, birthday: null, note: null, note_null: true, payload: null, tags: null, mixed: null },
      { id: '9007199254740993', amount: null, active: false, created_at: null, birthday: null, note: '', note_null: false, payload: null, tags: '[]', mixed: null },
      {
        id: '9223372036854775807',
        amount: '3.14159265358979323846264338327950288',
        active: true,
        created_at: '2024-05-06T07:08:09.123456',
        birthday: '1990-02-03',
        note: awkward,
        note_null: false,
        payload: expect.any(String),
        tags: '["a", "b\\\\c"]',
        mixed: 'yes',
      },
    ]);
    // jsonb keeps the text and exact numbers of the payload.
    const [same] = await query<{ same: boolean }>(`select payload = $1::jsonb as same from ${table} where id = 9223372036854775807`, [records[0]!.data.payload === undefined ? null : stringifyJson(records[0]!.data.payload)]);
    expect(same).toEqual({ same: true });
    const [payload] = await query<{ text: string; big: string; exact: string }>(
      `select payload->'nested'->>'text' as text, payload->'nested'->>'big' as big, payload->'nested'->>'exact' as exact from ${table} where id = 9223372036854775807`,
    );
    expect(payload).toEqual({ text: awkward, big: '12345678901234567890', exact: '0.10000000000000000000001' });
  });

  it('without a stream schema, reads column types from the values', async () => {
    const table = fresh('inferred');
    await run(target(table), [outgoing({ id: 1, price: 2.5, ok: true, name: 'a', meta: { x: 1 }, empty: null })]);
    expect(await columnsOf(table)).toEqual({ id: 'bigint', price: 'numeric', ok: 'boolean', name: 'text', meta: 'jsonb', empty: 'text' });
  });

  it('appends: each run adds its rows', async () => {
    const table = fresh('append');
    await run(target(table), [outgoing({ id: 1, name: 'a' }, { id: 2, name: 'b' })]);
    await run(target(table), [outgoing({ id: 1, name: 'a' }), outgoing({ id: 3, name: 'c' })]);
    expect(await query(`select id::int, name from ${table} order by id, name`)).toEqual([
      { id: 1, name: 'a' },
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
      { id: 3, name: 'c' },
    ]);
  });

  it('upserts on the primary key: updates existing rows, inserts new ones, and a repeat changes nothing', async () => {
    const table = fresh('upsert');
    const stream = { primaryKey: ['id'], jsonSchema: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' }, score: { type: 'number' } } } };
    await run(target(table), [outgoing({ id: 1, name: 'a', score: 1 }, { id: 2, name: 'b', score: 2 }, { id: 3, name: 'c', score: 3 })], { syncMode: 'upsert', stream });
    const second = [outgoing({ id: 2, name: 'B', score: 20 }, { id: 3, name: 'C', score: new ExactDecimal('30.000000000000000000001') }, { id: 4, name: 'd', score: 4 })];
    const versions: unknown[] = [];
    for (let round = 0; round < 2; round++) {
      expect(statuses(await run(target(table), second, { syncMode: 'upsert', stream }))).toEqual(['delivered', 'delivered', 'delivered']);
      versions.push(await query(`select id::int, xmin::text from ${table} order by id`));
      expect(await query(`select id::int, name, score::text from ${table} order by id`)).toEqual([
        { id: 1, name: 'a', score: '1' },
        { id: 2, name: 'B', score: '20' },
        { id: 3, name: 'C', score: '30.000000000000000000001' },
        { id: 4, name: 'd', score: '4' },
      ]);
    }
    // The repeat found every row equal already and rewrote none.
    expect(versions[1]).toEqual(versions[0]);
  });

  it('upserts the last version of a key that appears twice in one batch', async () => {
    const table = fresh('dupes');
    const outcomes = await run(target(table), [outgoing({ id: 1, v: 'first' }, { id: 2, v: 'x' }, { id: 1, v: 'second' })], { syncMode: 'upsert', stream: { primaryKey: ['id'] } });
    expect(statuses(outcomes)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(await query(`select id::int, v from ${table} order by id`)).toEqual([
      { id: 1, v: 'second' },
      { id: 2, v: 'x' },
    ]);
  });

  it('upserts on a composite key, and uses the table primary key when the stream names none', async () => {
    const table = fresh('composite');
    const stream = { primaryKey: ['tenant', 'id'] };
    await run(target(table), [outgoing({ tenant: 'a', id: 1, v: 1 }, { tenant: 'b', id: 1, v: 2 })], { syncMode: 'upsert', stream });
    expect(await primaryKeyOf(table)).toEqual(['tenant', 'id']);
    await run(target(table), [outgoing({ tenant: 'b', id: 1, v: 3 }, { tenant: 'a', id: 2, v: 4 })], { syncMode: 'upsert' });
    expect(await query(`select tenant, id::int, v::int from ${table} order by tenant, id`)).toEqual([
      { tenant: 'a', id: 1, v: 1 },
      { tenant: 'a', id: 2, v: 4 },
      { tenant: 'b', id: 1, v: 3 },
    ]);
  });

  it('mirror: upserts creates and updates, deletes by the key fields of a delete', async () => {
    const table = fresh('mirror');
    const stream = { primaryKey: ['id'] };
    await run(target(table), [outgoing({ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 3, name: 'c' })], { syncMode: 'mirror', stream });
    const outcomes = await run(
      target(table),
      [outgoing([{ id: 2 }, 'delete'], [{ id: 3, name: 'C' }, 'update'], [{ id: 4, name: 'd' }, 'create'], [{ id: 99 }, 'delete'], [{ name: 'no key' }, 'delete'])],
      { syncMode: 'mirror', stream },
    );
    expect(statuses(outcomes)).toEqual(['delivered', 'delivered', 'delivered', 'delivered', 'rejected']);
    expect(outcomes[4]).toMatchObject({ reason: expect.stringContaining('"id"') });
    expect(await query(`select id::int, name from ${table} order by id`)).toEqual([
      { id: 1, name: 'a' },
      { id: 3, name: 'C' },
      { id: 4, name: 'd' },
    ]);
  });

  it('insert leaves existing rows alone; update changes existing rows and rejects missing ones; all upserts with a key and appends without', async () => {
    const table = fresh('diff');
    const stream = { primaryKey: ['id'] };
    await run(target(table), [outgoing({ id: 1, name: 'a' })], { syncMode: 'upsert', stream });
    expect(statuses(await run(target(table), [outgoing({ id: 1, name: 'changed' }, { id: 2, name: 'b' })], { syncMode: 'insert', stream }))).toEqual(['delivered', 'delivered']);
    const updated = await run(target(table), [outgoing({ id: 2, name: 'B' }, { id: 7, name: 'missing' })], { syncMode: 'update', stream });
    expect(statuses(updated)).toEqual(['delivered', 'rejected']);
    expect(updated[1]).toMatchObject({ reason: expect.stringContaining('no row') });
    expect(statuses(await run(target(table), [outgoing({ id: 1, name: 'A' }, { id: 3, name: 'c' })], { syncMode: 'all', stream }))).toEqual(['delivered', 'delivered']);
    expect(await query(`select id::int, name from ${table} order by id`)).toEqual([
      { id: 1, name: 'A' },
      { id: 2, name: 'B' },
      { id: 3, name: 'c' },
    ]);

    const keyless = fresh('all_keyless');
    await run(target(keyless), [outgoing({ id: 1 })], { syncMode: 'all' });
    await run(target(keyless), [outgoing({ id: 1 })], { syncMode: 'all' });
    expect(await query(`select count(*)::int as n from ${keyless}`)).toEqual([{ n: 2 }]);
  });

  it('refuses upsert without a primary key, naming the fix', async () => {
    const table = fresh('nokey');
    const failure = await run(target(table), [outgoing({ id: 1 })], { syncMode: 'upsert' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SluiceError);
    expect(failure).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('needs a primary key') });

    await query(`create table ${fresh('nounique')} (id bigint, v text)`);
    const noUnique = await run(target(`nounique_${counter}`), [outgoing({ id: 1, v: 'x' })], { syncMode: 'upsert', stream: { primaryKey: ['id'] } }).catch((error: unknown) => error);
    expect(noUnique).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('add primary key') });
  });

  it('adds a column for a new field, keeping existing rows and columns', async () => {
    const table = fresh('evolve');
    await run(target(table), [outgoing({ id: 1, name: 'a' })], { stream: { primaryKey: ['id'] }, syncMode: 'upsert' });
    await query(`alter table ${table} add column kept_by_user text default 'mine'`);
    // The schema gained `seen_at` and `nickname` (no record carries a nickname yet); a record brings `score`.
    const stream = { primaryKey: ['id'], jsonSchema: { type: 'object', properties: { seen_at: { type: 'string', format: 'date-time' }, nickname: { type: 'string' } } } };
    await run(target(table), [outgoing({ id: 2, name: 'b', seen_at: '2024-01-01T00:00:00Z', score: 1.5 })], { stream, syncMode: 'upsert' });
    expect(await columnsOf(table)).toEqual({ id: 'bigint', name: 'text', kept_by_user: 'text', seen_at: 'timestamp with time zone', nickname: 'text', score: 'numeric' });
    expect(await query(`select id::int, name, kept_by_user, seen_at is not null as seen, score::text from ${table} order by id`)).toEqual([
      { id: 1, name: 'a', kept_by_user: 'mine', seen: false, score: null },
      { id: 2, name: 'b', kept_by_user: 'mine', seen: true, score: '1.5' },
    ]);
  });

  it('rejects the bad rows of a batch with the server message naming the column, and delivers the rest', async () => {
    const table = fresh('bad');
    const stream = {
      primaryKey: ['id'],
      jsonSchema: { type: 'object', properties: { id: { type: 'integer' }, qty: { type: 'integer' }, at: { type: 'string', format: 'date-time' } } },
    };
    const batch = outgoing(
      { id: 1, qty: 1, at: '2024-01-01T00:00:00Z' },
      { id: 2, qty: 2n ** 70n, at: '2024-01-01T00:00:00Z' }, // out of bigint range
      { id: 3, qty: 3, at: '2024-01-01T00:00:00Z' },
      { id: 4, qty: 4, at: 'not a time' },
      { id: 5, qty: 5, at: null },
      { id: 6, qty: 1.5, at: null },
      { id: 7, qty: 7, at: null },
    );
    const outcomes = await run(target(table), [batch], { syncMode: 'upsert', stream });
    expect(statuses(outcomes)).toEqual(['delivered', 'rejected', 'delivered', 'rejected', 'delivered', 'rejected', 'delivered']);
    expect(outcomes[1]).toMatchObject({ reason: expect.stringMatching(/out of range.*column qty/) });
    expect(outcomes[3]).toMatchObject({ reason: expect.stringMatching(/timestamp with time zone.*column at/) });
    expect(outcomes[5]).toMatchObject({ reason: expect.stringMatching(/bigint.*column qty/) });
    expect(await query(`select id::int from ${table} order by id`)).toEqual([{ id: 1 }, { id: 3 }, { id: 5 }, { id: 7 }]);
  });

  it('finds rows that break a constraint at merge time by halving the batch', async () => {
    const table = fresh('constraint');
    await query(`create table ${table} (id bigint primary key, email text not null, qty int check (qty >= 0))`);
    const rows = Array.from({ length: 40 }, (_, i) => ({ id: i + 1, email: `u${i + 1}@example.com`, qty: i }));
    rows[9] = { id: 10, email: null as never, qty: 1 };
    rows[30] = { id: 31, email: 'x@example.com', qty: -1 };
    const outcomes = await run(target(table), [outgoing(...rows)], { syncMode: 'append' });
    const rejectedAt = outcomes.flatMap((outcome, index) => (outcome.status === 'rejected' ? [index] : []));
    expect(rejectedAt).toEqual([9, 30]);
    expect(outcomes[9]).toMatchObject({ reason: expect.stringMatching(/null value in column "email"/) });
    expect(outcomes[30]).toMatchObject({ reason: expect.stringMatching(/check constraint/) });
    expect(await query(`select count(*)::int as n from ${table}`)).toEqual([{ n: 38 }]);
    // Appending the same keys again: each is a duplicate, rejected with the key named.
    const again = await run(target(table), [outgoing({ id: 1, email: 'a', qty: 1 }, { id: 100, email: 'b', qty: 1 })], { syncMode: 'append' });
    expect(statuses(again)).toEqual(['rejected', 'delivered']);
    expect(again[0]).toMatchObject({ reason: expect.stringContaining('Key (id)=(1) already exists') });
  });

  it('merges concurrent writes in the order they were handed over, even when the first needs a search for bad rows', async () => {
    const table = fresh('ordered');
    const cfg = config(target(table));
    const base = defaultContext({ runId: 'ordered' });
    const session = await postgres.open!(cfg, base);
    const ctx: WriteContext<PostgresConfig, PostgresSession> = {
      ...base,
      config: cfg,
      session,
      object: 'records',
      syncMode: 'upsert',
      idempotencyKey: 'k',
      attempt: 1,
      stream: { name: 'test', jsonSchema: { type: 'object', properties: { id: { type: 'integer' }, v: { type: 'string' }, n: { type: 'integer' } } }, primaryKey: ['id'] },
    };
    try {
      const first = outgoing(...Array.from({ length: 500 }, (_, i) => ({ id: i + 1, v: 'first', n: i === 250 ? 2n ** 64n : i })));
      const second = outgoing(...Array.from({ length: 500 }, (_, i) => ({ id: i + 1, v: 'second', n: i })));
      const [a, b] = await Promise.all([object.write(first, ctx), object.write(second, ctx)]);
      expect(a.filter((outcome) => outcome.status === 'rejected')).toHaveLength(1);
      expect(b.every((outcome) => outcome.status === 'delivered')).toBe(true);
    } finally {
      await postgres.close!(session, base, { complete: true });
    }
    expect(await query(`select v, count(*)::int as n from ${table} group by v`)).toEqual([{ v: 'second', n: 500 }]);
  });

  it('rejects a field that cannot be a column, without sending it', async () => {
    const table = fresh('names');
    const outcomes = await run(target(table), [outgoing({ id: 1, ['x'.repeat(64)]: 1 }, { id: 2, __sluice_row: 1 }, { id: 3 })]);
    expect(statuses(outcomes)).toEqual(['rejected', 'rejected', 'delivered']);
    expect(await columnsOf(table)).toEqual({ id: 'bigint' });
  });

  it('writes into a schema it creates, with quoted identifiers', async () => {
    const schema = `Sch "${++counter}"`;
    const table = 'My Table';
    await run(target(table, { schema }), [outgoing({ 'First Name': "O'Brien", id: 1 })], { syncMode: 'upsert', stream: { primaryKey: ['id'] } });
    expect(await query(`select "First Name" as name from ${quoteIdent(schema)}.${quoteIdent(table)}`)).toEqual([{ name: "O'Brien" }]);
  });

  it('through the engine: the stream schema and primary key shape the table, and a rerun upserts', async () => {
    const { runActivation } = await import('../../../engine/run.ts');
    const { MemoryStateStore } = await import('../../../engine/state-store.ts');
    const { MemoryLedger } = await import('../../../engine/ledger.ts');
    const { defineSource } = await import('../../../sdk/source.ts');
    const { z } = await import('zod');
    const table = fresh('engine');
    const source = (names: readonly string[]) =>
      defineSource({
        id: 'people',
        title: 'People',
        description: 'A few people.',
        spec: z.strictObject({}),
        check: async () => ({ ok: true }),
        discover: async () => [
          {
            name: 'people',
            jsonSchema: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' }, born: { type: 'string', format: 'date' } } },
            primaryKey: [['id']],
            syncModes: ['full_refresh' as const],
          },
        ],
        async *read() {
          for (const [index, name] of names.entries()) yield { type: 'record' as const, stream: 'people', data: { id: index + 1, name, born: '2000-01-02' } };
        },
      });
    for (const names of [['ada', 'bob'], ['ada', 'BOB', 'cy']]) {
      const summary = await runActivation({
        activation: { name: 'people', source: { definition: source(names), config: {} }, destination: { definition: postgres, config: config(target(table)) }, syncMode: 'upsert' },
        stateStore: new MemoryStateStore(),
        ledger: new MemoryLedger(),
      });
      expect(summary).toMatchObject({ status: 'succeeded', counters: { delivered: names.length } });
    }
    expect(await columnsOf(table)).toEqual({ id: 'bigint', name: 'text', born: 'date' });
    expect(await primaryKeyOf(table)).toEqual(['id']);
    expect(await query(`select id::int, name from ${table} order by id`)).toEqual([
      { id: 1, name: 'ada' },
      { id: 2, name: 'BOB' },
      { id: 3, name: 'cy' },
    ]);
  });

  describe('an events table (Segment-shaped events)', () => {
    const context = { library: { name: 'analytics.js', version: '2.11.1' }, page: { path: '/checkout', url: 'https://shop.example/checkout?x=1' }, ip: '203.0.113.7', userAgent: 'Mozilla/5.0' };
    const track = (n: number, extra: JsonObject = {}): JsonObject => ({
      type: 'track',
      messageId: `msg-${n}`,
      anonymousId: `anon-${n % 2}`,
      userId: null,
      event: 'Order Completed',
      properties: { order_id: `o-${n}`, revenue: 12345678901234567890n, products: [{ sku: 'a', price: 9.99, quantity: 2 }], coupon: null },
      context,
      integrations: { All: true },
      originalTimestamp: '2026-05-06T07:08:09.123Z',
      sentAt: '2026-05-06T07:08:10.000Z',
      receivedAt: '2026-05-06T07:08:11.456Z',
      timestamp: '2026-05-06T07:08:10.579Z',
      ...extra,
    });
    const identify = (n: number): JsonObject => ({
      type: 'identify',
      messageId: `msg-${n}`,
      anonymousId: 'anon-1',
      userId: 'user-1',
      traits: { email: 'ada@example.com', plan: 'pro', address: { city: 'Paris' } },
      context,
      receivedAt: '2026-05-06T08:00:00.000Z',
      timestamp: '2026-05-06T08:00:00.000Z',
    });

    it('appends events as routed today (no stream schema): nested properties, context and traits become jsonb, new fields new columns', async () => {
      const table = fresh('events');
      expect(statuses(await run(target(table), [outgoing(track(1), track(2)), outgoing(identify(3), track(4, { userId: 'user-1' }))]))).toEqual(Array(4).fill('delivered'));
      expect(await columnsOf(table)).toEqual({
        type: 'text',
        messageId: 'text',
        anonymousId: 'text',
        userId: 'text',
        event: 'text',
        properties: 'jsonb',
        context: 'jsonb',
        integrations: 'jsonb',
        originalTimestamp: 'text',
        sentAt: 'text',
        receivedAt: 'text',
        timestamp: 'text',
        traits: 'jsonb',
      });
      // The nested values are queryable as JSON, numbers exact; a second run appends again.
      expect(
        await query(`select "messageId", properties->>'order_id' as order_id, properties->>'revenue' as revenue, properties->'products'->0->>'price' as price, context->'page'->>'path' as path, traits->'address'->>'city' as city, "userId" from ${table} order by "messageId"`),
      ).toEqual([
        { messageId: 'msg-1', order_id: 'o-1', revenue: '12345678901234567890', price: '9.99', path: '/checkout', city: null, userId: null },
        { messageId: 'msg-2', order_id: 'o-2', revenue: '12345678901234567890', price: '9.99', path: '/checkout', city: null, userId: null },
        { messageId: 'msg-3', order_id: null, revenue: null, price: null, path: '/checkout', city: 'Paris', userId: 'user-1' },
        { messageId: 'msg-4', order_id: 'o-4', revenue: '12345678901234567890', price: '9.99', path: '/checkout', city: null, userId: 'user-1' },
      ]);
      await run(target(table), [outgoing(track(5))]);
      expect(await query(`select count(*)::int as n from ${table}`)).toEqual([{ n: 5 }]);
    });

    it('with the events source\'s schema: timestamps become timestamptz, ids that may be numbers jsonb, and insert on messageId drops repeats', async () => {
      const table = fresh('events_typed');
      const stream: Partial<OutgoingStream> = { jsonSchema: EVENT_JSON_SCHEMA, primaryKey: ['messageId'] };
      const first = await run(target(table), [outgoing(track(1), track(2, { userId: 42 }))], { syncMode: 'insert', stream });
      expect(statuses(first)).toEqual(['delivered', 'delivered']);
      const columns = await columnsOf(table);
      expect(columns).toMatchObject({ messageId: 'text', receivedAt: 'timestamp with time zone', timestamp: 'timestamp with time zone', userId: 'jsonb', anonymousId: 'jsonb', properties: 'jsonb', context: 'jsonb' });
      expect(await primaryKeyOf(table)).toEqual(['messageId']);
      // A client that sends the same event again (same messageId) does not make a second row.
      const again = await run(target(table), [outgoing(track(2, { userId: 42 }), track(3))], { syncMode: 'insert', stream });
      expect(statuses(again)).toEqual(['delivered', 'delivered']);
      expect(await query(`select "messageId", "userId" #>> '{}' as user_id, "timestamp" = '2026-05-06T07:08:10.579Z'::timestamptz as exact from ${table} order by "messageId"`)).toEqual([
        { messageId: 'msg-1', user_id: null, exact: true },
        { messageId: 'msg-2', user_id: '42', exact: true },
        { messageId: 'msg-3', user_id: null, exact: true },
      ]);
    });

    it('into a table made for events (README): ids as text whatever the client sent, times as timestamptz', async () => {
      const table = fresh('events_ddl');
      await query(`create table ${table} ("messageId" text primary key, type text not null, "userId" text, "anonymousId" text, event text,
        properties jsonb, traits jsonb, context jsonb, "timestamp" timestamptz, "receivedAt" timestamptz, loaded_at timestamptz default now())`);
      const outcomes = await run(target(table), [outgoing(track(1, { userId: 42, anonymousId: 7 }), identify(2), track(3))], { syncMode: 'insert', stream: { primaryKey: ['messageId'] } });
      expect(statuses(outcomes)).toEqual(['delivered', 'delivered', 'delivered']);
      expect(await query(`select "messageId", "userId", "anonymousId", loaded_at is not null as loaded from ${table} order by "messageId"`)).toEqual([
        { messageId: 'msg-1', userId: '42', anonymousId: '7', loaded: true },
        { messageId: 'msg-2', userId: 'user-1', anonymousId: 'anon-1', loaded: true },
        { messageId: 'msg-3', userId: null, anonymousId: 'anon-1', loaded: true },
      ]);
      // Fields the table lacked were added as columns, typed from their values.
      expect(await columnsOf(table)).toMatchObject({ integrations: 'jsonb', originalTimestamp: 'text', sentAt: 'text' });
      // Event activations append: a repeated messageId is rejected (into the ledger), the rest of the batch lands.
      const appended = await run(target(table), [outgoing(track(1), track(4))], { syncMode: 'append' });
      expect(statuses(appended)).toEqual(['rejected', 'delivered']);
      expect(appended[0]).toMatchObject({ reason: expect.stringContaining('duplicate key value violates unique constraint') });
      expect(await query(`select count(*)::int as n from ${table}`)).toEqual([{ n: 4 }]);
    });
  });

  describe('overwrite', () => {
    it('fills a new table and swaps it in when the run completes; an incomplete run leaves the old content', async () => {
      const table = fresh('over');
      await run(target(table), [outgoing({ id: 1, name: 'old' }, { id: 2, name: 'old' })], { syncMode: 'upsert', stream: { primaryKey: ['id'] } });
      await query(`create index ${table}_name_idx on ${table} (name)`);

      // A complete run: the table holds exactly this run's rows, with its key and index kept.
      const runId = 'a1b2c3d4-0000-4000-8000-000000000000';
      const cfg = config(target(table));
      const base = defaultContext({ runId });
      const session = await postgres.open!(cfg, base);
      const ctx: WriteContext<PostgresConfig, PostgresSession> = { ...base, config: cfg, session, object: 'records', syncMode: 'overwrite', idempotencyKey: 'k', attempt: 1, stream: { name: 'test', jsonSchema: {}, primaryKey: ['id'] } };
      await object.write(outgoing({ id: 3, name: 'new' }, { id: 3, name: 'newer' }, { id: 4, name: 'new', extra: true }), ctx);
      // Until the swap, readers see the old content; the new rows sit in the overwrite table.
      expect(await query(`select id::int from ${table} order by id`)).toEqual([{ id: 1 }, { id: 2 }]);
      expect(await query(`select id::int from ${table}__sluice_a1b2c3d4 order by id`)).toEqual([{ id: 3 }, { id: 4 }]);
      await postgres.close!(session, base, { complete: true });
      expect(await query(`select id::int, name, extra from ${table} order by id`)).toEqual([
        { id: 3, name: 'newer', extra: null },
        { id: 4, name: 'new', extra: true },
      ]);
      expect(await primaryKeyOf(table)).toEqual(['id']);
      expect(await query(`select conname from pg_constraint where conrelid = $1::regclass and contype = 'p'`, [table])).toEqual([{ conname: `${table}_pkey` }]);
      expect((await query<{ indexdef: string }>(`select indexdef from pg_indexes where tablename = $1`, [table])).some((row) => row.indexdef.includes('(name)'))).toBe(true);

      // An incomplete run: its table is dropped, the content stays.
      await run(target(table), [outgoing({ id: 5, name: 'lost' })], { syncMode: 'overwrite', complete: false });
      expect(await query(`select id::int from ${table} order by id`)).toEqual([{ id: 3 }, { id: 4 }]);
      expect(await query(`select relname from pg_class where relname like $1`, [`${table}\\_\\_sluice%`])).toEqual([]);
    });

    it('keeps serial columns working: their sequences move to the new table', async () => {
      const table = fresh('over_serial');
      await query(`create table ${table} (row_id serial, id bigint primary key, name text)`);
      await query(`insert into ${table} (id, name) values (1, 'old')`);
      await run(target(table), [outgoing({ id: 2, name: 'new' }, { id: 3, name: 'new' })], { syncMode: 'overwrite' });
      expect(await query(`select row_id, id::int, name from ${table} order by id`)).toEqual([
        { row_id: 2, id: 2, name: 'new' },
        { row_id: 3, id: 3, name: 'new' },
      ]);
      await run(target(table), [outgoing({ id: 4, name: 'newer' })], { syncMode: 'overwrite' });
      expect(await query(`select row_id, id::int from ${table}`)).toEqual([{ row_id: 4, id: 4 }]);
    });

    it('creates the table when it does not exist, and drops overwrite tables left by killed runs', async () => {
      const table = fresh('over_new');
      await query(`create table ${table}__sluice_dead0001 (id bigint)`);
      await run(target(table), [outgoing({ id: 1 }), outgoing({ id: 2 })], { syncMode: 'overwrite' });
      expect(await query(`select id::int from ${table} order by id`)).toEqual([{ id: 1 }, { id: 2 }]);
      expect(await query(`select relname from pg_class where relname like $1`, [`${table}\\_\\_sluice%`])).toEqual([]);
    });

    it('keeps the old content when the swap cannot happen, and says why', async () => {
      const table = fresh('over_view');
      await run(target(table), [outgoing({ id: 1 })], { syncMode: 'append' });
      await query(`create view ${table}_v as select * from ${table}`);
      const failure = await run(target(table), [outgoing({ id: 2 })], { syncMode: 'overwrite' }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(SluiceError);
      expect((failure as Error).message).toMatch(/old content stays.*depend/);
      expect(await query(`select id::int from ${table}`)).toEqual([{ id: 1 }]);
      expect(await query(`select relname from pg_class where relname like $1`, [`${table}\\_\\_sluice%`])).toEqual([]);
    });
  });

  describe('failures', () => {
    it('turns a refused connection into retry outcomes', async () => {
      const outcomes = await run({ host: '127.0.0.1', port: 1, table: 'x' }, [outgoing({ id: 1 }, { id: 2 })]);
      expect(statuses(outcomes)).toEqual(['retry', 'retry']);
      expect(outcomes[0]).toMatchObject({ reason: expect.stringContaining('127.0.0.1:1') });
    });

    it('fails the run with AUTH_REFUSED when credentials are refused, without the password', async () => {
      const parsed = new URL(url);
      const failure = await run({ host: parsed.hostname, port: Number(parsed.port || 5432), database: parsed.pathname.slice(1), user: 'no_such_user_sluice', password: 'hunter2-secret', table: 'x' }, [
        outgoing({ id: 1 }),
      ]).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(SluiceError);
      expect(failure).toMatchObject({ code: 'AUTH_REFUSED', retryClass: 'auth' });
      expect((failure as Error).message).not.toContain('hunter2-secret');
    });

    it('check passes on a working config and refuses an unreachable one, naming the server', async () => {
      expect(await postgres.check(config(target('checked')), defaultContext())).toEqual({ ok: true });
      const refused = await postgres.check(config({ host: '127.0.0.1', port: 1, password: 'hunter2-secret', table: 'x' }), defaultContext());
      expect(refused.ok).toBe(false);
      if (!refused.ok) {
        expect(refused.reason).toContain('127.0.0.1:1');
        expect(refused.reason).not.toContain('hunter2-secret');
      }
      // Roles belong to the cluster: a random one, dropped again.
      const role = `sluice_reader_${randomBytes(5).toString('hex')}`;
      await query(`create role ${role} login`);
      try {
        await query(`revoke create on schema public from public`);
        const readOnly = await postgres.check(config({ url: url.replace('postgres@', `${role}@`), table: 'elsewhere', schema: 'public' }), defaultContext());
        expect(readOnly).toMatchObject({ ok: false, reason: expect.stringContaining('may not create tables in schema public') });
      } finally {
        await query(`drop role ${role}`);
      }
    });
  });
});
