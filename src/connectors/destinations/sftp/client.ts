/**
 * A small promise API over ssh2's client for what the sftp destination does: connect and log in (mapping
 * failures to SluiceErrors whose messages never hold a secret), stat, upload a local file (ssh2's
 * `fastPut`: many writes in flight), rename into place, unlink, close.
 */
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import type { ConnectConfig, SFTPWrapper, Stats } from 'ssh2';
import { SluiceError } from '../../../sdk/errors.ts';
import type { SftpConfig } from './spec.ts';

const { Client, utils } = ssh2;
const STATUS = utils.sftp.STATUS_CODE;

export interface SftpConnection {
  readonly sftp: SFTPWrapper;
  stat(path: string): Promise<Stats | undefined>;
  put(local: string, remote: string): Promise<void>;
  write(remote: string, content: string): Promise<void>;
  /** Rename, replacing an existing target (posix-rename when the server offers it, else unlink first). */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  close(): void;
}

function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** An SFTP status error → a SluiceError: missing paths and permissions are config errors, the rest transient. */
export function sftpError(error: unknown, what: string): SluiceError {
  if (error instanceof SluiceError) return error;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === STATUS.NO_SUCH_FILE) return new SluiceError('CONFIG_INVALID', `sftp: ${what}: no such file or directory`);
  if (code === STATUS.PERMISSION_DENIED) return new SluiceError('CONFIG_INVALID', `sftp: ${what}: permission denied`);
  return new SluiceError('NETWORK', `sftp: ${what}: ${message}`, { cause: error });
}

export async function connect(config: SftpConfig, signal?: AbortSignal): Promise<SftpConnection> {
  const client = new Client();
  const where = `${config.host}:${config.port}`;
  let presented: string | undefined;
  const options: ConnectConfig = {
    host: config.host,
    port: config.port,
    username: config.username,
    readyTimeout: config.timeout_ms,
    ...(config.password === undefined ? {} : { password: config.password }),
    ...(config.private_key === undefined ? {} : { privateKey: config.private_key }),
    ...(config.passphrase === undefined ? {} : { passphrase: config.passphrase }),
    hostVerifier: (key: Buffer) => {
      presented = fingerprint(key);
      if (config.host_key_sha256 === undefined) return true;
      const wanted = config.host_key_sha256.startsWith('SHA256:') ? config.host_key_sha256 : `SHA256:${config.host_key_sha256}`;
      return presented === wanted.replace(/=+$/, '');
    },
  };
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      client.end();
      reject(new SluiceError('NETWORK', `sftp: connecting to ${where} was cancelled`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    client.once('error', (error: Error & { level?: string; code?: string }) => {
      signal?.removeEventListener('abort', onAbort);
      client.end();
      reject(connectError(error, config, where, presented));
    });
    try {
      client.connect(options);
    } catch (error) {
      // A key ssh2 cannot parse (or decrypt) throws here, before any connection.
      reject(new SluiceError('CONFIG_INVALID', `sftp: private_key cannot be used: ${(error as Error).message}`));
    }
  });
  // Errors after login (a dropped connection) surface through the calls in progress.
  client.on('error', () => {});
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((error, session) => (error ? reject(sftpError(error, 'starting the SFTP session')) : resolve(session))));
  const call = <T>(what: string, run: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> =>
    new Promise<T>((resolve, reject) => run((error, value) => (error ? reject(sftpError(error, what)) : resolve(value as T))));
  const connection: SftpConnection = {
    sftp,
    async stat(path) {
      try {
        return await call<Stats>(`stat ${path}`, (done) => sftp.stat(path, done));
      } catch (error) {
        if (error instanceof SluiceError && /no such file/.test(error.message)) return undefined;
        throw error;
      }
    },
    put: (local, remote) => call<void>(`upload to ${remote}`, (done) => sftp.fastPut(local, remote, { concurrency: 64, chunkSize: 32_768 }, (error) => done(error))),
    write: (remote, content) => call<void>(`write ${remote}`, (done) => sftp.writeFile(remote, content, (error) => done(error))),
    async rename(from, to) {
      if ((sftp as unknown as { _extensions?: Record<string, unknown> })._extensions?.['posix-rename@openssh.com'] !== undefined) {
        await call<void>(`rename ${from} to ${to}`, (done) => sftp.ext_openssh_rename(from, to, (error) => done(error)));
        return;
      }
      try {
        await call<void>(`rename ${from} to ${to}`, (done) => sftp.rename(from, to, (error) => done(error)));
      } catch (error) {
        // SFTP version 3 servers refuse to rename onto an existing file: remove it, then rename.
        if ((await connection.stat(to)) === undefined) throw error;
        await connection.unlink(to);
        await call<void>(`rename ${from} to ${to}`, (done) => sftp.rename(from, to, (renameError) => done(renameError)));
      }
    },
    unlink: (path) => call<void>(`remove ${path}`, (done) => sftp.unlink(path, (error) => done(error))),
    close: () => client.end(),
  };
  return connection;
}

function connectError(error: Error & { level?: string; code?: string }, config: SftpConfig, where: string, presented: string | undefined): SluiceError {
  if (error.level === 'client-authentication') {
    const how = config.private_key !== undefined ? (config.password !== undefined ? 'password and key' : 'key') : 'password';
    return new SluiceError('AUTH_REFUSED', `sftp: ${where} refused the login of user "${config.username}" (${how})`);
  }
  if (/host key|hostVerifier|verification failed/i.test(error.message) && config.host_key_sha256 !== undefined) {
    return new SluiceError('CONFIG_INVALID', `sftp: ${where} presented host key ${presented ?? 'unknown'}, not host_key_sha256 ${config.host_key_sha256}`);
  }
  if (/Cannot parse privateKey|passphrase|Encrypted private/i.test(error.message)) {
    return new SluiceError('CONFIG_INVALID', `sftp: private_key cannot be used: ${error.message}`);
  }
  const code = error.code ?? '';
  const reason = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' ? 'host not found' : /Timed out/i.test(error.message) ? `no answer within ${config.timeout_ms} ms` : error.message;
  return new SluiceError('NETWORK', `sftp: cannot connect to ${where}: ${reason}`, { cause: error });
}
