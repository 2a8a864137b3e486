/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, spec/standard-webhooks.md in
 * github.com/standard-webhooks/standard-webhooks): each request carries
 *
 *   webhook-id:        the message id — here the batch's idempotency key, the same on every retry
 *   webhook-timestamp: the attempt's time, integer unix seconds (a retry gets a new one)
 *   webhook-signature: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, one per secret,
 *                      space-delimited (several secrets while one is being rotated out)
 *
 * A secret in the spec's serialization is `whsec_` + base64 of random bytes (24 to 64 of them); the key is
 * those bytes. Any other text is a raw secret whose key is its UTF-8 bytes (the reference libraries'
 * `format: "raw"`), for receivers that share a plain string.
 */
import { createHmac } from 'node:crypto';

const PREFIX = 'whsec_';
/** The spec: "Random. At least 24 bytes (192 bits, 512 maximum)". */
export const MIN_KEY_BYTES = 24;
export const MAX_KEY_BYTES = 64;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why a secret cannot be used, or undefined. Never quotes the secret. */
export function signingSecretProblem(secret: string): string | undefined {
  if (secret === '') return 'a signing secret must not be empty';
  if (!secret.startsWith(PREFIX)) return undefined;
  const encoded = secret.slice(PREFIX.length);
  if (!BASE64.test(encoded)) return 'a `whsec_` secret must be followed by base64 (A-Z, a-z, 0-9, +, / and = padding)';
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES) return `a \`whsec_\` secret must hold ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes (it holds ${bytes})`;
  return undefined;
}

/** The HMAC key a secret stands for. */
export function signingKey(secret: string): Buffer {
  return secret.startsWith(PREFIX) ? Buffer.from(secret.slice(PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
}

/**
 * The message id for an idempotency key. The spec forbids `.` in it (the signed content is delimited by
 * full stops), and the engine's key for a retried subset of a batch has one (`<batch>.<attempt>`): every
 * character but letters, digits, `_`, `-` and `:` becomes `_`.
 */
export function webhookId(idempotencyKey: string): string {
  return idempotencyKey.replace(/[^A-Za-z0-9_:-]/g, '_');
}

export interface SignatureHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

export class WebhookSigner {
  private readonly keys: readonly Buffer[];

  /** `secrets`: the current one first; more while receivers move to it. */
  constructor(secrets: readonly string[]) {
    this.keys = secrets.map(signingKey);
  }

  /** Headers for one attempt at sending `body` (the exact text sent) under `id`, at `nowMs`. */
  headers(id: string, body: string, nowMs = Date.now()): SignatureHeaders {
    const timestamp = String(Math.floor(nowMs / 1000));
    const content = `${id}.${timestamp}.${body}`;
    const signatures = this.keys.map((key) => `v1,${createHmac('sha256', key).update(content, 'utf8').digest('base64')}`);
    return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
  }
}

/** The configured secret(s) as a list, current first. */
export function signingSecrets(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value];
}
