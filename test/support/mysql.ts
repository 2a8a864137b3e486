/**
 * The MySQL/MariaDB server the `mysql` source tests run against: SLUICE_TEST_MYSQL_URL, by default
 * mysql://root@127.0.0.1:3306/test (root with an empty password, as .ci/run starts MariaDB). Tests make
 * uniquely named tables there and drop them.
 *
 * Whether it answers is decided once per process, as for PostgreSQL (databases.ts): under CI=true an
 * unreachable server fails loudly; elsewhere the tests that need it are skipped, with a warning saying so.
 */
import mysql from 'mysql2/promise';

export const MYSQL_TEST_URL = process.env.SLUICE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

let decision: Promise<boolean> | undefined;

/** true when the server answers; false (after a warning) when it does not; rejects under CI when it does not. */
export function mysqlAvailable(): Promise<boolean> {
  decision ??= (async () => {
    const reachable = await probe(MYSQL_TEST_URL);
    if (reachable === true) return true;
    if (process.env.CI === 'true') {
      throw new Error(`MySQL/MariaDB on 127.0.0.1:3306 is required under CI (${redact(MYSQL_TEST_URL)}: ${reachable}); .ci/run starts MariaDB — check that it did`);
    }
    console.warn(`MySQL/MariaDB not reachable at ${redact(MYSQL_TEST_URL)} (${reachable}): the mysql source tests that need a server are skipped`);
    return false;
  })();
  return decision;
}

/** A connection for test setup (creating and dropping tables); the caller ends it. */
export function mysqlAdmin(): Promise<mysql.Connection> {
  return mysql.createConnection({ uri: MYSQL_TEST_URL, connectTimeout: 5000, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true });
}

/** true, or why not. */
async function probe(url: string): Promise<true | string> {
  let connection: mysql.Connection | undefined;
  try {
    connection = await mysql.createConnection({ uri: url, connectTimeout: 1500 });
    await connection.query('select 1');
    return true;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    connection?.destroy();
  }
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
