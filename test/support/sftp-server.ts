/**
 * A real SFTP server for tests and benchmarks, in-process, on ssh2's `Server`: password and public-key
 * authentication for one user, and an SFTP subsystem serving a real directory on disk (so the files a
 * destination uploads can be read back with `fs`). It implements what clients use to upload and look:
 * OPEN/WRITE/READ/CLOSE, STAT/LSTAT/FSTAT/FSETSTAT/SETSTAT, OPENDIR/READDIR, REALPATH, MKDIR/RMDIR, REMOVE
 * and RENAME — which, as in SFTP version 3, refuses to replace an existing file (clients must unlink
 * first). Paths are confined to the root directory.
 *
 * It counts uploads (files opened for writing, by name) so tests can tell an upload from a repeat.
 *
 * Standalone (benchmarks start it in a process of its own): `node --import tsx test/support/sftp-server.ts
 * <root> [port]` prints one JSON line `{ port, username, password }` and serves until killed.
 */
import { timingSafeEqual } from 'node:crypto';
import { type Stats, mkdirSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, normalize, posix } from 'node:path';
import ssh2 from 'ssh2';
import type { Attributes, Connection, ParsedKey } from 'ssh2';

const { Server, utils } = ssh2;
const { OPEN_MODE, STATUS_CODE } = utils.sftp;

export interface SftpServerOptions {
  /** The directory served as `/`; created if missing. */
  readonly root: string;
  readonly username?: string;
  readonly password?: string;
  /** An OpenSSH public key (`ssh-ed25519 AAAA…`) accepted for the user. */
  readonly publicKey?: string;
  readonly port?: number;
}

export interface SftpServer {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly root: string;
  /** SHA-256 fingerprint of the host key, base64 without padding (as `ssh-keygen -l` prints it). */
  readonly hostKeySha256: string;
  /** How many times each remote path was opened for writing. */
  readonly writes: ReadonlyMap<string, number>;
  /** Authentications refused. */
  readonly refusedLogins: number;
  close(): Promise<void>;
}

function same(input: Buffer, allowed: Buffer): boolean {
  // Compare equal lengths only, always doing the work, so the timing says nothing about the value.
  const autoReject = input.length !== allowed.length;
  return timingSafeEqual(input, autoReject ? input : allowed) && !autoReject;
}

function toAttrs(info: Stats): Attributes {
  return {
    mode: info.mode,
    uid: info.uid,
    gid: info.gid,
    size: info.size,
    atime: Math.floor(info.atimeMs / 1000),
    mtime: Math.floor(info.mtimeMs / 1000),
  };
}

function statusFor(error: unknown): number {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return STATUS_CODE.NO_SUCH_FILE;
  if (code === 'EACCES' || code === 'EPERM') return STATUS_CODE.PERMISSION_DENIED;
  return STATUS_CODE.FAILURE;
}

