/**
 * Turns the configured `path` into the files to read: the path itself when it names a file, otherwise the
 * files a glob matches, in sorted order (plain code-unit order, so runs are repeatable). Resolves to at
 * least one file or throws a SOURCE_FAILED error that names the path.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { SluiceError } from '../../../sdk/errors.ts';

export async function resolveFiles(path: string): Promise<string[]> {
  // A literal file wins even when its name contains glob characters (`report(1).csv`).
  const stats = await stat(path).catch(() => undefined);
  if (stats?.isFile()) return [path];
  if (stats?.isDirectory()) {
    throw new SluiceError('SOURCE_FAILED', `${path} is a directory; use a glob such as ${path.replace(/\/$/, '')}/*.csv`);
  }
  if (!isDynamicPattern(path)) throw new SluiceError('SOURCE_FAILED', `${path} does not exist`);
  // Absolute patterns must come back absolute: relative results would be relative to the cwd, not the pattern.
  const files = await glob(path, { onlyFiles: true, expandDirectories: false, absolute: isAbsolute(path) });
  if (files.length === 0) throw new SluiceError('SOURCE_FAILED', `no file matches ${path}`);
  return files.sort();
}

/** Every file must be readable: better to fail the check now than halfway through a run. */
export async function assertReadable(files: readonly string[]): Promise<void> {
  for (const file of files) {
    try {
      await access(file, constants.R_OK);
    } catch (error) {
      throw new SluiceError('SOURCE_FAILED', `${file} is not readable: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
    }
  }
}
