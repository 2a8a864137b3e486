/**
 * The key that encrypts secret config values at rest (see cipher.ts): 32 bytes, from SLUICE_SECRET_KEY
 * (64 hex characters, or base64 / base64url of 32 bytes). Without it, the embedded mode keeps its own key
 * in `<SLUICE_HOME>/secret.key` (generated on first use, mode 0600); with DATABASE_URL it is required,
 * since every worker and API node must decrypt what the others wrote. No message ever quotes a key.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SluiceError } from '../sdk/errors.ts';

export const SECRET_KEY_BYTES = 32;
export const SECRET_KEY_FILE = 'secret.key';

export interface SecretKeyOptions {
  readonly env: NodeJS.ProcessEnv;
  /** SLUICE_HOME: where the embedded mode keeps its key file. */
  readonly home: string;
  /** True for the embedded database; false when DATABASE_URL names a shared PostgreSQL. */
  readonly embedded: boolean;
}

export function loadSecretKey({ env, home, embedded }: SecretKeyOptions): Buffer {
  const given = env.SLUICE_SECRET_KEY?.trim();
  if (given !== undefined && given !== '') return parseSecretKey(given, 'SLUICE_SECRET_KEY');
  if (!embedded) {
    throw new SluiceError(
      'CONFIG_INVALID',
      'SLUICE_SECRET_KEY is required with DATABASE_URL: every worker and API node must share it (generate one with `openssl rand -hex 32`)',
    );
  }
  return readOrCreateKeyFile(join(home, SECRET_KEY_FILE));
}

/** A key written as 64 hex characters or base64 of 32 bytes; `source` names where it came from. */
export function parseSecretKey(text: string, source: string): Buffer {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  // 32 bytes are 43 base64 characters plus one '=' of padding; Buffer reads both alphabets.
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    const key = Buffer.from(value, 'base64');
    if (key.length === SECRET_KEY_BYTES) return key;
  }
  throw new SluiceError(
    'CONFIG_INVALID',
    `${source} must be 32 bytes written as 64 hex characters or as base64 (generate one with \`openssl rand -hex 32\`); the value given is ${value.length} characters long`,
  );
}

function readOrCreateKeyFile(path: string): Buffer {
  const existing = readKeyFile(path);
  if (existing !== undefined) return existing;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(SECRET_KEY_BYTES);
  // Written whole under a private name, then linked into place: link fails if the file exists, so when
  // two processes start together the second one reads the first one's key, never a half-written file.
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw keyFileError(path, error);
    const winner = readKeyFile(path);
    if (winner === undefined) throw keyFileError(path, error);
    return winner;
  } finally {
    rmSync(temporary, { force: true });
  }
  return key;
}

function readKeyFile(path: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw keyFileError(path, error);
  }
  return parseSecretKey(text, path);
}

function keyFileError(path: string, error: unknown): SluiceError {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new SluiceError('CONFIG_INVALID', `cannot use the secret key file ${path}: ${reason}`, { cause: error });
}
