/**
 * A run's hold on the database: a small `pg` pool, the table it writes (created or extended on the first
 * write), and the overwrite table it swaps in when the run completes.
 *
 * Each batch is COPYed (text format) into a temporary staging table that has the target's column types,
 * then merged in the same transaction: insert (append), `insert … on conflict (key) do update` (upsert),
 * `… do nothing` (insert), `update … from` (update) and `delete … using` (deletes of mirror mode).
 * A data error (SQLSTATE 21/22/23) rolls the batch back; the rows at fault are then found — the one a COPY
 * error names by line, or by halving the batch for errors of the merge — and rejected with the server's
 * message, while the others are delivered in their order. Two batches may be in flight: the second is
 * loaded into its own staging table while the first merges, but merges (with any search for bad rows)
 * run one at a time in call order, so a later batch's version of a row always wins.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { JsonObject, JsonValue } from '../../../protocol/json.ts';
import type { ConnectorContext } from '../../../sdk/context.ts';
import type { DestinationSyncMode, OutgoingRecord, OutgoingStream, WriteContext } from '../../../sdk/destination.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import { delivered, rejected, retry } from '../../../sdk/outcome.ts';
import type { Outcome } from '../../../sdk/outcome.ts';
import { classifyError, copyLine, describePgError, rowReason, sluiceErrorFor } from './errors.ts';
import { connectionOptions, describeTarget, MAX_IDENTIFIER_BYTES, secretsOf } from './spec.ts';
import type { PostgresConfig } from './spec.ts';
import {
  type ColumnType,
  type ValueKind,
  columnTypeForSchema,
  columnTypeForValues,
  copyRow,
  isOverwriteTableOf,
  overwriteTableName,
  qualified,
  quoteIdent,
  schemaProperties,
  valueKindOf,
  valueText,
} from './sql.ts';

/** Staging columns of Sluice's own; a record field with one of these names is refused. */
const ROW_COLUMN = '__sluice_row';
const DELETE_COLUMN = '__sluice_delete';
const STAGE = 'pg_temp.sluice_stage';
/** Column types compared before an upsert rewrites a row (types with a plain equality operator). */
const COMPARABLE_TYPE = /^(bigint|integer|smallint|boolean|text|date|uuid|jsonb|numeric(\(.*\))?|character varying(\(\d+\))?|character(\(\d+\))?|timestamp(\(\d\))? with(out)? time zone|time(\(\d\))? without time zone)$/;
/** Rows per chunk written to the COPY stream. */
const CHUNK_ROWS = 500;

/** What the destination knows of a table: its columns (name → SQL type) and its unique keys. */
export interface TableShape {
  readonly schema: string;
  readonly name: string;
  readonly columns: Map<string, string>;
  readonly primaryKey: readonly string[];
  /** Column sets of the non-partial, immediate unique indexes (the primary key's among them). */
  readonly uniqueKeys: readonly (readonly string[])[];
}

/** How a batch is merged into the table. */
type Merge = 'insert' | 'insert-ignore' | 'upsert' | 'update';

interface Plan {
  readonly merge: Merge;
  readonly key: readonly string[] | undefined;
  /** The batch's columns (record fields), in table order. */
  readonly columns: readonly string[];
  readonly stageTypes: readonly string[];
}

/** A batch ready to load: its plan, its rows (one per key), and the records refused before sending. */
interface Encoded {
  readonly outcomes: (Outcome | undefined)[];
  readonly rows: readonly Row[];
  readonly plan: Plan;
  readonly supersededBy: ReadonlyMap<number, number>;
}

interface Row {
  /** Position in the batch. */
  readonly index: number;
  readonly isDelete: boolean;
  /** The COPY line, without the row number in front. */
  readonly line: string;
}

type Queryable = pg.Pool | pg.PoolClient;

export class PostgresSession {
  readonly pool: pg.Pool;
  readonly config: PostgresConfig;
  readonly secrets: readonly string[];
  private readonly ctx: ConnectorContext;
  private encodeTurn: Promise<unknown> = Promise.resolve();
  private copyTurn: Promise<void> = Promise.resolve();
  private mergeTurn: Promise<void> = Promise.resolve();
  private readonly pending = new Set<Promise<unknown>>();
  private prepared: Promise<TableShape> | undefined;
  private shape: TableShape | undefined;
  /** Set when the first write was an overwrite: the table being filled, swapped in on a complete close. */
  private overwriteTable: string | undefined;
  private closed = false;

