// The embedded event log's PGlite, in a worker thread (see event-log.ts): it answers { id, op, text, params }
// messages with { id, rows, rowCount } or { id, error }. Plain JavaScript, so it loads the same from src/
// (tests, tsx) and dist/.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const db = new PGlite(workerData.dir);
// New WAL segments (16 MB, one every ~0.7 s at 25,000 events/s) are not zero-filled first: filling one
// stalled every append for ~55 ms (measured), and it buys nothing here (PGlite writes no WAL to a standby).
// Also in db.ts for the main store.
const ready = db.waitReady.then(() => db.exec('set wal_init_zero = off'));

parentPort.on('message', async (message) => {
  const { id, op, text, params } = message;
  try {
    await ready;
    if (op === 'query') {
      const result = await db.query(text, params);
      parentPort.postMessage({ id, rows: result.rows, rowCount: result.affectedRows ?? result.rows.length });
    } else if (op === 'exec') {
      await db.exec(text);
      parentPort.postMessage({ id, rows: [], rowCount: 0 });
    } else if (op === 'close') {
      await db.close();
      parentPort.postMessage({ id, rows: [], rowCount: 0 });
    } else {
      parentPort.postMessage({ id, error: { message: `unknown op ${op}` } });
    }
  } catch (error) {
    parentPort.postMessage({ id, error: { message: error instanceof Error ? error.message : String(error), code: error?.code } });
  }
});
