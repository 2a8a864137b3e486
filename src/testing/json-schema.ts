/**
 * One Ajv (draft 2020-12, strict) that knows Sluice's own schema keywords, so a spec's JSON Schema is
 * checked the way a UI or an Airbyte client would read it. Formats are not validated: Ajv needs a plugin
 * for them, and a spec's formats are enforced by zod anyway.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv';

export const SLUICE_KEYWORDS = ['airbyte_secret', 'x-secret', 'x-immutable', 'x-visible-when'] as const;

export function createAjv(strict = true): Ajv2020 {
  const ajv = new Ajv2020({ strict, allErrors: true, validateFormats: false });
  for (const keyword of SLUICE_KEYWORDS) ajv.addKeyword(keyword);
  return ajv;
}

export function formatAjvErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((error) => `${error.instancePath === '' ? '(root)' : error.instancePath} ${error.message ?? ''}`.trim())
    .join('; ');
}