  constructor(config: PostgresConfig, ctx: ConnectorContext) {
    this.config = config;
    this.ctx = ctx;
    this.secrets = secretsOf(config);
    this.pool = new pg.Pool({ ...connectionOptions(config), max: 3, connectionTimeoutMillis: 30_000, idleTimeoutMillis: 30_000, application_name: 'sluice' });
    // An idle client that loses its connection must not crash the process; the next query reconnects.
    this.pool.on('error', (error) => ctx.logger.warn({ error: describePgError(error, this.secrets) }, 'postgres: idle connection lost'));
  }

  /** The table this run writes into (the overwrite table during an overwrite run). */
  get tableName(): string {
    return this.overwriteTable ?? this.config.table;
  }

  /**
   * Batches go through three stages: encoding (and any table change) in call order; COPY into a staging
   * table, which for one batch may overlap the merge of the one before; and merge + commit, strictly in
   * call order — a batch's merge (and any search for bad rows) finishes before the next one's begins.
   */
  write(records: readonly OutgoingRecord[], ctx: WriteContext<PostgresConfig, PostgresSession>): Promise<readonly Outcome[]> {
    if (records.length === 0) return Promise.resolve([]);
    const staged = this.encodeTurn.then(() => this.encode(records, ctx));
    this.encodeTurn = staged.catch(() => undefined);
    let copyDone!: () => void;
    const copyTurn = this.copyTurn;
    this.copyTurn = new Promise<void>((resolve) => (copyDone = resolve));
    let mergeDone!: () => void;
    const mergeTurn = this.mergeTurn;
    this.mergeTurn = new Promise<void>((resolve) => (mergeDone = resolve));
    const written = this.writeStaged(records.length, staged, copyTurn, copyDone, mergeTurn).finally(() => {
      copyDone();
      mergeDone();
    });
    this.pending.add(written);
    void written.finally(() => this.pending.delete(written)).catch(() => undefined);
    return written;
  }

