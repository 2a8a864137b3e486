/**
 * Talking to MySQL and MariaDB: connecting (a url or host/port/…, TLS by mode) with the driver set to
 * hand over BIGINT, DECIMAL, dates and JSON as strings (types.ts makes them exact values), the session
 * settings a read relies on, describing what a table or query returns (columns and types from a
 * `limit 0` run; primary key and MariaDB's JSON columns from information_schema), and failures as
 * sentences that name the server but never a secret.
 *
 * Session settings: time_zone UTC, so TIMESTAMP values are read as UTC instants; read-only transactions,
 * so a custom query cannot change data; and a long net_write_timeout, since a streaming read may leave the
 * server waiting while the destination catches up (backpressure), which by default it gives up on after 60 s.
 */
import mysql from 'mysql2';
import type { Connection, ConnectionOptions, FieldPacket, SslOptions } from 'mysql2';
import type { ErrorCode } from '../../../sdk/errors.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import { errorText, networkProblem, sqlError } from '../../sql-source/errors.ts';
import { type Target, type TableName, targetOf as sharedTargetOf } from '../../sql-source/identifiers.ts';
import { type Endpoint, endpointOf, secretsOf } from '../../sql-source/spec.ts';
import type { MysqlConfig } from './spec.ts';
import { MYSQL_DEFAULT_PORT } from './spec.ts';
import { type FieldInfo, type MysqlType, typeOf } from './types.ts';

const CONNECT_TIMEOUT_MS = 10_000;
/** Seconds the server waits on a paused reader before it drops the connection. */
const NET_WRITE_TIMEOUT_S = 3600;

export interface MysqlSession {
  readonly connection: Connection;
  readonly endpoint: Endpoint;
  readonly secrets: readonly string[];
  /** `MySQL at host:port/database`, for messages. */
  readonly where: string;
  query<T = unknown>(sql: string, values?: readonly unknown[]): Promise<[T, FieldPacket[]]>;
  /** Drops the connection at once (a streaming result cannot be ended politely); never throws. */
  close(): Promise<void>;
}

export function sslOption(mode: string | boolean | undefined): SslOptions | undefined {
  switch (mode) {
    case undefined:
    case false:
    case 'disabled':
    case 'DISABLED':
    case 'preferred':
    case 'PREFERRED':
      return undefined;
    case 'required':
    case 'REQUIRED':
      return { rejectUnauthorized: false };
    case 'verify_ca':
    case 'VERIFY_CA':
      return { rejectUnauthorized: true, verifyIdentity: false };
    default:
      return { rejectUnauthorized: true, verifyIdentity: true };
  }
}

export function connectionOptions(config: MysqlConfig): { options: ConnectionOptions; endpoint: Endpoint } {
  const endpoint = endpointOf(config, MYSQL_DEFAULT_PORT);
  const params = endpoint.params;
  const options: ConnectionOptions = {
    host: endpoint.host,
    port: endpoint.port,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: true,
    jsonStrings: true,
    charset: 'utf8mb4',
    connectTimeout: CONNECT_TIMEOUT_MS,
    enableKeepAlive: true,
    multipleStatements: false,
  };
  const ssl = sslOption(config.ssl ?? params.get('ssl-mode') ?? params.get('sslmode') ?? undefined);
  if (ssl !== undefined) options.ssl = ssl;
  if (endpoint.database !== undefined) options.database = endpoint.database;
  if (endpoint.user !== undefined) options.user = endpoint.user;
  if (endpoint.password !== undefined) options.password = endpoint.password;
  return { options, endpoint };
}

export async function connect(config: MysqlConfig): Promise<MysqlSession> {
  const { options, endpoint } = connectionOptions(config);
  const secrets = secretsOf(config);
  const where = `MySQL at ${endpoint.host}:${endpoint.port}${endpoint.database === undefined ? '' : `/${endpoint.database}`}`;
  const connection = mysql.createConnection(options);
  // A connection that dies while idle must not crash the process; the next query reports it.
  connection.on('error', () => undefined);
  const promised = connection.promise();
  let closed = false;
  const session: MysqlSession = {
    connection,
    endpoint,
    secrets,
    where,
    query: <T>(sql: string, values?: readonly unknown[]) => promised.query(sql, values as unknown[] | undefined) as unknown as Promise<[T, FieldPacket[]]>,
    close: async () => {
      if (closed) return;
      closed = true;
      connection.destroy();
    },
  };
  try {
    await promised.connect();
    await promised.query(`set time_zone = '+00:00', net_write_timeout = ${NET_WRITE_TIMEOUT_S}`);
    await promised.query('set session transaction read only');
  } catch (error) {
    await session.close();
    throw connectError(error, session);
  }
  return session;
}

function mysqlCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The server's own words, without the driver's prefixes. */
function serverMessage(error: unknown): string {
  const sqlMessage = (error as { sqlMessage?: unknown } | undefined)?.sqlMessage;
  return typeof sqlMessage === 'string' ? sqlMessage : errorText(error);
}

