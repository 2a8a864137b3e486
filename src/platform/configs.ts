/**
 * Posting a config version — the one path for the API's `POST /configs` and for `sluice serve --config`.
 *
 * Promises:
 * - a version is checked as a whole before anything is stored, and every problem comes back at once with
 *   its JSON path (`destinations.api.url`); nothing is stored when there is one;
 * - what is checked is exactly what a worker will run: secrets posted as `"********"` are first replaced by
 *   the values of the current version (so an edited copy of a GET round-trips), then the result is
 *   resolved against the platform's environment as `sluice validate` would;
 * - the stored value is the bare config (a Tightlock `{label, value}` wrapper is taken off) with every
 *   secret encrypted; `${VAR}` references stay as written and are resolved by the worker at run time;
 * - schedules follow the new version, and the post is audited (`config.create`, never with values);
 * - a label already used throws the store's LabelTakenError (the API answers 409).
 */
import { resolveConfig } from '../config/resolve.ts';
import { unwrapConfig } from '../config/load.ts';
import type { ConfigIssue } from '../sdk/spec.ts';
import { audit } from '../store/audit.ts';
import { decryptConfigSecrets, encryptConfigSecrets } from '../store/config-secrets.ts';
import { type StoredConfig, insertConfig, latestConfig, nextConfigLabel } from '../store/configs.ts';
import type { Platform } from './context.ts';
import { scheduledActivations, syncSchedules } from './scheduler.ts';
import { activationNames } from './trigger.ts';

export type CheckedConfig = { readonly ok: true; readonly stored: unknown } | { readonly ok: false; readonly issues: ConfigIssue[] };

export type PostConfigResult = { readonly ok: true; readonly config: StoredConfig } | { readonly ok: false; readonly issues: ConfigIssue[] };

export interface PostConfigInput {
  /** The config: bare, or wrapped as `{ label, value }`. */
  readonly value: unknown;
  /** Default: `version N (<time>)`. */
  readonly label?: string;
  /** Who posts it, for the audit log: `key:<prefix>`, `cli`. */
  readonly actor: string;
}

type ConfigPlatform = Pick<Platform, 'db' | 'secretKey' | 'env'>;

export async function postConfig(platform: ConfigPlatform, input: PostConfigInput): Promise<PostConfigResult> {
  const { db } = platform;
  const checked = await checkConfig(platform, input.value);
  if (!checked.ok) return checked;
  const label = input.label ?? (await nextConfigLabel(db));
  const config = await db.transaction(async (tx) => {
    const inserted = await insertConfig(tx, { label, value: checked.stored, createdBy: input.actor });
    await audit(tx, {
      actor: input.actor,
      action: 'config.create',
      target: String(inserted.id),
      detail: { label, activations: activationNames(inserted.value) },
    });
    return inserted;
  });
  await syncSchedules(db, scheduledActivations(config.value));
  return { ok: true, config };
}

/**
 * Checks a config as `postConfig` would, storing nothing: `stored` is what would be stored. Masked
 * secrets are taken from the current version.
 */
export async function checkConfig(platform: ConfigPlatform, value: unknown): Promise<CheckedConfig> {
  const previous = await latestConfig(platform.db);
  const encrypted = await encryptConfigSecrets(unwrapConfig(value), platform.secretKey, previous?.value);
  const resolved = await resolveConfig(decryptConfigSecrets(encrypted.stored, platform.secretKey), platform.env);
  // A mask with nothing to keep is reported once, by the secrets step, not again as an invalid value.
  const reported = new Set(encrypted.issues.map((issue) => issue.path));
  const issues = [...encrypted.issues, ...resolved.issues.filter((issue) => !reported.has(issue.path))];
  return issues.length > 0 ? { ok: false, issues } : { ok: true, stored: encrypted.stored };
}
