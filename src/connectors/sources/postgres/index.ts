/**
 * The `postgres` source: one table, view or custom query of a PostgreSQL database as one stream, read
 * through a server-side cursor in constant memory, with exact values (int8 beyond 2^53 as bigint, numeric
 * digit for digit, timestamptz with its offset) and incremental reads on a cursor column. See README.md.
 */
import { defineSource } from '../../../sdk/source.ts';
import { checkPostgres, discoverPostgres, readPostgres } from './read.ts';
import { postgresSpec } from './spec.ts';

export default defineSource({
  id: 'postgres',
  title: 'PostgreSQL',
  description: 'Reads a PostgreSQL table, view or query as one stream, in full or incrementally on a cursor column, keeping every value exact.',
  spec: postgresSpec,
  check: (config) => checkPostgres(config),
  async discover(config) {
    return [await discoverPostgres(config)];
  },
  read: readPostgres,
});
