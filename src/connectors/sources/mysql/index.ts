/**
 * The `mysql` source: one table, view or custom query of a MySQL or MariaDB database as one stream,
 * streamed in constant memory with backpressure, with exact values (BIGINT beyond 2^53 as bigint, DECIMAL
 * digit for digit, dates as ISO 8601 strings) and incremental reads on a cursor column. See README.md.
 */
import { defineSource } from '../../../sdk/source.ts';
import { checkMysql, discoverMysql, readMysql } from './read.ts';
import { mysqlSpec } from './spec.ts';

export default defineSource({
  id: 'mysql',
  title: 'MySQL / MariaDB',
  description: 'Reads a MySQL or MariaDB table, view or query as one stream, in full or incrementally on a cursor column, keeping every value exact.',
  spec: mysqlSpec,
  check: (config) => checkMysql(config),
  async discover(config) {
    return [await discoverMysql(config)];
  },
  read: readMysql,
});
