/**
 * Read-back helpers for `inspect` hooks: what a destination delivered, parsed from a JSON Lines file (a
 * missing file is nothing delivered yet; a torn last line, left by a kill mid-write, is ignored).
 */
import { readFile } from 'node:fs/promises';
import type { JsonObject } from '../protocol/json.ts';

export async function readJsonLines(path: string): Promise<JsonObject[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records: JsonObject[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as JsonObject);
    } catch {
      // a partial line: the writer was killed in the middle of it
    }
  }
  return records;
}
