/**
 * What a config leaves implicit: the format (from the path's extension) and the stream name (from the file
 * name, e.g. `orders` for `data/orders.csv` and for `data/orders-*.csv`). Pure functions of the config.
 */
import { basename, dirname } from 'node:path';
import { SluiceError } from '../../../sdk/errors.ts';
import type { FileConfig, Format } from './spec.ts';

const EXTENSIONS: ReadonlyArray<readonly [string, Format]> = [
  ['.csv', 'csv'],
  ['.jsonl', 'jsonl'],
  ['.ndjson', 'jsonl'],
  ['.json', 'json'],
  ['.parquet', 'parquet'],
];

/** The format a path's extension names, or undefined. Works for globs too (`data/*.csv`). */
export function inferFormat(path: string): Format | undefined {
  const lower = path.toLowerCase();
  for (const [extension, format] of EXTENSIONS) if (lower.endsWith(extension)) return format;
  return undefined;
}

export function resolveFormat(config: Pick<FileConfig, 'path' | 'format'>): Format {
  const format = config.format ?? inferFormat(config.path);
  if (format === undefined) {
    throw new SluiceError('CONFIG_INVALID', `format: cannot tell the format of "${config.path}" from its extension; set format`);
  }
  return format;
}

const GLOB_CHARS = /[*?[{]/;

/** The configured stream name, or one derived from the path: its file name up to any glob, minus the extension. */
export function streamName(config: Pick<FileConfig, 'path' | 'stream'>): string {
  if (config.stream !== undefined) return config.stream;
  const last = basename(config.path);
  const globInName = last.search(GLOB_CHARS);
  const name = cleanName(stripExtension(globInName === -1 ? last : last.slice(0, globInName)));
  if (name !== '') return name;
  // `exports/*.csv` names nothing in its file part: fall back to the last directory before any glob.
  const globAt = config.path.search(GLOB_CHARS);
  const literal = globAt === -1 ? config.path : config.path.slice(0, globAt);
  return cleanName(basename(dirname(`${literal}x`))) || 'records';
}

function stripExtension(name: string): string {
  const lower = name.toLowerCase();
  for (const [extension] of EXTENSIONS) if (lower.endsWith(extension)) return name.slice(0, -extension.length);
  return name;
}

/** Stream names are identifiers downstream (tables, objects): keep letters, digits and underscores. */
function cleanName(name: string): string {
  return name
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
}
