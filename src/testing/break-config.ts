/**
 * A config that parses but cannot work, derived from a working one — for `sluice test`, where a user
 * brings one config file. URLs point at a port nothing listens on (port 1 on loopback refuses at once);
 * paths go under /dev/null — a file, so nothing below it can exist or be created, even by root — keeping
 * the file name so its extension still says the format. When no field can be broken this way the caller asks for an invalid config instead.
 */
import type { z } from 'zod';
import { type JsonSchema, parseConfig, specToJsonSchema } from '../sdk/spec.ts';
import type { RawConfig } from './types.ts';

export const UNREACHABLE_URL = 'http://127.0.0.1:1/sluice-conformance';
export const MISSING_DIR = '/dev/null/sluice-conformance';

const PATH_KEY = /^(path|file|file_?name|dir|directory|folder)$|_(path|file|dir)$/;

export interface BrokenConfig {
  readonly config: RawConfig;
  /** What was changed, for the report: `url → http://127.0.0.1:1/…`. */
  readonly changes: readonly string[];
}

export function breakConfig(spec: z.ZodType, valid: RawConfig): BrokenConfig | undefined {
  const properties = (specToJsonSchema(spec).properties ?? {}) as Record<string, JsonSchema>;
  const config: RawConfig = { ...valid };
  const changes: string[] = [];
  for (const [key, schema] of Object.entries(properties)) {
    const value = config[key];
    if (typeof value !== 'string' || schema.type !== 'string') continue;
    let broken: string | undefined;
    if (schema.format === 'uri' || /^https?:\/\//.test(value)) broken = UNREACHABLE_URL;
    else if (PATH_KEY.test(key)) broken = `${MISSING_DIR}/${value.split(/[\\/]/).pop() ?? 'missing'}`;
    if (broken === undefined) continue;
    config[key] = broken;
    changes.push(`${key} → ${broken}`);
  }
  if (changes.length === 0 || !parseConfig(spec, config).ok) return undefined;
  return { config, changes };
}
