import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../sdk/errors.ts';
import {
  SECRET_MASK,
  decryptConfigSecrets,
  encryptConfigSecrets,
  isSecretMarker,
  maskConfigSecrets,
  secretPathsOfConfig,
  secretValues,
} from './config-secrets.ts';

const key = randomBytes(32);
const HEADER_CANARY = 'canary-header-7f3a9c';
const TAP_CANARY = 'canary-tap-token-51d2';
const WEBHOOK_CANARY = 'canary-webhook-0b8e';
const CANARIES = [HEADER_CANARY, TAP_CANARY, WEBHOOK_CANARY];

function config() {
  return {
    sources: {
      orders: { type: 'file', path: 'data/orders.csv' },
      'tap-gh': {
        type: 'singer-tap',
        command: ['tap-github'],
        config: { access_token: TAP_CANARY, start_date: '2024-01-01', page_size: 100 },
        env: {},
      },
      mystery: { type: 'no-such-connector', token: 'not known to be secret' },
    },
    destinations: {
      crm: { type: 'http', url: 'https://api.example.com/v1/records', headers: { Authorization: `Bearer ${HEADER_CANARY}` } },
    },
    activations: [
      {
        name: 'orders-to-crm',
        source: { $ref: '#/sources/orders' },
        destination: { $ref: '#/destinations/crm' },
        notify: { webhook_url: `https://hooks.slack.com/services/T000/B000/${WEBHOOK_CANARY}` },
      },
    ],
  };
}

function expectNoCanary(value: unknown): void {
  const text = JSON.stringify(value);
  for (const canary of CANARIES) expect(text).not.toContain(canary);
}

const at = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], value);

describe('secretPathsOfConfig', () => {
  it("lists the connectors' secret fields and the activations' webhook URLs", async () => {
    expect((await secretPathsOfConfig(config())).sort()).toEqual([
      'activations[0].notify.webhook_url',
      'destinations.crm.headers',
      'destinations.crm.signing_secret',
      'sources.tap-gh.config',
      'sources.tap-gh.env',
    ]);
  });
});