  /** Swaps an overwrite table in (complete) or drops it (incomplete), then releases the pool. */
  async close(complete: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await Promise.allSettled([...this.pending]);
      if (this.overwriteTable !== undefined && this.prepared !== undefined) {
        const ready = await this.prepared.then(
          () => true,
          () => false,
        );
        if (ready && complete) await this.swap(this.overwriteTable);
        else await this.dropQuietly(this.overwriteTable);
      }
    } finally {
      await this.pool.end().catch(() => undefined);
    }
  }

  private async writeStaged(count: number, staged: Promise<Encoded>, copyTurn: Promise<void>, copyDone: () => void, mergeTurn: Promise<void>): Promise<readonly Outcome[]> {
    let outcomes = new Array<Outcome | undefined>(count).fill(undefined);
    try {
      const batch = await staged;
      outcomes = batch.outcomes;
      const { rows, plan } = batch;
      if (rows.length > 0) {
        // Load this batch while the one before may still be merging (only one batch loads at a time).
        await copyTurn;
        const copied = await this.openAndCopy(rows, plan).then(
          (client) => ({ client, error: undefined }),
          (error: unknown) => ({ client: undefined, error }),
        );
        copyDone();
        await mergeTurn;
        if (copied.client !== undefined) {
          try {
            this.settle(rows, plan, outcomes, await this.mergeAndCommit(copied.client, rows, plan));
          } catch (error) {
            await this.split(rows, plan, outcomes, error);
          }
        } else {
          await this.split(rows, plan, outcomes, copied.error);
        }
      }
      return this.finish(batch, outcomes);
    } catch (error) {
      if (error instanceof SluiceError) throw error;
      if (classifyError(error) === 'transient') {
        const reason = `postgres at ${describeTarget(this.config)}: ${describePgError(error, this.secrets)}`;
        // Rows already committed stay delivered; the others go round again.
        return Array.from(outcomes, (outcome) => outcome ?? retry(reason));
      }
      throw sluiceErrorFor(error, `writing to ${this.qualifiedName()}`, this.secrets);
    }
  }

  /** Table changes, the merge plan, and each record's COPY line; records that cannot be sent are refused here. */
  private async encode(records: readonly OutgoingRecord[], ctx: WriteContext<PostgresConfig, PostgresSession>): Promise<Encoded> {
    const outcomes = new Array<Outcome | undefined>(records.length).fill(undefined);
    // Field names that cannot be columns: refused before anything is sent.
    for (const [index, record] of records.entries()) {
      const bad = Object.keys(record.data).find((name) => fieldProblem(name) !== undefined);
      if (bad !== undefined) outcomes[index] = rejected(`field ${JSON.stringify(bad)}: ${fieldProblem(bad)}`);
    }
    const stream = streamOf(ctx, records);
    const accepted = records.filter((_, index) => outcomes[index] === undefined);
    await this.prepare(ctx, stream, accepted);
    const fields = fieldsOf(accepted);
    const shape = await this.ensureColumns(fields, stream, accepted);
    const plan = this.plan(ctx.syncMode, stream, shape, fields, records, outcomes);

    // Keep only the last record for each key: one statement cannot touch a row twice.
    const kinds = plan.columns.map((column) => valueKindOf(shape.columns.get(column) ?? 'text'));
    const keyKinds = plan.key?.map((column) => valueKindOf(shape.columns.get(column) ?? 'text'));
    const rows: Row[] = [];
    const lastOfKey = new Map<string, number>();
    const supersededBy = new Map<number, number>();
    for (const [index, record] of records.entries()) {
      if (outcomes[index] !== undefined) continue;
      const isDelete = record.op === 'delete';
      if (plan.key !== undefined && keyKinds !== undefined) {
        const keyText = keyOf(record.data, plan.key, keyKinds);
        if (keyText === undefined) {
          outcomes[index] = rejected(`the primary key field ${plan.key.map((name) => JSON.stringify(name)).join(', ')} is missing or null`);
          continue;
        }
        const earlier = lastOfKey.get(keyText);
        if (earlier !== undefined) supersededBy.set(earlier, index);
        lastOfKey.set(keyText, index);
      } else if (isDelete) {
        outcomes[index] = rejected('a delete needs a primary key: the stream names none and the table has none');
        continue;
      }
      rows.push({ index, isDelete, line: copyRow(record.data, plan.columns, kinds, isDelete ? 't' : 'f') });
    }
    const live = supersededBy.size === 0 ? rows : rows.filter((row) => !supersededBy.has(row.index));
    return { outcomes, rows: live, plan, supersededBy };
  }

  /** Every record's outcome: a record replaced by a later one with the same key shares that one's fate. */
  private finish(batch: Encoded, outcomes: (Outcome | undefined)[]): Outcome[] {
    for (const [earlier] of batch.supersededBy) {
      let last = earlier;
      while (batch.supersededBy.has(last)) last = batch.supersededBy.get(last)!;
      const final = outcomes[last];
      outcomes[earlier] =
        final === undefined || final.status === 'delivered'
          ? delivered()
          : final.status === 'rejected'
            ? rejected(`a later record with the same key in this batch was refused: ${final.reason}`)
            : final;
    }
    return Array.from(outcomes, (outcome) => outcome ?? delivered());
  }

  /** Writes rows in one transaction; on a data error, finds the rows at fault and delivers the rest, in order. */
  private async deliver(rows: readonly Row[], plan: Plan, outcomes: (Outcome | undefined)[]): Promise<void> {
    if (rows.length === 0) return;
    let matched: ReadonlySet<number> | undefined;
    try {
      matched = await this.mergeAndCommit(await this.openAndCopy(rows, plan), rows, plan);
    } catch (error) {
      await this.split(rows, plan, outcomes, error);
      return;
    }
    this.settle(rows, plan, outcomes, matched);
  }

  /**
   * After `rows` failed together: a data error is narrowed down — the row a COPY error names is refused
   * (those before it are tried together), otherwise the rows are halved — until each bad row is refused
   * with the server's reason. Any other error is thrown.
   */
  private async split(rows: readonly Row[], plan: Plan, outcomes: (Outcome | undefined)[], error: unknown): Promise<void> {
    if (classifyError(error) !== 'data') throw error;
    if (rows.length === 1) {
      outcomes[rows[0]!.index] = rejected(rowReason(error, this.secrets));
      return;
    }
    const line = copyLine(error);
    if (line !== undefined && line >= 1 && line <= rows.length) {
      outcomes[rows[line - 1]!.index] = rejected(rowReason(error, this.secrets));
      await this.deliver(rows.slice(0, line - 1), plan, outcomes);
      const rest = rows.slice(line);
      const half = Math.ceil(rest.length / 2);
      await this.deliver(rest.slice(0, half), plan, outcomes);
      await this.deliver(rest.slice(half), plan, outcomes);
      return;
    }
    const half = Math.ceil(rows.length / 2);
    await this.deliver(rows.slice(0, half), plan, outcomes);
    await this.deliver(rows.slice(half), plan, outcomes);
  }

  private settle(rows: readonly Row[], plan: Plan, outcomes: (Outcome | undefined)[], matched: ReadonlySet<number> | undefined): void {
    for (const row of rows) {
      outcomes[row.index] =
        matched !== undefined && !row.isDelete && !matched.has(row.index)
          ? rejected(`no row in ${this.qualifiedName()} has this primary key (${plan.key?.join(', ')}), and update mode does not insert`)
          : delivered();
    }
  }

  /** Opens a transaction and COPYs the rows into a staging table with the target's column types. */
  private async openAndCopy(rows: readonly Row[], plan: Plan): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const stageColumns = [`${ROW_COLUMN} integer`, `${DELETE_COLUMN} boolean`, ...plan.columns.map((column, i) => `${quoteIdent(column)} ${plan.stageTypes[i]}`)];
      await client.query(`create temp table sluice_stage (${stageColumns.join(', ')}) on commit drop`);
      const columnList = [ROW_COLUMN, DELETE_COLUMN, ...plan.columns.map(quoteIdent)].join(', ');
      await pipeline(Readable.from(chunks(rows)), client.query(copyStreams.from(`copy ${STAGE} (${columnList}) from stdin`)));
      // The planner knows nothing of a fresh temp table; joins against a large target need its size.
      if (hasDeletes(rows, plan) || plan.merge === 'update') await client.query(`analyze ${STAGE}`);
      return client;
    } catch (error) {
      await this.abandon(client, error);
      throw error;
    }
  }

  /** Deletes and merges the staged rows, commits, and lets the client go. Returns the rows an update matched. */
  private async mergeAndCommit(client: pg.PoolClient, rows: readonly Row[], plan: Plan): Promise<ReadonlySet<number> | undefined> {
    try {
      const target = this.qualifiedName();
      if (hasDeletes(rows, plan)) {
        const on = plan.key!.map((column) => `t.${quoteIdent(column)} = s.${quoteIdent(column)}`).join(' and ');
        await client.query(`delete from ${target} as t using ${STAGE} as s where s.${DELETE_COLUMN} and ${on}`);
      }
      let matched: Set<number> | undefined;
      if (rows.some((row) => !row.isDelete)) {
        const result = await client.query<{ sluice_row: number }>(mergeSql(target, plan));
        if (plan.merge === 'update') matched = new Set(result.rows.map((row) => row.sluice_row));
      }
      await client.query('commit');
      client.release();
      return matched;
    } catch (error) {
      await this.abandon(client, error);
      throw error;
    }
  }

  /** Rolls back and releases a client; one whose connection failed is destroyed, not handed out again. */
  private async abandon(client: pg.PoolClient, error: unknown): Promise<void> {
    let broken: unknown = classifyError(error) === 'transient' ? error : undefined;
    await client.query('rollback').catch((rollbackError: unknown) => {
      broken = rollbackError;
    });
    client.release(broken === undefined ? undefined : broken instanceof Error ? broken : true);
  }

  /** The first write decides the table (the target, or an overwrite table) and makes sure it exists. */
  private prepare(ctx: WriteContext<PostgresConfig, PostgresSession>, stream: OutgoingStream, records: readonly OutgoingRecord[]): Promise<TableShape> {
    this.prepared ??= this.prepareNow(ctx.syncMode, stream, records).catch((error: unknown) => {
      // A failed first attempt (the server was away) is tried again by the next write.
      this.prepared = undefined;
      throw error;
    });
    return this.prepared;
  }

  private async prepareNow(syncMode: DestinationSyncMode, stream: OutgoingStream, records: readonly OutgoingRecord[]): Promise<TableShape> {
    const { schema, table } = this.config;
    const existingSchema = await this.pool.query('select 1 from pg_namespace where nspname = $1', [schema]);
    if (existingSchema.rowCount === 0) await this.pool.query(`create schema if not exists ${quoteIdent(schema)}`);
    const existing = await inspectTable(this.pool, schema, table);
    if (syncMode !== 'overwrite') {
      if (existing === undefined) {
        await this.pool.query(createTableSql(schema, table, stream, records));
        this.ctx.logger.info({ table: `${schema}.${table}` }, 'postgres: created table');
      }
      this.setShape(await this.mustInspect(table));
      // Properties the stream's schema gained since the table was made become columns now.
      return this.ensureColumns(schemaFields(stream), stream, records);
    }
    const staging = overwriteTableName(table, this.ctx.runId);
    this.overwriteTable = staging;
    // A table of the same name is what a killed attempt of this very run left.
    await this.pool.query(`drop table if exists ${qualified(schema, staging)}`);
    if (existing === undefined) {
      await this.pool.query(createTableSql(schema, staging, stream, records));
    } else {
      // The same columns, defaults, constraints and indexes as the table it is to replace.
      await this.pool.query(`create table ${qualified(schema, staging)} (like ${qualified(schema, table)} including all)`);
      const key = stream.primaryKey ?? [];
      if (existing.primaryKey.length === 0 && key.length > 0 && key.every((column) => existing.columns.has(column))) {
        await this.pool.query(`alter table ${qualified(schema, staging)} add primary key (${key.map(quoteIdent).join(', ')})`);
      }
    }
    this.ctx.logger.info({ table: `${schema}.${staging}`, replaces: `${schema}.${table}` }, 'postgres: overwrite writes a new table, swapped in when the run completes');
    this.setShape(await this.mustInspect(staging));
    return this.ensureColumns(schemaFields(stream), stream, records);
  }

  /** Adds a column for each field of the batch the table lacks (never drops or changes one). */
  private async ensureColumns(fields: readonly string[], stream: OutgoingStream, records: readonly OutgoingRecord[]): Promise<TableShape> {
    const shape = this.shape!;
    const missing = fields.filter((name) => !shape.columns.has(name));
    if (missing.length === 0) return shape;
    const properties = schemaProperties(stream.jsonSchema);
    const additions = missing.map((name) => `add column if not exists ${quoteIdent(name)} ${typeFor(name, properties, records)}`);
    await this.pool.query(`alter table ${this.qualifiedName()} ${additions.join(', ')}`);
    this.ctx.logger.info({ table: `${this.config.schema}.${this.tableName}`, columns: missing }, 'postgres: added columns');
    return this.setShape(await this.mustInspect(this.tableName));
  }

  private plan(syncMode: DestinationSyncMode, stream: OutgoingStream, shape: TableShape, fields: readonly string[], records: readonly OutgoingRecord[], outcomes: readonly (Outcome | undefined)[]): Plan {
    const streamKey = stream.primaryKey !== undefined && stream.primaryKey.length > 0 ? stream.primaryKey : undefined;
    const key = streamKey ?? (shape.primaryKey.length > 0 ? shape.primaryKey : undefined);
    const unique = key !== undefined && shape.uniqueKeys.some((columns) => sameSet(columns, key));
    const where = `${syncMode} into ${this.qualifiedName()}`;
    const needKey = (): void => {
      if (key === undefined) throw new SluiceError('CONFIG_INVALID', `${where} needs a primary key: the stream names none and the table has none`);
    };
    const needUnique = (): void => {
      needKey();
      if (!unique) {
        throw new SluiceError(
          'CONFIG_INVALID',
          `${where} needs a primary key or unique index on (${key!.join(', ')}); add one (alter table ${this.qualifiedName()} add primary key (${key!.map(quoteIdent).join(', ')})) or use append`,
        );
      }
    };
    let merge: Merge;
    switch (syncMode) {
      case 'append':
        merge = 'insert';
        break;
      case 'overwrite':
        merge = key !== undefined && unique ? 'upsert' : 'insert';
        break;
      case 'insert':
        if (key === undefined) merge = 'insert';
        else {
          needUnique();
          merge = 'insert-ignore';
        }
        break;
      case 'all':
        if (key === undefined) merge = 'insert';
        else {
          needUnique();
          merge = 'upsert';
        }
        break;
      case 'update':
        needKey();
        merge = 'update';
        break;
      case 'upsert':
      case 'mirror':
        needUnique();
        merge = 'upsert';
        break;
      default:
        throw new SluiceError('CONFIG_INVALID', `sync mode ${String(syncMode)} is not supported by the postgres destination`);
    }
    const usedKey = merge === 'insert' && !records.some((record, index) => record.op === 'delete' && outcomes[index] === undefined) ? undefined : key;
    // The batch's columns (and the key's, for deletes), in table order.
    const order = [...shape.columns.keys()];
    const wanted = new Set(fields);
    for (const column of usedKey ?? []) wanted.add(column);
    const columns = order.filter((column) => wanted.has(column));
    return { merge, key: usedKey, columns, stageTypes: columns.map((column) => shape.columns.get(column)!) };
  }

  private async swap(staging: string): Promise<void> {
    const { schema, table } = this.config;
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      try {
        // Sequences the old table owns (serial columns) feed the new table's defaults too: hand them over,
        // or dropping the old table would drop them — or refuse.
        const owned = await client.query<{ sequence: string; sequence_schema: string; column: string }>(
          `select s.relname as sequence, n.nspname as sequence_schema, a.attname as column
             from pg_depend d
             join pg_class s on s.oid = d.objid and s.relkind = 'S'
             join pg_namespace n on n.oid = s.relnamespace
             join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
            where d.classid = 'pg_class'::regclass and d.refobjid = to_regclass($1) and d.deptype = 'a'`,
          [qualified(schema, table)],
        );
        for (const { sequence, sequence_schema, column } of owned.rows) {
          if (this.shape?.columns.has(column)) {
            await client.query(`alter sequence ${qualified(sequence_schema, sequence)} owned by ${qualified(schema, staging)}.${quoteIdent(column)}`);
          }
        }
        await client.query(`drop table if exists ${qualified(schema, table)}`);
        await client.query(`alter table ${qualified(schema, staging)} rename to ${quoteIdent(table)}`);
        // Indexes (and the constraints they back) were named after the overwrite table: give them the usual names.
        const indexes = await client.query<{ relname: string }>(
          `select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = to_regclass($1)`,
          [qualified(schema, table)],
        );
        for (const { relname } of indexes.rows) {
          if (!relname.startsWith(staging)) continue;
          const usual = `${table}${relname.slice(staging.length)}`;
          if (Buffer.byteLength(usual) > MAX_IDENTIFIER_BYTES) continue;
          const taken = await client.query('select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2', [schema, usual]);
          if (taken.rowCount === 0) await client.query(`alter index ${qualified(schema, relname)} rename to ${quoteIdent(usual)}`);
        }
        // Overwrite tables that killed runs left behind for this table.
        const leftovers = await client.query<{ relname: string }>(
          `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind in ('r', 'p') and c.relname like $2`,
          [schema, `${escapeLike(table.slice(0, 20))}%`],
        );
        for (const { relname } of leftovers.rows) {
          if (relname !== staging && isOverwriteTableOf(relname, table)) await client.query(`drop table if exists ${qualified(schema, relname)}`);
        }
        await client.query('commit');
        this.ctx.logger.info({ table: `${schema}.${table}` }, 'postgres: overwrite swapped in the new table');
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      }
    } catch (error) {
      await this.dropQuietly(staging);
      throw sluiceErrorFor(error, `replacing ${qualified(schema, table)} with the rows of this run (the old content stays)`, this.secrets);
    } finally {
      client.release();
    }
  }

  private async dropQuietly(table: string): Promise<void> {
    await this.pool.query(`drop table if exists ${qualified(this.config.schema, table)}`).catch((error: unknown) => {
      this.ctx.logger.warn({ table: `${this.config.schema}.${table}`, error: describePgError(error, this.secrets) }, 'postgres: could not drop the overwrite table');
    });
  }

  private async mustInspect(table: string): Promise<TableShape> {
    const shape = await inspectTable(this.pool, this.config.schema, table);
    if (shape === undefined) throw new SluiceError('DESTINATION_FAILED', `table ${qualified(this.config.schema, table)} vanished while the run was writing it`);
    return shape;
  }

  private setShape(shape: TableShape): TableShape {
    this.shape = shape;
    return shape;
  }

  private qualifiedName(): string {
    return qualified(this.config.schema, this.tableName);
  }
}

