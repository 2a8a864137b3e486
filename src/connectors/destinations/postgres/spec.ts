/**
 * The postgres destination's config: where the server is (a `url`, or `host`/`port`/`database`/`user`/
 * `password`), which table to write, and how many rows go into one COPY. Every description is user-facing:
 * it becomes the UI form help and the reference docs. `connectionOptions` turns a config into `pg` options,
 * and `describeTarget` names the server in messages without any secret.
 */
import { z } from 'zod';
import { field } from '../../../sdk/spec.ts';

/** Longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes); longer ones are truncated by the server. */
export const MAX_IDENTIFIER_BYTES = 63;

const identifier = z
  .string()
  .min(1)
  .refine((name) => Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES, `at most ${MAX_IDENTIFIER_BYTES} bytes (PostgreSQL truncates longer names)`)
  .refine((name) => !name.includes('\0'), 'must not contain a NUL character');

export const postgresSpec = z
  .strictObject({
    url: field(
      z
        .string()
        // The message must not echo the value: the URL may hold a password.
        .refine((url) => /^postgres(ql)?:\/\/./i.test(url), 'must be a postgres:// or postgresql:// connection URL')
        .optional(),
      {
        description:
          'Connection URL, such as `postgres://user:password@host:5432/database?sslmode=require`. Kept secret, since it may hold the password. Give either `url` or `host`.',
        examples: ['postgres://sluice:${PG_PASSWORD}@db.example.com:5432/analytics?sslmode=require'],
        secret: true,
      },
    ),
    host: field(z.string().min(1).optional(), {
      description: 'Server host name or IP address, when not using `url`.',
      examples: ['db.example.com', '127.0.0.1'],
    }),
    port: field(z.number().int().min(1).max(65_535).optional(), {
      description: 'Server port, when not using `url`. Default 5432.',
    }),
    database: field(z.string().min(1).optional(), {
      description: 'Database name, when not using `url`. Default: the user name, as for `psql`.',
    }),
    user: field(z.string().min(1).optional(), {
      description: 'User name, when not using `url`. Default `postgres`.',
    }),
    password: field(z.string().optional(), {
      description: 'Password, when not using `url` (absent for trust or peer authentication).',
      secret: true,
    }),
    schema: field(identifier.default('public'), {
      description: 'Schema of the table; created when missing.',
    }),
    table: field(identifier, {
      description:
        'The table to write. Created from the stream schema on the first write when missing; new record fields become new columns (columns are never dropped).',
      examples: ['customers'],
    }),
    batch_size: field(z.number().int().min(1).max(100_000).default(10_000), {
      description: 'Most rows loaded in one COPY and merged in one transaction.',
    }),
  })
  .superRefine((config, ctx) => {
    if (config.url === undefined && config.host === undefined) {
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'give either `url` or `host`' });
    }
    if (config.url !== undefined) {
      for (const key of ['host', 'port', 'database', 'user', 'password'] as const) {
        if (config[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'give either `url` or the separate connection fields, not both' });
      }
    }
  });

export type PostgresConfig = z.output<typeof postgresSpec>;

export interface ConnectionOptions {
  readonly connectionString?: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly user?: string;
  readonly password?: string;
}

export function connectionOptions(config: PostgresConfig): ConnectionOptions {
  if (config.url !== undefined) return { connectionString: config.url };
  const user = config.user ?? 'postgres';
  return {
    host: config.host,
    port: config.port ?? 5432,
    database: config.database ?? user,
    user,
    ...(config.password === undefined ? {} : { password: config.password }),
  };
}

/** `host:port/database`, for messages: never the URL itself, nor the password. */
export function describeTarget(config: PostgresConfig): string {
  if (config.url !== undefined) {
    try {
      const parsed = new URL(config.url);
      const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
      return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${database === '' ? '' : `/${database}`}`;
    } catch {
      return 'the server in `url`';
    }
  }
  const options = connectionOptions(config);
  return `${options.host}:${options.port}/${options.database}`;
}

/** Secret values of a config, to scrub from any message that quotes a server or driver error. */
export function secretsOf(config: PostgresConfig): string[] {
  const out: string[] = [];
  if (config.url !== undefined) {
    out.push(config.url);
    try {
      const password = decodeURIComponent(new URL(config.url).password);
      if (password !== '') out.push(password);
    } catch {
      // not a parseable URL: the whole string is scrubbed above
    }
  }
  if (config.password !== undefined && config.password !== '') out.push(config.password);
  return out;
}