export async function startSftpServer(options: SftpServerOptions): Promise<SftpServer> {
  const username = options.username ?? 'sluice';
  const password = options.password ?? 'test-password';
  mkdirSync(options.root, { recursive: true });
  const hostKey = utils.generateKeyPairSync('ed25519');
  const parsedHost = utils.parseKey(hostKey.private) as ParsedKey;
  const { createHash } = await import('node:crypto');
  const hostKeySha256 = createHash('sha256').update(parsedHost.getPublicSSH()).digest('base64').replace(/=+$/, '');
  const allowedKey = options.publicKey === undefined ? undefined : (utils.parseKey(options.publicKey) as ParsedKey);
  const writes = new Map<string, number>();
  let refusedLogins = 0;
  const connections = new Set<Connection>();

  /** A client path → a path under the root (never above it). */
  const local = (path: string): string => join(options.root, normalize(posix.resolve('/', path)));

  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => {});
    client
      .on('authentication', (ctx) => {
        const userOk = same(Buffer.from(ctx.username), Buffer.from(username));
        if (ctx.method === 'password' && userOk && same(Buffer.from(ctx.password), Buffer.from(password))) return ctx.accept();
        if (ctx.method === 'publickey' && userOk && allowedKey !== undefined) {
          const wanted = allowedKey.getPublicSSH();
          if (ctx.key.algo === allowedKey.type && same(ctx.key.data, wanted)) {
            // Without a signature the client only asks whether the key would do.
            if (ctx.signature === undefined || (ctx.blob !== undefined && allowedKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true)) return ctx.accept();
          }
        }
        if (ctx.method !== 'none') refusedLogins++;
        ctx.reject(['password', 'publickey']);
      })
      .on('ready', () => {
        client.on('session', (acceptSession) => {
          const session = acceptSession();
          session.on('sftp', (acceptSftp) => {
            const sftp = acceptSftp();
            const files = new Map<number, { handle: FileHandle; path: string }>();
            const dirs = new Map<number, { path: string; done: boolean }>();
            let next = 0;
            const newHandle = (): [number, Buffer] => {
              const id = next++;
              const buffer = Buffer.alloc(4);
              buffer.writeUInt32BE(id, 0);
              return [id, buffer];
            };
            const idOf = (buffer: Buffer): number => (buffer.length === 4 ? buffer.readUInt32BE(0) : -1);
            const fail = (reqid: number) => (error: unknown) => sftp.status(reqid, statusFor(error));

            sftp.on('OPEN', (reqid, filename, flags) => {
              let mode = 'r';
              if (flags & OPEN_MODE.WRITE) {
                if (flags & OPEN_MODE.APPEND) mode = 'a';
                else if (flags & OPEN_MODE.TRUNC) mode = flags & OPEN_MODE.EXCL ? 'wx' : 'w';
                else mode = flags & OPEN_MODE.CREAT ? (flags & OPEN_MODE.EXCL ? 'wx' : 'w') : 'r+';
                if (flags & OPEN_MODE.READ) mode = mode === 'r+' ? 'r+' : `${mode}+`;
              }
              const path = local(filename);
              open(path, mode).then((handle) => {
                if (flags & OPEN_MODE.WRITE) writes.set(posix.resolve('/', filename), (writes.get(posix.resolve('/', filename)) ?? 0) + 1);
                const [id, buffer] = newHandle();
                files.set(id, { handle, path });
                sftp.handle(reqid, buffer);
              }, fail(reqid));
            });
            sftp.on('WRITE', (reqid, handle, offset, data) => {
              const file = files.get(idOf(handle));
              if (file === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
              file.handle.write(data, 0, data.length, offset).then(() => sftp.status(reqid, STATUS_CODE.OK), fail(reqid));
            });
            sftp.on('READ', (reqid, handle, offset, length) => {
              const file = files.get(idOf(handle));
              if (file === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
              const buffer = Buffer.alloc(length);
              file.handle.read(buffer, 0, length, offset).then(({ bytesRead }) => {
                if (bytesRead === 0) sftp.status(reqid, STATUS_CODE.EOF);
                else sftp.data(reqid, buffer.subarray(0, bytesRead));
              }, fail(reqid));
            });
            sftp.on('FSTAT', (reqid, handle) => {
              const file = files.get(idOf(handle));
              if (file === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
              file.handle.stat().then((info) => sftp.attrs(reqid, toAttrs(info)), fail(reqid));
            });
            sftp.on('FSETSTAT', (reqid) => sftp.status(reqid, STATUS_CODE.OK));
            sftp.on('SETSTAT', (reqid) => sftp.status(reqid, STATUS_CODE.OK));
            sftp.on('CLOSE', (reqid, handle) => {
              const id = idOf(handle);
              const file = files.get(id);
              if (file !== undefined) {
                files.delete(id);
                file.handle.close().then(() => sftp.status(reqid, STATUS_CODE.OK), fail(reqid));
              } else if (dirs.delete(id)) sftp.status(reqid, STATUS_CODE.OK);
              else sftp.status(reqid, STATUS_CODE.FAILURE);
            });
            const onStat = (reqid: number, path: string) => {
              stat(local(path)).then((info) => sftp.attrs(reqid, toAttrs(info)), fail(reqid));
            };
            sftp.on('STAT', onStat);
            sftp.on('LSTAT', onStat);
            sftp.on('OPENDIR', (reqid, path) => {
              stat(local(path)).then((info) => {
                if (!info.isDirectory()) return sftp.status(reqid, STATUS_CODE.FAILURE, 'not a directory');
                const [id, buffer] = newHandle();
                dirs.set(id, { path: local(path), done: false });
                sftp.handle(reqid, buffer);
              }, fail(reqid));
            });
            sftp.on('READDIR', (reqid, handle) => {
              const dir = dirs.get(idOf(handle));
              if (dir === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
              if (dir.done) return sftp.status(reqid, STATUS_CODE.EOF);
              dir.done = true;
              readdir(dir.path)
                .then((names) => Promise.all(names.map(async (name) => ({ name, info: await stat(join(dir.path, name)) }))))
                .then((entries) => {
                  if (entries.length === 0) return sftp.status(reqid, STATUS_CODE.EOF);
                  sftp.name(reqid, entries.map(({ name, info }) => ({ filename: name, longname: name, attrs: toAttrs(info) })));
                }, fail(reqid));
            });
            sftp.on('REALPATH', (reqid, path) => {
              const resolved = posix.resolve('/', path);
              sftp.name(reqid, [{ filename: resolved, longname: resolved, attrs: {} as Attributes }]);
            });
            sftp.on('MKDIR', (reqid, path) => {
              mkdir(local(path)).then(() => sftp.status(reqid, STATUS_CODE.OK), fail(reqid));
            });
            sftp.on('RMDIR', (reqid, path) => {
              rmdir(local(path)).then(() => sftp.status(reqid, STATUS_CODE.OK), fail(reqid));
            });
            sftp.on('REMOVE', (reqid, path) => {
              rm(local(path)).then(() => sftp.status(reqid, STATUS_CODE.OK), fail(reqid));
            });
            sftp.on('RENAME', (reqid, from, to) => {
              // SFTP v3: renaming onto an existing file fails.
              stat(local(to)).then(
                () => sftp.status(reqid, STATUS_CODE.FAILURE, 'the target exists'),
                () => rename(local(from), local(to)).then(() => sftp.status(reqid, STATUS_CODE.OK), fail(reqid)),
              );
            });
          });
        });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    username,
    password,
    root: options.root,
    hostKeySha256,
    writes,
    get refusedLogins() {
      return refusedLogins;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of connections) connection.end();
        server.close(() => resolve());
      }),
  };
}

/** A key pair for public-key tests: OpenSSH public and private key text. */
export function generateUserKey(passphrase?: string): { publicKey: string; privateKey: string } {
  const keys = utils.generateKeyPairSync('ed25519', passphrase === undefined ? {} : { passphrase, cipher: 'aes256-cbc', rounds: 16 });
  return { publicKey: keys.public, privateKey: keys.private };
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const root = process.argv[2];
  if (root === undefined) throw new Error('usage: sftp-server.ts <root> [port]');
  const server = await startSftpServer({ root, ...(process.argv[3] === undefined ? {} : { port: Number(process.argv[3]) }) });
  process.stdout.write(`${JSON.stringify({ port: server.port, username: server.username, password: server.password, hostKeySha256: server.hostKeySha256 })}\n`);
}