/** The columns and unique keys of a table, or undefined when there is none by that name. */
export async function inspectTable(db: Queryable, schema: string, table: string): Promise<TableShape | undefined> {
  const found = await db.query<{ oid: number; relkind: string }>(
    'select c.oid, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2',
    [schema, table],
  );
  const relation = found.rows[0];
  if (relation === undefined) return undefined;
  if (relation.relkind !== 'r' && relation.relkind !== 'p') {
    throw new SluiceError('CONFIG_INVALID', `${qualified(schema, table)} is not a table (it is a ${relkindName(relation.relkind)}); name a table, or one that does not exist yet`);
  }
  const columns = await db.query<{ name: string; type: string }>(
    `select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
      where attrelid = $1 and attnum > 0 and not attisdropped and attgenerated = '' order by attnum`,
    [relation.oid],
  );
  const keys = await db.query<{ primary: boolean; columns: string[] }>(
    `select i.indisprimary as primary,
            array(select a.attname from unnest(i.indkey) with ordinality as k(attnum, ord)
                  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum order by k.ord)::text[] as columns
       from pg_index i
      where i.indrelid = $1 and i.indisunique and i.indimmediate and i.indpred is null and i.indexprs is null
      order by i.indisprimary desc`,
    [relation.oid],
  );
  return {
    schema,
    name: table,
    columns: new Map(columns.rows.map((row) => [row.name, row.type])),
    primaryKey: keys.rows.find((row) => row.primary)?.columns ?? [],
    uniqueKeys: keys.rows.map((row) => row.columns),
  };
}

