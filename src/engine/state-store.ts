/**
 * Where a run's state lives between runs. The CLI uses a JSON file written atomically (temp file, fsync,
 * rename), so a crash leaves either the old state or the new one, never half of either.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseJson, stringifyJson } from '../protocol/json.ts';
import type { State } from '../sdk/source.ts';
import { SluiceError } from '../sdk/errors.ts';

export interface StateStore {
  load(): Promise<State | undefined>;
  save(state: State): Promise<void>;
}

export class FileStateStore implements StateStore {
  constructor(readonly path: string) {}

  async load(): Promise<State | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (text.trim() === '') return undefined;
    try {
      return parseJson(text) as State;
    } catch (error) {
      throw new SluiceError('CONFIG_INVALID', `state file ${this.path} is not valid JSON: ${(error as Error).message}`);
    }
  }

  async save(state: State): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${process.pid}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(`${stringifyJson(state)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path);
  }
}

export class MemoryStateStore implements StateStore {
  constructor(public state: State | undefined = undefined) {}
  async load(): Promise<State | undefined> {
    return this.state;
  }
  async save(state: State): Promise<void> {
    this.state = state;
  }
}
