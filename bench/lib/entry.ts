/**
 * `isMain(import.meta.url)`: whether a module is the script node was started with, so bench files can be
 * both imported (by the harness, tests, examples) and run on their own.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
