/**
 * The sftp destination against a real SFTP server (ssh2's Server, in this process, serving a temporary
 * directory): files through the engine as CSV and gzipped JSONL, named from the template, written under a
 * temporary name and renamed into place (replacing a file of the same name), password and key logins,
 * a pinned host key, and failures that name the problem without the secret.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SftpServer, generateUserKey, startSftpServer } from '../../../../test/support/sftp-server.ts';
import { sequenceSource } from '../../../../test/support/sources.ts';
import { MemoryBulkJobStore } from '../../../engine/bulk-jobs.ts';
import { MemoryLedger } from '../../../engine/ledger.ts';
import { runActivation } from '../../../engine/run.ts';
import { MemoryStateStore } from '../../../engine/state-store.ts';
import type { RunSummary } from '../../../engine/types.ts';
import { type BulkObject, isStreamingObject } from '../../../sdk/destination.ts';
import { defaultContext } from '../../../sdk/context.ts';
import sftp, { type SftpJob } from './index.ts';
import type { SftpConfig } from './spec.ts';

let dir: string;
let server: SftpServer;
const userKey = generateUserKey('key-passphrase');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-sftp-'));
  server = await startSftpServer({ root: join(dir, 'root'), publicKey: userKey.publicKey });
  await mkdir(join(dir, 'root', 'drop'));
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

function config(extra: Record<string, unknown> = {}): SftpConfig {
  return sftp.spec.parse({ host: server.host, port: server.port, username: server.username, password: server.password, directory: '/drop', ...extra });
}

async function clearDrop(): Promise<void> {
  await rm(join(dir, 'root', 'drop'), { recursive: true, force: true });
  await mkdir(join(dir, 'root', 'drop'));
}

function dropped(): string[] {
  return readdirSync(join(dir, 'root', 'drop')).sort();
}

async function run(settings: SftpConfig, count: number): Promise<RunSummary> {
  return runActivation({
    activation: {
      name: 'to_sftp',
      source: { definition: sequenceSource({ count, stateEvery: 100 }), config: {} },
      destination: { definition: sftp, config: settings },
    },
    stateStore: new MemoryStateStore(),
    ledger: new MemoryLedger(),
    bulk: { dir: join(dir, 'local'), jobs: new MemoryBulkJobStore() },
  });
}

describe('sftp destination', () => {
  it('check logs in, finds the directory and writes and removes a probe file', async () => {
    expect(await sftp.check(config(), defaultContext())).toEqual({ ok: true });
    expect(dropped()).toEqual([]);
    const missing = await sftp.check(config({ directory: '/nowhere' }), defaultContext());
    expect(missing).toEqual({ ok: false, reason: `sftp: the directory /nowhere does not exist on ${server.host}` });
  });

  it('a refused password says who was refused, and never the password', async () => {
    const result = await sftp.check(config({ password: 'wrong-secret-9f3a' }), defaultContext());
    expect(result.ok).toBe(false);
    const reason = (result as { reason: string }).reason;
    expect(reason).toBe(`sftp: ${server.host}:${server.port} refused the login of user "sluice" (password)`);
    expect(reason).not.toContain('wrong-secret-9f3a');
  });

  it('logs in with a private key and its passphrase; another key is refused', async () => {
    const withKey = config({ password: undefined, private_key: userKey.privateKey, passphrase: 'key-passphrase' });
    expect(await sftp.check(withKey, defaultContext())).toEqual({ ok: true });
    const other = generateUserKey();
    const refused = await sftp.check(config({ password: undefined, private_key: other.privateKey }), defaultContext());
    expect(refused).toEqual({ ok: false, reason: `sftp: ${server.host}:${server.port} refused the login of user "sluice" (key)` });
    const noPassphrase = await sftp.check(config({ password: undefined, private_key: userKey.privateKey }), defaultContext());
    expect(noPassphrase.ok).toBe(false);
    expect((noPassphrase as { reason: string }).reason).toMatch(/private_key cannot be used/);
  });

  it('needs a password or a private key', () => {
    const parsed = sftp.spec.safeParse({ host: 'h', username: 'u' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe('give `password` or `private_key`');
  });

  it('pins the host key when host_key_sha256 is set', async () => {
    expect(await sftp.check(config({ host_key_sha256: `SHA256:${server.hostKeySha256}` }), defaultContext())).toEqual({ ok: true });
    const wrong = await sftp.check(config({ host_key_sha256: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }), defaultContext());
    expect(wrong.ok).toBe(false);
    expect((wrong as { reason: string }).reason).toMatch(/presented host key SHA256:/);
  });

  it('drops CSV files cut at max_rows, named from the template, with a header and every row', async () => {
    await clearDrop();
    const summary = await run(config({ max_rows: 1000, file_name: 'items-{index}.{ext}' }), 2500);
    expect(summary.status).toBe('succeeded');
    expect(summary.counters).toMatchObject({ read: 2500, delivered: 2500, batches: 3 });
    expect(dropped()).toEqual(['items-00000.csv', 'items-00001.csv', 'items-00002.csv']);
    const first = readFileSync(join(dir, 'root', 'drop', 'items-00000.csv'), 'utf8').split('\n');
    expect(first[0]).toBe('id,name');
    expect(first[1]).toBe('1,item 1');
    expect(first).toHaveLength(1002); // header, 1000 rows, final newline
    const last = readFileSync(join(dir, 'root', 'drop', 'items-00002.csv'), 'utf8').trim().split('\n');
    expect(last.at(-1)).toBe('2500,item 2500');
  });

  it('drops gzipped JSON Lines', async () => {
    await clearDrop();
    const summary = await run(config({ format: 'jsonl', gzip: true, file_name: 'items.{ext}' }), 300);
    expect(summary.status).toBe('succeeded');
    expect(dropped()).toEqual(['items.jsonl.gz']);
    const lines = gunzipSync(readFileSync(join(dir, 'root', 'drop', 'items.jsonl.gz'))).toString('utf8').trim().split('\n');
    expect(lines).toHaveLength(300);
    expect(JSON.parse(lines[0]!)).toEqual({ id: 1, name: 'item 1' });
  });

  it('uploads to a temporary name and renames it into place, replacing a file of the same name', async () => {
    await clearDrop();
    const object = sftp.objects.files!;
    expect(isStreamingObject(object)).toBe(false);
    const files = object as BulkObject<SftpConfig, undefined, SftpJob>;
    const local = join(dir, 'upload.csv');
    writeFileSync(local, 'id\n1\n');
    writeFileSync(join(dir, 'root', 'drop', 'same.csv'), 'old content\n');
    const settings = config();
    const file = { path: local, name: 'same.csv', index: 0, format: 'csv' as const, gzip: false, rows: 1, bytes: 5, columns: ['id'] };
    const ctx = { ...defaultContext(), config: settings, session: undefined, object: 'files', syncMode: 'append' as const, idempotencyKey: 'k', attempt: 1, stream: { name: 's', jsonSchema: {} } };
    expect(await files.upload(file, ctx)).toEqual({ path: '/drop/same.csv' });
    expect(readFileSync(join(dir, 'root', 'drop', 'same.csv'), 'utf8')).toBe('id\n1\n');
    expect(server.writes.get('/drop/.same.csv.part')).toBe(1);
    expect(server.writes.get('/drop/same.csv')).toBeUndefined();
    expect(dropped()).toEqual(['same.csv']);
  });
});
