/**
 * `check`, `discover` and `read` for MySQL and MariaDB. A read is one streaming query: the server sends
 * rows as fast as they are taken, and when `fetch_size` rows wait unread the driver stops reading the
 * socket (TCP backpressure), so memory holds about a fetch, never the table. Rows arrive as arrays;
 * columns whose driver value is not yet the JSON value are converted per value (types.ts).
 */
import type { Readable } from 'node:stream';
import type { CheckResult, ConnectorContext } from '../../../sdk/context.ts';
import type { ReadRequest, SourceMessage, StreamDescriptor } from '../../../sdk/source.ts';
import { LosslessNumber } from '../../../protocol/json.ts';
import type { JsonValue } from '../../../protocol/json.ts';
import { type ColumnInfo, assertConfiguredColumns, streamDescriptor } from '../../sql-source/columns.ts';
import { checkReason } from '../../sql-source/errors.ts';
import { SUBQUERY_ALIAS, type Target, quoteIdentifier } from '../../sql-source/identifiers.ts';
import { type Row, type RowReader, batchedMessages, bookmarkText, planRead, readRows } from '../../sql-source/read.ts';
import { secretsOf, streamNameOf } from '../../sql-source/spec.ts';
import { type Column, type MysqlSession, connect, describe, primaryKey, queryError, targetOf } from './client.ts';
import type { MysqlConfig } from './spec.ts';
import { type Convert, T, isNotNull } from './types.ts';

export function streamOf(config: MysqlConfig): string {
  return streamNameOf(config, config.table === undefined ? undefined : targetOf(config).table?.name);
}

export async function checkMysql(config: MysqlConfig): Promise<CheckResult> {
  let session: MysqlSession | undefined;
  try {
    session = await connect(config);
    await session.query('select 1').catch((error: unknown) => {
      throw queryError(error, session as MysqlSession, 'running select 1');
    });
    const target = targetOf(config);
    const columns = await describe(session, target);
    assertConfiguredColumns(
      config,
      columns.map((column) => column.name),
      target.what,
    );
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: checkReason(error, secretsOf(config)) };
  } finally {
    await session?.close();
  }
}

export async function discoverMysql(config: MysqlConfig): Promise<StreamDescriptor> {
  const session = await connect(config);
  try {
    const target = targetOf(config);
    const described = await describe(session, target);
    const key = target.table === undefined ? undefined : await primaryKey(session, target.table);
    // A query's columns may be null whatever their source columns say (outer joins): only a table's flags count.
    const columns: ColumnInfo[] = described.map((column) => ({
      name: column.name,
      schema: column.type.schema,
      nullable: target.table === undefined || !isNotNull(column.field),
    }));
    return streamDescriptor(config, streamOf(config), columns, key, target.what);
  } catch (error) {
    throw queryError(error, session, 'discovering the columns');
  } finally {
    await session.close();
  }
}

export function readMysql(config: MysqlConfig, request: ReadRequest, ctx: ConnectorContext): AsyncIterable<SourceMessage> {
  return batchedMessages(() => {
    const plan = planRead(streamOf(config), config.cursor_field, request, config.fetch_size);
    if (plan === undefined) return (async function* nothing() {})();
    return readRows(plan, () => openReader(config, plan.cursor), ctx.signal);
  });
}

/**
 * The most rows left waiting in the driver's stream before it stops reading the socket. Small on purpose:
 * rows that wait long outlive the garbage collector's young generation and are copied into the old one —
 * measured, a 10,000-row buffer costs ~50 MB more peak RSS end to end than 1,000, for no more speed.
 */
const HIGH_WATER_ROWS = 1000;

const NUMERIC_LITERAL = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;
const ISO_DATE_TIME = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)(?:Z|[+-]00:00)?$/;

/**
 * The bookmark in SQL. Numbers go in as literals, digit for digit — a string parameter compared with a
 * BIGINT or DECIMAL column would be compared as a double — after checking they are plain numbers; strings
 * are parameters, and for a DATETIME/TIMESTAMP cursor the ISO form read earlier goes back to MySQL's form.
 */
