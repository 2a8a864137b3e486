/**
 * One secret value, encrypted: AES-256-GCM with a fresh random 12-byte IV, written as the text token
 * `v1:<iv>:<tag>:<ciphertext>` (each part base64url, no padding). Decryption authenticates the token, so a
 * wrong key or a tampered token is an error, never garbage. Error messages never quote the token or key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SluiceError } from '../sdk/errors.ts';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
// base64url lengths: 12 bytes → 16 characters, 16 bytes → 22 characters.
const TOKEN = /^v1:([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]{22}):([A-Za-z0-9_-]*)$/;

export function encryptSecret(key: Buffer, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', checkKey(key), iv, { authTagLength: TAG_BYTES });
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join(':');
}

export function decryptSecret(key: Buffer, token: string): string {
  const match = TOKEN.exec(token);
  if (match === null) throw new SluiceError('CONFIG_INVALID', 'a stored secret is not a valid encrypted value (expected v1:<iv>:<tag>:<ciphertext>)');
  const [, iv, tag, ciphertext] = match as unknown as [string, string, string, string];
  const decipher = createDecipheriv('aes-256-gcm', checkKey(key), Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new SluiceError(
      'CONFIG_INVALID',
      'a stored secret could not be decrypted: SLUICE_SECRET_KEY differs from the key it was encrypted with',
      { cause: error },
    );
  }
}

/** True for a string shaped like a token encryptSecret makes. */
export function isEncrypted(value: unknown): value is string {
  return typeof value === 'string' && TOKEN.test(value);
}

function checkKey(key: Buffer): Buffer {
  if (key.length !== 32) throw new SluiceError('CONFIG_INVALID', `the secret key must be 32 bytes, not ${key.length}`);
  return key;
}
