/**
 * The config shared by the SQL sources (`postgres`, `mysql`): where the server is (a connection URL, or
 * host/port/database/user/password), what to read (a table or a custom query, exactly one), and how (a
 * cursor column for incremental reads, a primary key when discovery cannot tell, rows per round trip).
 * Each dialect builds its spec here with its own URL schemes, default port and TLS modes.
 */
import { z } from 'zod';
import { field } from '../../sdk/spec.ts';
import { parseTableName } from './identifiers.ts';

export interface SqlSpecOptions {
  /** PostgreSQL, MySQL: for descriptions. */
  readonly product: string;
  /** URL schemes accepted, without `://`: the first one is shown in messages. */
  readonly schemes: readonly [string, ...string[]];
  readonly defaultPort: number;
  /** How the dialect quotes identifiers: `"` or a backtick. */
  readonly quote: '"' | '`';
  /** TLS modes besides true/false, in the dialect's own words (libpq's sslmode, MySQL's ssl-mode). */
  readonly sslModes: readonly [string, ...string[]];
  readonly sslDescription: string;
  readonly urlExample: string;
  readonly databaseDescription: string;
  readonly tableDescription: string;
  readonly tableExamples: readonly string[];
  readonly queryExample: string;
  readonly fetchSizeDescription: string;
}

export const DEFAULT_FETCH_SIZE = 10_000;

export function sqlSourceSpec(options: SqlSpecOptions) {
  const schemes = options.schemes.map((scheme) => `${scheme}://`);
  return z
    .strictObject({
      url: field(
        z.string().refine((value) => isUrlWithScheme(value, options.schemes), {
          message: `must be a URL starting with ${schemes.join(' or ')}, like ${options.urlExample}`,
        }).optional(),
        {
          description: `The connection URL, e.g. \`${options.urlExample}\` (characters such as \`@\` or \`/\` in the user or password are percent-encoded). Secret, since it may hold the password. Use either \`url\` or \`host\` with \`port\`, \`database\` and \`user\`.`,
          examples: [options.urlExample],
          secret: true,
        },
      ),
      host: field(z.string().min(1).optional(), {
        description: `The ${options.product} server's host name or IP address, when no \`url\` is given.`,
        examples: ['db.example.com', '127.0.0.1'],
      }),
      port: field(z.int().min(1).max(65535).optional(), {
        description: `The server's port, with \`host\`; ${options.defaultPort} when left out.`,
        examples: [options.defaultPort],
      }),
      database: field(z.string().min(1).optional(), { description: options.databaseDescription, examples: ['shop'] }),
      user: field(z.string().min(1).optional(), { description: 'The user to log in as, with `host`.', examples: ['sluice_reader'] }),
      password: field(z.string().optional(), {
        description: 'The password, with `host` (or with a `url` that leaves it out). Never logged nor shown in messages.',
        secret: true,
      }),
      ssl: field(z.union([z.boolean(), z.enum(options.sslModes)]).optional(), { description: options.sslDescription, examples: [true, options.sslModes[1] ?? options.sslModes[0]] }),
      table: field(z.string().min(1).optional(), { description: options.tableDescription, examples: [...options.tableExamples] }),
      query: field(z.string().min(1).optional(), {
        description:
          'Custom SQL whose rows are read instead of a table: one SELECT statement. Its columns are discovered by running it with `limit 0`. With `cursor_field`, it is wrapped as a subquery (`select * from (<query>) where <cursor> > <bookmark> order by <cursor>`), so the cursor must be one of its columns. Reads run in a read-only session.',
        examples: [options.queryExample],
      }),
      stream: field(z.string().min(1).optional(), {
        description: 'The name of the stream the rows are read into. Defaults to the table name without its schema, or `query` for a query.',
        examples: ['orders'],
      }),
      cursor_field: field(z.string().min(1).optional(), {
        description:
          'A column that grows as rows are added or changed (an `updated_at` timestamp, an increasing id): reads become incremental, picking up only rows whose cursor is greater than the one saved by the last run. Rows are read in cursor order; an index on it keeps that cheap.',
        examples: ['updated_at', 'id'],
      }),
      primary_key: field(z.array(z.string().min(1)).min(1).optional(), {
        description:
          "The columns that identify a row, for a query (or a view) where discovery cannot tell; for a table the primary key is read from the database's catalog unless given here.",
        examples: [['id'], ['order_id', 'line']],
      }),
      fetch_size: field(z.int().min(1).max(1_000_000).default(DEFAULT_FETCH_SIZE), { description: options.fetchSizeDescription }),
    })
    .superRefine((config, ctx) => {
      if (config.url === undefined && config.host === undefined) {
        ctx.addIssue({ code: 'custom', path: ['host'], message: `set either url (${schemes[0]}…) or host to say where the ${options.product} server is` });
      }
      if (config.url !== undefined) {
        if (config.host !== undefined) ctx.addIssue({ code: 'custom', path: ['host'], message: 'set either url or host, not both' });
        for (const key of ['port', 'database', 'user'] as const) {
          if (config[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `goes in the url when url is set (or use host, port, database, user and password instead of url)` });
        }
      }
      if (config.url === undefined && config.host !== undefined && config.user === undefined) {
        ctx.addIssue({ code: 'custom', path: ['user'], message: 'the user to log in as is required with host' });
      }
      if (config.table === undefined && config.query === undefined) {
        ctx.addIssue({ code: 'custom', path: ['table'], message: 'set either table (a table or view to read) or query (custom SQL)' });
      }
      if (config.table !== undefined && parseTableName(config.table, options.quote) === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['table'],
          message: `write a table as name or schema.name (a part that holds a dot goes in ${options.quote === '"' ? 'double quotes' : 'backticks'})`,
        });
      }
      if (config.table !== undefined && config.query !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['query'], message: 'set either table or query, not both' });
      }
    });
}