export function bookmarkSql(value: JsonValue, column: Column | undefined): { sql: string; values: unknown[] } {
  if (typeof value === 'number' || typeof value === 'bigint' || value instanceof LosslessNumber) {
    const text = bookmarkText(value);
    if (NUMERIC_LITERAL.test(text)) return { sql: text, values: [] };
  }
  let text = bookmarkText(value);
  const type = column?.field.columnType;
  if (type === T.DATETIME || type === T.TIMESTAMP || type === T.DATE || type === T.NEWDATE) {
    const match = ISO_DATE_TIME.exec(text);
    if (match !== null) text = `${match[1]} ${match[2]}`;
  }
  return { sql: '?', values: [text] };
}

export function selectSql(target: Target, columns: readonly Column[], cursor: { column: string; after: JsonValue | undefined } | undefined): { sql: string; values: unknown[] } {
  if (cursor === undefined) return { sql: target.query ?? `select * from ${target.from}`, values: [] };
  const quoted = quoteIdentifier(cursor.column, '`');
  const column = target.query === undefined ? quoted : `${SUBQUERY_ALIAS}.${quoted}`;
  if (cursor.after === undefined) return { sql: `select * from ${target.from} order by ${column}`, values: [] };
  const bookmark = bookmarkSql(
    cursor.after,
    columns.find((entry) => entry.name === cursor.column),
  );
  return { sql: `select * from ${target.from} where ${column} > ${bookmark.sql} order by ${column}`, values: bookmark.values };
}

export async function openReader(config: MysqlConfig, cursorPlan: { column: string; after: JsonValue | undefined } | undefined): Promise<RowReader> {
  const session = await connect(config);
  try {
    const target = targetOf(config);
    const columns = await describe(session, target);
    const { sql, values } = selectSql(target, columns, cursorPlan);
    const query = session.connection.query({ sql, values, rowsAsArray: true });
    const stream = query.stream({ highWaterMark: Math.min(config.fetch_size, HIGH_WATER_ROWS) });
    const rows = new StreamedRows(
      stream,
      config.fetch_size,
      columns.map((column) => column.type.convert),
    );
    return {
      columns: columns.map((column) => column.name),
      async next() {
        try {
          return await rows.next();
        } catch (error) {
          throw queryError(error, session, `reading ${target.what}`);
        }
      },
      close: () => session.close(),
    };
  } catch (error) {
    await session.close();
    throw queryError(error, session, 'starting the read');
  }
}

/**
 * Rows taken from the driver's stream as they are there — up to `max` at a time, waiting only when none
 * are — and converted in place, column by column, where the column needs it.
 */
class StreamedRows {
  private ended = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;
  private readonly converters: ReadonlyArray<readonly [number, Convert]>;

  constructor(
    private readonly stream: Readable,
    private readonly max: number,
    converters: ReadonlyArray<Convert | undefined>,
  ) {
    this.converters = converters.flatMap((convert, index) => (convert === undefined ? [] : [[index, convert] as const]));
    stream.on('readable', () => this.notify());
    stream.on('end', () => {
      this.ended = true;
      this.notify();
    });
    stream.on('error', (error: unknown) => {
      this.failure ??= { error };
      this.notify();
    });
  }

  async next(): Promise<Row[] | undefined> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure.error;
      const rows: JsonValue[][] = [];
      let row: JsonValue[] | null;
      while (rows.length < this.max && (row = this.stream.read() as JsonValue[] | null) !== null) rows.push(row);
      if (rows.length > 0) {
        this.convert(rows);
        return rows;
      }
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private convert(rows: JsonValue[][]): void {
    for (const [index, convert] of this.converters) {
      for (const row of rows) {
        const value = row[index];
        if (value !== null && value !== undefined) row[index] = convert(value);
      }
    }
  }

  private notify(): void {
    const wake = this.wake;
    if (wake === undefined) return;
    this.wake = undefined;
    wake();
  }
}
