/**
 * Validation of mapped records against a destination object's `fields` schema. Returns a reason that names
 * the field (as a JSON path) so a rejected record says exactly what is wrong with it.
 */
import type { z } from 'zod';
import type { JsonObject } from '../protocol/json.ts';
import { formatPath } from '../sdk/spec.ts';

export type Validate = (record: JsonObject) => string | undefined;

export function compileValidator(fields: z.ZodType | undefined): Validate | undefined {
  if (fields === undefined) return undefined;
  return (record) => {
    const result = fields.safeParse(record);
    if (result.success) return undefined;
    return result.error.issues
      .slice(0, 5)
      .map((issue) => `${formatPath('', issue.path)}: ${issue.message}`)
      .join('; ');
  };
}
