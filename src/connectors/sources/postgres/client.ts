/**
 * Talking to PostgreSQL: connecting (a url or host/port/…, TLS by mode), the session settings every read
 * relies on, describing what a table or query returns (columns, their types from pg_type, nullability and
 * primary key from the catalog), and failures as sentences that name the server but never a secret.
 *
 * Session settings: ISO dates, hex bytea and shortest-exact floats, so the text parsers in types.ts see
 * one format; and read-only transactions, so a custom query cannot change data. TimeZone is left as the
 * server (or the url's `options=-c TimeZone=…`) sets it: timestamptz values carry their offset either way.
 */
import pg from 'pg';
import type { ErrorCode } from '../../../sdk/errors.ts';
import { SluiceError } from '../../../sdk/errors.ts';
import { errorText, networkProblem, sqlError } from '../../sql-source/errors.ts';
import { type Target, targetOf as sharedTargetOf } from '../../sql-source/identifiers.ts';
import { type Endpoint, endpointOf, secretsOf } from '../../sql-source/spec.ts';
import type { PostgresConfig } from './spec.ts';
import { PG_DEFAULT_PORT } from './spec.ts';
import { type PgType, type PgTypeRow, missingOids, typeOf } from './types.ts';

const CONNECT_TIMEOUT_MS = 10_000;

const SESSION_SETTINGS =
  "set DateStyle = 'ISO, MDY'; set IntervalStyle = 'postgres'; set bytea_output = 'hex'; set extra_float_digits = 3; set default_transaction_read_only = on";

export interface PgSession {
  readonly client: pg.Client;
  readonly endpoint: Endpoint;
  readonly secrets: readonly string[];
  /** `PostgreSQL at host:port/database`, for messages. */
  readonly where: string;
  /** Ends the connection (and with it any open transaction and cursor); never throws. */
  close(): Promise<void>;
}

type SslOption = pg.ClientConfig['ssl'];

export function sslOption(mode: string | boolean | undefined): SslOption {
  switch (mode) {
    case undefined:
    case false:
    case 'disable':
    case 'allow':
    case 'prefer':
      return false;
    case 'require':
    case 'no-verify':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    default:
      return { rejectUnauthorized: true };
  }
}

export function clientConfig(config: PostgresConfig): { settings: pg.ClientConfig; endpoint: Endpoint } {
  const endpoint = endpointOf(config, PG_DEFAULT_PORT);
  const settings: pg.ClientConfig = {
    host: endpoint.host,
    port: endpoint.port,
    ssl: sslOption(config.ssl ?? endpoint.params.get('sslmode') ?? undefined),
    application_name: endpoint.params.get('application_name') ?? 'sluice',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
  };
  if (endpoint.database !== undefined) settings.database = endpoint.database;
  if (endpoint.user !== undefined) settings.user = endpoint.user;
  if (endpoint.password !== undefined) settings.password = endpoint.password;
  const options = endpoint.params.get('options');
  if (options !== null) settings.options = options;
  return { settings, endpoint };
}

export async function connect(config: PostgresConfig): Promise<PgSession> {
  const { settings, endpoint } = clientConfig(config);
  const secrets = secretsOf(config);
  const where = `PostgreSQL at ${endpoint.host}:${endpoint.port}${endpoint.database === undefined ? '' : `/${endpoint.database}`}`;
  const client = new pg.Client(settings);
  // A connection that dies while idle must not crash the process; the next query reports it.
  client.on('error', () => undefined);
  let closing: Promise<void> | undefined;
  const session: PgSession = {
    client,
    endpoint,
    secrets,
    where,
    close: () => {
      closing ??= closeClient(client);
      return closing;
    },
  };
  try {
    await client.connect();
    await client.query(SESSION_SETTINGS);
  } catch (error) {
    await session.close();
    throw connectError(error, session);
  }
  return session;
}

const END_WAIT_MS = 500;

/**
 * Ends the connection politely, or cuts it: a server busy with a query (a sort before the first rows)
 * reads the goodbye only when done, so after a short wait the socket is destroyed. The server then stops
 * the query when it next writes to the socket.
 */
async function closeClient(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    client.end().then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), END_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (!ended) client.connection.stream.destroy();
}

function connectError(error: unknown, session: Pick<PgSession, 'where' | 'endpoint' | 'secrets'>): SluiceError {
  const { where, endpoint, secrets } = session;
  const sqlState = (error as { code?: unknown }).code;
  const message = errorText(error);
  const network = networkProblem(error);
  let code: ErrorCode = 'SOURCE_FAILED';
  let text: string;
  if (network !== undefined) {
    code = 'NETWORK';
    text = `cannot connect to ${where}: ${network}`;
  } else if (/connection timeout|timeout expired/i.test(message)) {
    code = 'NETWORK';
    text = `cannot connect to ${where}: no answer within ${CONNECT_TIMEOUT_MS / 1000} s; check the host, the port and any firewall between`;
  } else if (sqlState === '28P01' || sqlState === '28000') {
    code = 'AUTH_REFUSED';
    text = `${where} refused the login of user ${endpoint.user ?? '(default)'}: ${message}; check the user and password (and pg_hba.conf)`;
  } else if (/password must be a string|no password/i.test(message)) {
    code = 'AUTH_REFUSED';
    text = `${where} asks for a password for user ${endpoint.user ?? '(default)'}, and none was given`;
  } else if (sqlState === '3D000') {
    code = 'CONFIG_INVALID';
    text = `${where}: ${message}`;
  } else if (/does not support SSL/i.test(message)) {
    code = 'CONFIG_INVALID';
    text = `${where} does not accept TLS connections: set ssl to false, or enable TLS on the server`;
  } else if (/certificate|self.signed|SSL|TLS/i.test(message)) {
    code = 'CONFIG_INVALID';
    text = `cannot connect to ${where} over TLS: ${message} (ssl: require encrypts without checking the certificate)`;
  } else {
    text = `cannot connect to ${where}: ${message}`;
  }
  return sqlError(code, text, secrets, error);
}