describe('encryptConfigSecrets', () => {
  it('encrypts every secret string and nothing else; decryption restores the config', async () => {
    const { stored, issues } = await encryptConfigSecrets(config(), key);
    expect(issues).toEqual([]);
    expectNoCanary(stored);
    expect(isSecretMarker(at(stored, 'destinations', 'crm', 'headers', 'Authorization'))).toBe(true);
    expect(isSecretMarker(at(stored, 'sources', 'tap-gh', 'config', 'access_token'))).toBe(true);
    expect(isSecretMarker(at(stored, 'sources', 'tap-gh', 'config', 'start_date'))).toBe(true);
    expect(isSecretMarker(at(stored, 'activations', 0, 'notify', 'webhook_url'))).toBe(true);
    // Not secret: left as they are.
    expect(at(stored, 'sources', 'tap-gh', 'config', 'page_size')).toBe(100);
    expect(at(stored, 'destinations', 'crm', 'url')).toBe('https://api.example.com/v1/records');
    expect(at(stored, 'sources', 'mystery', 'token')).toBe('not known to be secret');
    expect(at(stored, 'sources', 'orders')).toEqual({ type: 'file', path: 'data/orders.csv' });

    expect(decryptConfigSecrets(stored, key)).toEqual(config());
  });

  it('does not change its input', async () => {
    const input = config();
    await encryptConfigSecrets(input, key);
    expect(input).toEqual(config());
  });

  it('keeps the earlier value where the mask is posted back (GET, edit, POST)', async () => {
    const { stored: previous } = await encryptConfigSecrets(config(), key);
    const edited = maskConfigSecrets(previous) as ReturnType<typeof config>;
    edited.destinations.crm.url = 'https://api.example.com/v2/records';
    (edited.destinations.crm.headers as Record<string, string>)['X-Team'] = 'growth';

    const { stored, issues } = await encryptConfigSecrets(edited, key, previous);
    expect(issues).toEqual([]);
    expectNoCanary(stored);
    // The token itself is carried over, not re-encrypted.
    expect(at(stored, 'destinations', 'crm', 'headers', 'Authorization')).toEqual(at(previous, 'destinations', 'crm', 'headers', 'Authorization'));
    const expected = config();
    expected.destinations.crm.url = 'https://api.example.com/v2/records';
    (expected.destinations.crm.headers as Record<string, string>)['X-Team'] = 'growth';
    expect(decryptConfigSecrets(stored, key)).toEqual(expected);
  });

  it('keeps a whole secret field posted as one mask', async () => {
    const { stored: previous } = await encryptConfigSecrets(config(), key);
    const edited = { ...config(), destinations: { crm: { type: 'http', url: 'https://api.example.com/v1/records', headers: SECRET_MASK } } };
    const { stored, issues } = await encryptConfigSecrets(edited, key, previous);
    expect(issues).toEqual([]);
    expect(decryptConfigSecrets(stored, key)).toEqual(config());
  });

  it('reports a mask with no earlier value to keep', async () => {
    const { stored: previous } = await encryptConfigSecrets(config(), key);
    const posted = config();
    (posted.destinations.crm.headers as Record<string, string>) = { Authorization: SECRET_MASK, 'X-Api-Key': SECRET_MASK };
    posted.activations[0]!.notify.webhook_url = SECRET_MASK;

    expect((await encryptConfigSecrets(posted, key)).issues).toEqual([
      { path: 'destinations.crm.headers.Authorization', message: 'secret is masked ("********") but no earlier version has a value to keep' },
      { path: 'destinations.crm.headers["X-Api-Key"]', message: 'secret is masked ("********") but no earlier version has a value to keep' },
      { path: 'activations[0].notify.webhook_url', message: 'secret is masked ("********") but no earlier version has a value to keep' },
    ]);
    expect((await encryptConfigSecrets(posted, key, previous)).issues).toEqual([
      { path: 'destinations.crm.headers["X-Api-Key"]', message: 'secret is masked ("********") but no earlier version has a value to keep' },
    ]);
  });

  it('refuses the stored-secret shape outside secret fields', async () => {
    const { stored: previous } = await encryptConfigSecrets(config(), key);
    const posted = config() as Record<string, unknown>;
    (posted.sources as Record<string, unknown>).orders = { type: 'file', path: at(previous, 'destinations', 'crm', 'headers', 'Authorization') };
    expect((await encryptConfigSecrets(posted, key)).issues).toEqual([
      { path: 'sources.orders.path', message: 'an object whose only key is "$secret" is reserved for encrypted secrets' },
    ]);
  });
});

describe('maskConfigSecrets', () => {
  it('shows every secret as the mask and keeps everything else', async () => {
    const { stored } = await encryptConfigSecrets(config(), key);
    const masked = maskConfigSecrets(stored);
    expectNoCanary(masked);
    expect(JSON.stringify(masked)).not.toContain('$secret');
    const expected = config();
    expected.destinations.crm.headers.Authorization = SECRET_MASK;
    expected.sources['tap-gh'].config = { access_token: SECRET_MASK, start_date: SECRET_MASK, page_size: 100 };
    expected.activations[0]!.notify.webhook_url = SECRET_MASK;
    expect(masked).toEqual(expected);
  });
});

describe('decryptConfigSecrets', () => {
  it('names the path and the likely cause when the key is wrong', async () => {
    const { stored } = await encryptConfigSecrets(config(), key);
    let caught: unknown;
    try {
      decryptConfigSecrets(stored, randomBytes(32));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SluiceError);
    expect((caught as SluiceError).code).toBe('CONFIG_INVALID');
    expect((caught as SluiceError).message).toMatch(
      /^[\w.[\]"-]+: a stored secret could not be decrypted: SLUICE_SECRET_KEY differs from the key it was encrypted with$/,
    );
  });
});

describe('secretValues', () => {
  it('lists each secret in plaintext once, for redaction', async () => {
    const { stored } = await encryptConfigSecrets(config(), key);
    expect(secretValues(stored, key).sort()).toEqual(
      [`Bearer ${HEADER_CANARY}`, TAP_CANARY, '2024-01-01', `https://hooks.slack.com/services/T000/B000/${WEBHOOK_CANARY}`].sort(),
    );
  });
});
