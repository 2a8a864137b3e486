/**
 * The sftp destination passes the shared conformance suite against a real SFTP server started here; each
 * check writes to a remote directory of its own, and what was delivered is read back from the files there.
 */
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { describeConformance } from 'sluice/testing';
import type { JsonObject } from '../../../protocol/json.ts';
import { parseJson } from '../../../protocol/json.ts';
import { type SftpServer, startSftpServer } from '../../../../test/support/sftp-server.ts';
import sftp from './index.ts';

let server: SftpServer;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-sftp-conformance-'));
  server = await startSftpServer({ root });
});
afterAll(async () => {
  await server?.close();
});

const remoteDir = (dir: string) => `/${basename(dir)}`;

describeConformance(sftp, {
  validConfig: ({ dir }) => {
    mkdirSync(join(root, remoteDir(dir)), { recursive: true });
    // Small files and JSON Lines: several uploads per check, and ids read back as numbers.
    return { host: server.host, port: server.port, username: server.username, password: server.password, directory: remoteDir(dir), format: 'jsonl', max_rows: 500 };
  },
  invalidConfig: () => ({ host: server.host, port: server.port, username: server.username, password: server.password, directory: '/does-not-exist' }),
  inspect: async ({ dir }) => {
    const folder = join(root, remoteDir(dir));
    const records: JsonObject[] = [];
    for (const name of readdirSync(folder).filter((file) => file.endsWith('.jsonl')).sort()) {
      for (const line of readFileSync(join(folder, name), 'utf8').split('\n')) if (line !== '') records.push(parseJson(line) as JsonObject);
    }
    return records;
  },
  module: new URL('./index.ts', import.meta.url),
});