function relkindName(relkind: string): string {
  return ({ v: 'view', m: 'materialized view', f: 'foreign table', S: 'sequence', i: 'index', c: 'type' } as Record<string, string>)[relkind] ?? `relation of kind ${relkind}`;
}

/**
 * `create table if not exists` with a column for every property of the stream's schema and every field
 * of the first batch (the schema's type, else one read from the values), and the stream's primary key.
 */
export function createTableSql(schema: string, table: string, stream: OutgoingStream, records: readonly OutgoingRecord[]): string {
  const properties = schemaProperties(stream.jsonSchema);
  const names = [...Object.keys(properties).filter((name) => fieldProblem(name) === undefined)];
  const seen = new Set(names);
  for (const name of [...fieldsOf(records), ...(stream.primaryKey ?? [])]) {
    if (!seen.has(name) && fieldProblem(name) === undefined) {
      seen.add(name);
      names.push(name);
    }
  }
  const definitions = names.map((name) => `${quoteIdent(name)} ${typeFor(name, properties, records)}`);
  const key = stream.primaryKey ?? [];
  if (key.length > 0 && key.every((name) => seen.has(name))) definitions.push(`primary key (${key.map(quoteIdent).join(', ')})`);
  return `create table if not exists ${qualified(schema, table)} (${definitions.join(', ')})`;
}

