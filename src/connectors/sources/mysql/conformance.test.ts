/**
 * The mysql source passes the shared conformance suite on a small table of its own (incremental on `id`,
 * so the state checks run too). The invalid config points at a port nothing listens on; the suite plants
 * a canary in the password and checks the reason never shows it. Without a MySQL/MariaDB server the
 * checks that need one are skipped (under CI, test/support/mysql.ts fails instead).
 */
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { MYSQL_TEST_URL, mysqlAdmin, mysqlAvailable } from '../../../../test/support/mysql.ts';
import { describeConformance } from 'sluice/testing';
import source from './index.ts';

const available = await mysqlAvailable();
const table = `sluice_src_conformance_${randomBytes(4).toString('hex')}`;

let created: Promise<void> | undefined;

/** The table, made once for all checks: 60 rows. */
function createTable(): Promise<void> {
  created ??= (async () => {
    const admin = await mysqlAdmin();
    try {
      await admin.query(`create table ${table} (id bigint primary key, name varchar(50) not null, amount decimal(12,2), created_at datetime)`);
      const rows = Array.from({ length: 60 }, (_, index) => [index + 1, `name ${index + 1}`, ((index + 1) * 1.25).toFixed(2), `2024-01-01 ${String(index % 24).padStart(2, '0')}:00:00`]);
      await admin.query(`insert into ${table} values ?`, [rows]);
    } finally {
      await admin.end();
    }
  })();
  return created;
}

afterAll(async () => {
  if (created === undefined) return;
  const admin = await mysqlAdmin();
  await admin.query(`drop table if exists ${table}`);
  await admin.end();
});

const needsServer = 'MySQL/MariaDB is not reachable on 127.0.0.1:3306';

describeConformance(source, {
  validConfig: async () => {
    if (available) await createTable();
    return { url: MYSQL_TEST_URL, table, cursor_field: 'id', fetch_size: 25 };
  },
  invalidConfig: { host: '127.0.0.1', port: 1, user: 'root', password: 'not-the-password', table },
  skip: available ? {} : { 'check.valid': needsServer, 'source.discover': needsServer, 'source.read': needsServer, 'source.state': needsServer, 'source.stop-early': needsServer },
});