/** A failure while reading or describing, after the connection was made. */
export function queryError(error: unknown, session: Pick<PgSession, 'where' | 'secrets'>, doing: string): SluiceError {
  if (error instanceof SluiceError) return error;
  const network = networkProblem(error);
  const message = errorText(error);
  if (network !== undefined || /Connection terminated|connection.*(lost|closed)/i.test(message)) {
    return sqlError('NETWORK', `${session.where}: the connection broke while ${doing}: ${network ?? message}`, session.secrets, error);
  }
  return sqlError('SOURCE_FAILED', `${session.where}: ${doing} failed: ${message}`, session.secrets, error);
}

export function targetOf(config: PostgresConfig): Target {
  return sharedTargetOf(config, '"');
}

export interface Column {
  readonly name: string;
  readonly oid: number;
  readonly type: PgType;
}

export interface Described {
  readonly columns: readonly Column[];
  /** The table's OID, for a table. */
  readonly tableOid: number | undefined;
  /** Every pg_type row the columns needed. */
  readonly typeRows: ReadonlyMap<number, PgTypeRow>;
}

/** The result's columns and their types, from running the target with `limit 0`. */
export async function describe(session: PgSession, target: Target): Promise<Described> {
  let result: pg.QueryArrayResult;
  try {
    result = await session.client.query({ text: `select * from ${target.from} limit 0`, rowMode: 'array' });
  } catch (error) {
    throw describeError(error, session, target);
  }
  const typeRows = await resolveTypes(
    session,
    result.fields.map((field) => field.dataTypeID),
  );
  const columns = result.fields.map((field) => ({ name: field.name, oid: field.dataTypeID, type: typeOf(field.dataTypeID, typeRows) }));
  let tableOid: number | undefined;
  if (target.table !== undefined) {
    const found = await session.client.query<{ oid: number | null }>('select to_regclass($1)::oid as oid', [target.from]);
    tableOid = found.rows[0]?.oid ?? undefined;
  }
  return { columns, tableOid, typeRows };
}

function describeError(error: unknown, session: PgSession, target: Target): SluiceError {
  const sqlState = (error as { code?: unknown }).code;
  const message = errorText(error);
  if (target.table !== undefined && sqlState === '42P01') {
    const schema = target.table.schema === undefined ? ' (looked up through the search_path)' : '';
    return sqlError('CONFIG_INVALID', `${session.where}: ${target.what} does not exist${schema}, or user ${session.endpoint.user ?? '(default)'} cannot see it`, session.secrets, error);
  }
  if (target.table !== undefined && sqlState === '3F000') {
    return sqlError('CONFIG_INVALID', `${session.where}: ${target.what}: schema ${target.table.schema ?? ''} does not exist`, session.secrets, error);
  }
  if (sqlState === '42501') {
    return sqlError('AUTH_REFUSED', `${session.where}: user ${session.endpoint.user ?? '(default)'} may not read ${target.what}: ${message}`, session.secrets, error);
  }
  if (target.query !== undefined && typeof sqlState === 'string' && sqlState.startsWith('42')) {
    return sqlError('CONFIG_INVALID', `${session.where}: the query is not valid SQL for this database: ${message}`, session.secrets, error);
  }
  return queryError(error, session, `reading ${target.what}`);
}

const TYPE_QUERY = `select t.oid, t.typname as name, n.nspname = 'pg_catalog' as builtin, t.typtype as kind, t.typelem as elem,
  t.typbasetype as base, t.typcategory as category, t.typdelim as delim
  from pg_type t join pg_namespace n on n.oid = t.typnamespace where t.oid = any($1::oid[])`;

/** pg_type rows for the OIDs and everything they lead to (array elements, domain bases). */
export async function resolveTypes(session: PgSession, oids: readonly number[]): Promise<Map<number, PgTypeRow>> {
  const rows = new Map<number, PgTypeRow>();
  let missing = missingOids(oids, rows);
  for (let round = 0; missing.length > 0 && round < 8; round++) {
    const result = await session.client.query<PgTypeRow>(TYPE_QUERY, [missing]);
    for (const row of result.rows) rows.set(row.oid, row);
    const next = missingOids(oids, rows).filter((oid) => !missing.includes(oid));
    missing = next;
  }
  return rows;
}

/** Which columns may be null (by name), for a table; everything may be null in a query's result. */
export async function notNullColumns(session: PgSession, tableOid: number): Promise<Set<string>> {
  const result = await session.client.query<{ name: string }>(
    'select attname as name from pg_attribute where attrelid = $1 and attnum > 0 and not attisdropped and attnotnull',
    [tableOid],
  );
  return new Set(result.rows.map((row) => row.name));
}

/** The table's primary key columns, in key order (pg_index.indisprimary); empty when it has none. */
export async function primaryKey(session: PgSession, tableOid: number): Promise<string[]> {
  const result = await session.client.query<{ name: string }>(
    `select a.attname as name from pg_index i
       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
      where i.indrelid = $1 and i.indisprimary
      order by array_position(i.indkey::int2[], a.attnum)`,
    [tableOid],
  );
  return result.rows.map((row) => row.name);
}