export type SqlSourceConfig = z.output<ReturnType<typeof sqlSourceSpec>>;

function isUrlWithScheme(value: string, schemes: readonly string[]): boolean {
  const colon = value.indexOf('://');
  if (colon === -1 || !schemes.includes(value.slice(0, colon).toLowerCase())) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** A `url` taken apart; user and password are percent-decoded. */
export interface ParsedUrl {
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly database: string | undefined;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly params: URLSearchParams;
}

/** The spec has checked that the URL parses; nothing of it goes into an error message. */
export function parseConnectionUrl(url: string): ParsedUrl {
  const parsed = new URL(url);
  const decode = (text: string): string | undefined => (text === '' ? undefined : decodeURIComponent(text));
  let host = decode(parsed.hostname);
  if (host?.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const path = parsed.pathname.startsWith('/') ? parsed.pathname.slice(1) : parsed.pathname;
  return {
    host,
    port: parsed.port === '' ? undefined : Number(parsed.port),
    database: decode(path),
    user: decode(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    params: parsed.searchParams,
  };
}

/** Where to connect and as whom, from either form of the config. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly database: string | undefined;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly params: URLSearchParams;
}

export function endpointOf(config: SqlSourceConfig, defaultPort: number, defaultHost = 'localhost'): Endpoint {
  if (config.url !== undefined) {
    const url = parseConnectionUrl(config.url);
    return {
      host: url.params.get('host') ?? url.host ?? defaultHost,
      port: url.port ?? defaultPort,
      database: url.database,
      user: url.user,
      password: config.password ?? url.password,
      params: url.params,
    };
  }
  return {
    host: config.host ?? defaultHost,
    port: config.port ?? defaultPort,
    database: config.database,
    user: config.user,
    password: config.password,
    params: new URLSearchParams(),
  };
}

/** The secret values of a config, to scrub from any message that might quote them. */
export function secretsOf(config: SqlSourceConfig): string[] {
  const out: string[] = [];
  if (config.password !== undefined && config.password !== '') out.push(config.password);
  if (config.url !== undefined) {
    out.push(config.url);
    const url = parseConnectionUrl(config.url);
    if (url.password !== undefined && url.password !== '') out.push(url.password, encodeURIComponent(url.password));
  }
  return out.sort((a, b) => b.length - a.length);
}

export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) if (secret.length > 0) out = out.replaceAll(secret, '***');
  return out;
}

/** The stream name: `stream`, else the table name without its schema, else `query`. */
export function streamNameOf(config: SqlSourceConfig, tableName: string | undefined): string {
  return config.stream ?? tableName ?? 'query';
}

/** A custom query without the trailing semicolon(s) and blank space, so it can be wrapped as a subquery. */
export function trimQuery(query: string): string {
  return query.replace(/[\s;]+$/, '').trim();
}
