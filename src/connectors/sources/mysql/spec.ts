/**
 * The `mysql` source's config: the shared SQL source spec (sql-source/spec.ts) with MySQL's and MariaDB's
 * URL schemes, port and MySQL's ssl-mode names.
 */
import { sqlSourceSpec } from '../../sql-source/spec.ts';
import type { SqlSourceConfig } from '../../sql-source/spec.ts';

export const MYSQL_DEFAULT_PORT = 3306;

export const MYSQL_SSL_MODES = ['disabled', 'required', 'verify_ca', 'verify_identity'] as const;

export const mysqlSpec = sqlSourceSpec({
  product: 'MySQL',
  schemes: ['mysql', 'mariadb'],
  defaultPort: MYSQL_DEFAULT_PORT,
  quote: '`',
  sslModes: MYSQL_SSL_MODES,
  sslDescription:
    "TLS for the connection: `false` or `disabled` for none; `required` to encrypt without checking the server's certificate; `verify_ca` to also check it is signed by a trusted CA; `true` or `verify_identity` to also check it names the host. Without it, the url's `ssl-mode` applies (`preferred` means no TLS here), else no TLS.",
  urlExample: 'mysql://sluice_reader:secret@db.example.com:3306/shop',
  databaseDescription: 'The database to connect to, with `host`. Optional when `table` names its database (`shop.orders`) or the query does.',
  tableDescription:
    'The table (or view) to read, optionally qualified by its database: `orders` (in the connection\'s database) or `shop.orders`. Names are taken exactly; put a part that holds a dot in backticks (`` `shop`.`order.lines` ``).',
  tableExamples: ['orders', 'shop.orders'],
  fetchSizeDescription:
    'Rows taken from the streaming result at a time at most; an incremental read saves its state about once per this many rows. The server streams continuously, and the driver stops reading (backpressure) while 1,000 rows wait unread, so memory does not grow with it.',
  queryExample: 'select o.id, o.total, c.email, o.updated_at from orders o join customers c on c.id = o.customer_id',
});

export type MysqlConfig = SqlSourceConfig;
