import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../sdk/errors.ts';
import { loadSecretKey } from './secret-key.ts';

const HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

let homes: string[] = [];
function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-key-'));
  homes.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of homes) rmSync(dir, { recursive: true, force: true });
  homes = [];
});

function failure(run: () => unknown): SluiceError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SluiceError);
    return error as SluiceError;
  }
  throw new Error('expected an error');
}

describe('loadSecretKey', () => {
  it('reads SLUICE_SECRET_KEY as 64 hex characters', () => {
    const key = loadSecretKey({ env: { SLUICE_SECRET_KEY: HEX }, home: home(), embedded: false });
    expect(key.toString('hex')).toBe(HEX);
  });

  it('reads SLUICE_SECRET_KEY as base64 or base64url of 32 bytes', () => {
    const bytes = Buffer.from(HEX, 'hex');
    for (const text of [bytes.toString('base64'), bytes.toString('base64url')]) {
      expect(loadSecretKey({ env: { SLUICE_SECRET_KEY: text }, home: home(), embedded: true }).equals(bytes)).toBe(true);
    }
  });

  it('refuses a malformed key without quoting it', () => {
    for (const bad of ['not-a-key-but-a-password-1234', HEX.slice(2), Buffer.alloc(16, 7).toString('base64')]) {
      const error = failure(() => loadSecretKey({ env: { SLUICE_SECRET_KEY: bad }, home: home(), embedded: true }));
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.message).toMatch(/^SLUICE_SECRET_KEY must be 32 bytes written as 64 hex characters or as base64/);
      expect(error.message).not.toContain(bad);
    }
  });

  it('requires SLUICE_SECRET_KEY with DATABASE_URL', () => {
    const error = failure(() => loadSecretKey({ env: {}, home: home(), embedded: false }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(
      'SLUICE_SECRET_KEY is required with DATABASE_URL: every worker and API node must share it (generate one with `openssl rand -hex 32`)',
    );
  });

  it('generates a key file (mode 0600) in embedded mode and reads it back afterwards', () => {
    const dir = join(home(), 'nested', 'home');
    const first = loadSecretKey({ env: {}, home: dir, embedded: true });
    expect(first.length).toBe(32);
    const file = join(dir, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.toString('hex'));
    expect(loadSecretKey({ env: { SLUICE_SECRET_KEY: '' }, home: dir, embedded: true }).equals(first)).toBe(true);
  });

  it('prefers SLUICE_SECRET_KEY over the key file', () => {
    const dir = home();
    loadSecretKey({ env: {}, home: dir, embedded: true });
    expect(loadSecretKey({ env: { SLUICE_SECRET_KEY: HEX }, home: dir, embedded: true }).toString('hex')).toBe(HEX);
  });

  it('names a corrupt key file without quoting it', () => {
    const dir = home();
    writeFileSync(join(dir, 'secret.key'), 'garbage-garbage\n');
    const error = failure(() => loadSecretKey({ env: {}, home: dir, embedded: true }));
    expect(error.message).toContain(join(dir, 'secret.key'));
    expect(error.message).not.toContain('garbage');
  });
});
