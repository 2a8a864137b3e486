/**
 * The `postgres` source's config: the shared SQL source spec (sql-source/spec.ts) with PostgreSQL's URL
 * schemes, port and libpq's sslmode names.
 */
import { sqlSourceSpec } from '../../sql-source/spec.ts';
import type { SqlSourceConfig } from '../../sql-source/spec.ts';

export const PG_DEFAULT_PORT = 5432;

export const PG_SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

export const postgresSpec = sqlSourceSpec({
  product: 'PostgreSQL',
  schemes: ['postgres', 'postgresql'],
  defaultPort: PG_DEFAULT_PORT,
  quote: '"',
  sslModes: PG_SSL_MODES,
  sslDescription:
    "TLS for the connection: `false` or `disable` for none; `require` to encrypt without checking the server's certificate; `verify-ca` to also check it is signed by a trusted CA; `true` or `verify-full` to also check it names the host. Without it, the url's `sslmode` applies (`disable`, `allow` and `prefer` mean no TLS here), else no TLS.",
  urlExample: 'postgres://sluice_reader:secret@db.example.com:5432/shop',
  databaseDescription: 'The database to connect to, with `host`; PostgreSQL defaults to one named like the user.',
  tableDescription:
    'The table (or view) to read, optionally schema-qualified: `orders` (found through the search_path, usually in `public`) or `sales.orders`. Names are taken exactly, case included; double-quote a part that holds a dot (`"Sales"."order.lines"`).',
  tableExamples: ['orders', 'sales.orders'],
  fetchSizeDescription:
    'Rows fetched per round trip to the server (`FETCH n` on a server-side cursor); an incremental read saves its state about once per fetch. Rows are handed on as they arrive, so memory does not grow with it.',
  queryExample: 'select o.id, o.total, c.email, o.updated_at from orders o join customers c on c.id = o.customer_id',
});

export type PostgresConfig = SqlSourceConfig;