function connectError(error: unknown, session: Pick<MysqlSession, 'where' | 'endpoint' | 'secrets'>): SluiceError {
  const { where, endpoint, secrets } = session;
  const code = mysqlCode(error);
  const message = serverMessage(error);
  const network = networkProblem(error);
  let errorCode: ErrorCode = 'SOURCE_FAILED';
  let text: string;
  if (network !== undefined) {
    errorCode = 'NETWORK';
    text = `cannot connect to ${where}: ${network}`;
  } else if (code === 'PROTOCOL_CONNECTION_LOST' || /connect ETIMEDOUT|timeout/i.test(message)) {
    errorCode = 'NETWORK';
    text = `cannot connect to ${where}: no answer within ${CONNECT_TIMEOUT_MS / 1000} s; check the host, the port and any firewall between`;
  } else if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR' || code === 'ER_NOT_SUPPORTED_AUTH_MODE') {
    errorCode = 'AUTH_REFUSED';
    text = `${where} refused the login of user ${endpoint.user ?? '(none)'}: ${message}; check the user and password`;
  } else if (code === 'ER_DBACCESS_DENIED_ERROR') {
    errorCode = 'AUTH_REFUSED';
    text = `${where}: ${message}`;
  } else if (code === 'ER_BAD_DB_ERROR') {
    errorCode = 'CONFIG_INVALID';
    text = `${where}: ${message}`;
  } else if (/ssl|tls|certificate/i.test(message)) {
    errorCode = 'CONFIG_INVALID';
    text = `cannot connect to ${where} over TLS: ${message} (ssl: required encrypts without checking the certificate)`;
  } else {
    text = `cannot connect to ${where}: ${message}`;
  }
  return sqlError(errorCode, text, secrets, error);
}

/** A failure while reading or describing, after the connection was made. */
export function queryError(error: unknown, session: Pick<MysqlSession, 'where' | 'secrets'>, doing: string): SluiceError {
  if (error instanceof SluiceError) return error;
  const network = networkProblem(error);
  const code = mysqlCode(error);
  const message = serverMessage(error);
  if (network !== undefined || code === 'PROTOCOL_CONNECTION_LOST' || code === 'ER_NET_WRITE_INTERRUPTED' || code === 'ER_NET_READ_INTERRUPTED') {
    return sqlError('NETWORK', `${session.where}: the connection broke while ${doing}: ${network ?? message}`, session.secrets, error);
  }
  return sqlError('SOURCE_FAILED', `${session.where}: ${doing} failed: ${message}`, session.secrets, error);
}

export function targetOf(config: MysqlConfig): Target {
  return sharedTargetOf(config, '`');
}

export interface Column {
  readonly name: string;
  readonly field: FieldInfo;
  readonly type: MysqlType;
}

/** The result's columns and their types, from running the target with `limit 0`. */
export async function describe(session: MysqlSession, target: Target): Promise<Column[]> {
  let fields: FieldPacket[];
  try {
    [, fields] = await session.query(`select * from ${target.from} limit 0`);
  } catch (error) {
    throw describeError(error, session, target);
  }
  const json = target.table === undefined ? new Set<string>() : await jsonColumns(session, target.table);
  return fields.map((field) => {
    const info = field as unknown as FieldInfo;
    return { name: field.name, field: info, type: typeOf(info, json.has(field.name)) };
  });
}

function describeError(error: unknown, session: MysqlSession, target: Target): SluiceError {
  const code = mysqlCode(error);
  const message = serverMessage(error);
  if (target.table !== undefined && code === 'ER_NO_SUCH_TABLE') {
    return sqlError('CONFIG_INVALID', `${session.where}: ${target.what} does not exist (${message})`, session.secrets, error);
  }
  if (target.table !== undefined && code === 'ER_NO_DB_ERROR') {
    return sqlError('CONFIG_INVALID', `${session.where}: ${target.what}: no database is selected; set database (or the url's path) or write the table as database.table`, session.secrets, error);
  }
  if (target.table !== undefined && code === 'ER_BAD_DB_ERROR') {
    return sqlError('CONFIG_INVALID', `${session.where}: ${target.what}: ${message}`, session.secrets, error);
  }
  if (code === 'ER_TABLEACCESS_DENIED_ERROR' || code === 'ER_COLUMNACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
    return sqlError('AUTH_REFUSED', `${session.where}: user ${session.endpoint.user ?? '(none)'} may not read ${target.what}: ${message}`, session.secrets, error);
  }
  if (target.query !== undefined && (code === 'ER_PARSE_ERROR' || code === 'ER_BAD_FIELD_ERROR' || code === 'ER_NO_SUCH_TABLE' || code === 'ER_NO_DB_ERROR')) {
    return sqlError('CONFIG_INVALID', `${session.where}: the query is not valid SQL for this database: ${message}`, session.secrets, error);
  }
  return queryError(error, session, `reading ${target.what}`);
}

/** The table's primary key columns in key order (information_schema KEY_COLUMN_USAGE); empty when it has none. */
export async function primaryKey(session: MysqlSession, table: TableName): Promise<string[]> {
  const [rows] = await session.query<Array<{ name: string }>>(
    `select COLUMN_NAME as name from information_schema.KEY_COLUMN_USAGE
      where CONSTRAINT_NAME = 'PRIMARY' and TABLE_SCHEMA = coalesce(?, database()) and TABLE_NAME = ?
      order by ORDINAL_POSITION`,
    [table.schema ?? null, table.name],
  );
  return rows.map((row) => String(row.name));
}

/**
 * MariaDB's JSON columns: LONGTEXT with a `json_valid(col)` check, which the wire protocol does not tell
 * from text. MySQL has a JSON type of its own (and no such catalog column): nothing to find there.
 */
async function jsonColumns(session: MysqlSession, table: TableName): Promise<Set<string>> {
  try {
    const [rows] = await session.query<Array<{ clause: string }>>(
      `select CHECK_CLAUSE as clause from information_schema.CHECK_CONSTRAINTS
        where CONSTRAINT_SCHEMA = coalesce(?, database()) and TABLE_NAME = ?`,
      [table.schema ?? null, table.name],
    );
    const out = new Set<string>();
    for (const row of rows) {
      const match = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(row.clause).trim());
      if (match?.[1] !== undefined) out.add(match[1].replaceAll('``', '`'));
    }
    return out;
  } catch {
    return new Set();
  }
}