function typeFor(name: string, properties: Record<string, unknown>, records: readonly OutgoingRecord[]): ColumnType {
  return columnTypeForSchema(properties[name]) ?? columnTypeForValues(valuesOf(records, name));
}

function* valuesOf(records: readonly OutgoingRecord[], name: string): Iterable<JsonValue | undefined> {
  for (const record of records) yield record.data[name];
}

/** The stream schema's property names that can be columns. */
function schemaFields(stream: OutgoingStream): string[] {
  return Object.keys(schemaProperties(stream.jsonSchema)).filter((name) => fieldProblem(name) === undefined);
}

/** Every field the records carry, in first-seen order. */
function fieldsOf(records: readonly OutgoingRecord[]): string[] {
  const seen = new Set<string>();
  for (const record of records) for (const name in record.data) seen.add(name);
  return [...seen];
}

/** Why a field name cannot be a column, or undefined when it can. */
export function fieldProblem(name: string): string | undefined {
  if (name === '') return 'an empty name cannot be a column';
  if (name.includes('\0')) return 'a column name cannot hold a NUL character';
  if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) return `a column name is at most ${MAX_IDENTIFIER_BYTES} bytes; map it to a shorter name`;
  if (name === ROW_COLUMN || name === DELETE_COLUMN) return 'this name is reserved by Sluice';
  return undefined;
}

