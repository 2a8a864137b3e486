import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../sdk/errors.ts';
import { decryptSecret, encryptSecret, isEncrypted } from './cipher.ts';

const key = randomBytes(32);

describe('cipher', () => {
  it('round-trips text, including empty and non-ASCII strings', () => {
    for (const text of ['Bearer sk_live_123', '', 'pässwörd ✓ 🔑', 'x'.repeat(10_000)]) {
      const token = encryptSecret(key, text);
      expect(isEncrypted(token)).toBe(true);
      expect(decryptSecret(key, token)).toBe(text);
    }
  });

  it('writes v1:<iv>:<tag>:<ciphertext> in base64url with a fresh IV each time', () => {
    const a = encryptSecret(key, 'same');
    const b = encryptSecret(key, 'same');
    expect(a).not.toBe(b);
    const [version, iv, tag, ciphertext] = a.split(':');
    expect(version).toBe('v1');
    expect(Buffer.from(iv!, 'base64url').length).toBe(12);
    expect(Buffer.from(tag!, 'base64url').length).toBe(16);
    expect(Buffer.from(ciphertext!, 'base64url').length).toBe(4);
    expect(a).not.toContain('same');
  });

  it('refuses a token under another key with a message that names the cause', () => {
    const token = encryptSecret(key, 'canary-secret');
    let caught: unknown;
    try {
      decryptSecret(randomBytes(32), token);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SluiceError);
    expect((caught as SluiceError).code).toBe('CONFIG_INVALID');
    expect((caught as SluiceError).message).toBe(
      'a stored secret could not be decrypted: SLUICE_SECRET_KEY differs from the key it was encrypted with',
    );
  });

  it('refuses a tampered or malformed token', () => {
    const token = encryptSecret(key, 'canary-secret');
    const [version, iv, tag, ciphertext] = token.split(':') as [string, string, string, string];
    const flipped = Buffer.from(ciphertext, 'base64url');
    flipped[0]! ^= 1;
    expect(() => decryptSecret(key, [version, iv, tag, flipped.toString('base64url')].join(':'))).toThrow(/could not be decrypted/);
    expect(() => decryptSecret(key, 'v1:abc')).toThrow(/not a valid encrypted value/);
  });

  it('recognises only tokens', () => {
    expect(isEncrypted('v1:abc:def:ghi')).toBe(false);
    expect(isEncrypted('Bearer x')).toBe(false);
    expect(isEncrypted(42)).toBe(false);
  });
});