function streamOf(ctx: WriteContext<PostgresConfig, PostgresSession>, records: readonly OutgoingRecord[]): OutgoingStream {
  // Older engines (and direct calls) may not describe the stream: the records then decide.
  const stream = (ctx as { stream?: OutgoingStream }).stream;
  return stream ?? { name: records[0]?.stream ?? 'records', jsonSchema: {} };
}

function keyOf(data: JsonObject, key: readonly string[], kinds: readonly ValueKind[]): string | undefined {
  if (key.length === 1) {
    const text = valueText(data[key[0]!], kinds[0]!);
    return text === null ? undefined : text;
  }
  const parts: string[] = [];
  for (let index = 0; index < key.length; index++) {
    const text = valueText(data[key[index]!], kinds[index]!);
    if (text === null) return undefined;
    parts.push(text);
  }
  return JSON.stringify(parts);
}

function* chunks(rows: readonly Row[]): Generator<string> {
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    let chunk = '';
    const end = Math.min(rows.length, start + CHUNK_ROWS);
    for (let index = start; index < end; index++) {
      const row = rows[index]!;
      chunk += `${row.index}\t${row.line}`;
    }
    yield chunk;
  }
}

function mergeSql(target: string, plan: Plan): string {
  const columns = plan.columns.map(quoteIdent);
  const key = plan.key ?? [];
  const rest = plan.columns.filter((column) => !key.includes(column)).map(quoteIdent);
  const select = `select ${columns.join(', ')} from ${STAGE} where not ${DELETE_COLUMN}`;
  switch (plan.merge) {
    case 'insert':
      return `insert into ${target} (${columns.join(', ')}) ${select}`;
    case 'insert-ignore':
      return `insert into ${target} (${columns.join(', ')}) ${select} on conflict (${key.map(quoteIdent).join(', ')}) do nothing`;
    case 'upsert': {
      const conflict = `insert into ${target} as t (${columns.join(', ')}) ${select} on conflict (${key.map(quoteIdent).join(', ')})`;
      if (rest.length === 0) return `${conflict} do nothing`;
      const set = `${conflict} do update set ${rest.map((column) => `${column} = excluded.${column}`).join(', ')}`;
      // A row whose values are all equal already is not rewritten: a rerun of unchanged data writes nothing.
      // Only for types whose equality is plain (json, xml, geometric types have none, or an odd one).
      const comparable = plan.columns.every((column, index) => key.includes(column) || COMPARABLE_TYPE.test(plan.stageTypes[index]!));
      if (!comparable) return set;
      const list = (prefix: string): string => rest.map((column) => `${prefix}.${column}`).join(', ');
      return rest.length === 1 ? `${set} where ${list('t')} is distinct from ${list('excluded')}` : `${set} where (${list('t')}) is distinct from (${list('excluded')})`;
    }
    case 'update': {
      const set = (rest.length === 0 ? key.map(quoteIdent) : rest).map((column) => `${column} = s.${column}`).join(', ');
      const on = key.map((column) => `t.${quoteIdent(column)} = s.${quoteIdent(column)}`).join(' and ');
      return `update ${target} as t set ${set} from ${STAGE} as s where not s.${DELETE_COLUMN} and ${on} returning s.${ROW_COLUMN} as sluice_row`;
    }
  }
}

function hasDeletes(rows: readonly Row[], plan: Plan): boolean {
  return plan.key !== undefined && rows.some((row) => row.isDelete);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}
