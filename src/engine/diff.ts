/**
 * Change detection for one run of a diff-based sync mode. Each record read is keyed by its primary key
 * (taken from the source record, before mapping, so a record the mapping rejects still counts as present)
 * and fingerprinted by a hash of its mapped JSON — the text the pipeline serializes for sending anyway —
 * then classified against the snapshot of what was last delivered:
 *
 * | mode     | new key        | changed        | unchanged      | key gone from the source |
 * |----------|----------------|----------------|----------------|--------------------------|
 * | insert   | sent (create)  | —              | —              | —                        |
 * | update   | —              | sent (update)  | —              | —                        |
 * | upsert   | sent (create)  | sent (update)  | —              | —                        |
 * | mirror   | sent (create)  | sent (update)  | —              | sent (delete)            |
 * | all      | sent (create)  | sent (update)  | sent (update)  | —                        |
 *
 * A record not sent settles at once and counts as `unchanged`. A fingerprint advances only when its
 * record is delivered; a rejected or unsettled record keeps the old one, so the next run sends it again.
 * Per record this costs a key extraction, two string hashes and a binary search — no query, no Map.
 */
import { type JsonObject, type JsonValue, parseJson, stringifyJson } from '../protocol/json.ts';
import type { DestinationSyncMode } from '../sdk/destination.ts';
import { Bitset, Snapshot, SnapshotBuilder, hash64 } from './fingerprints.ts';
import { setField } from './mapping.ts';

export type DiffMode = 'insert' | 'update' | 'upsert' | 'mirror' | 'all';

const DIFF_MODES: ReadonlySet<DestinationSyncMode> = new Set(['insert', 'update', 'upsert', 'mirror', 'all']);

export function isDiffMode(mode: DestinationSyncMode): mode is DiffMode {
  return DIFF_MODES.has(mode);
}

/** A record's key as JSON text (one value, or an array of them for a composite key); undefined when a part is missing or null. */
export type KeyReader = (record: JsonObject) => string | undefined;

export function compileKeyReader(paths: readonly (readonly string[])[]): KeyReader {
  const getters = paths.map((path) => {
    if (path.length === 1) {
      const name = path[0]!;
      return (record: JsonObject): JsonValue | undefined => record[name];
    }
    return (record: JsonObject): JsonValue | undefined => {
      let value: unknown = record;
      for (const part of path) {
        if (value === null || typeof value !== 'object') return undefined;
        value = (value as Record<string, unknown>)[part];
      }
      return value as JsonValue | undefined;
    };
  });
  if (getters.length === 1) {
    const get = getters[0]!;
    return (record) => {
      const value = get(record);
      if (value === undefined || value === null) return undefined;
      // The common keys without the general path: a finite number's JSON is its String().
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value === 'string') return JSON.stringify(value);
      return stringifyJson(value);
    };
  }
  return (record) => {
    const values: JsonValue[] = [];
    for (const get of getters) {
      const value = get(record);
      if (value === undefined || value === null) return undefined;
      values.push(value);
    }
    return stringifyJson(values);
  };
}

/** What a sent record carries so that its delivery can advance its fingerprint. */
export interface Change {
  readonly keyHigh: number;
  readonly keyLow: number;
  readonly valueHigh: number;
  readonly valueLow: number;
  /** The key's JSON text. */
  readonly key: string;
  /** The entry in the old snapshot, or -1 for a new key. */
  readonly index: number;
  /** Identical to what was last delivered (sent anyway: mode `all`). */
  readonly same: boolean;
}

export class ChangeDetector {
  /** What this run delivered, merged into the next snapshot at the end. */
  readonly builder = new SnapshotBuilder();
  /** Mirror: the old entries whose key the source still has. */
  readonly seen: Bitset | undefined;
  /** Records read without a usable key (malformed, or key missing): mirror then sends no deletes. */
  unkeyed = 0;
  /** Hash output: [high, low]. */
  private readonly hash = new Uint32Array(2);
  private keyHigh = 0;
  private keyLow = 0;

  constructor(
    readonly mode: DiffMode,
    readonly old: Snapshot,
    readonly readKey: KeyReader,
    /** The key's field names after mapping: what a delete's data is made of (mirror). */
    private readonly keyFields: readonly string[] | undefined,
  ) {
    this.seen = mode === 'mirror' ? new Bitset(old.count) : undefined;
  }

  /** Looks a key up in the old snapshot (marking it seen); returns its entry or -1. */
  lookup(key: string): number {
    hash64(key, this.hash);
    this.keyHigh = this.hash[0]!;
    this.keyLow = this.hash[1]!;
    const index = this.old.find(this.keyHigh, this.keyLow);
    if (index >= 0) this.seen?.set(index);
    return index;
  }

  /**
   * The change to send for the record whose key was looked up last, or undefined when the mode does not
   * send it. `op` is read from the result: a new key is a create, anything else an update.
   */
  classify(key: string, index: number, json: string): Change | undefined {
    hash64(json, this.hash);
    const valueHigh = this.hash[0]!;
    const valueLow = this.hash[1]!;
    let same = false;
    if (index < 0) {
      if (this.mode === 'update') return undefined;
    } else if (this.old.sameValue(index, valueHigh, valueLow)) {
      if (this.mode !== 'all') return undefined;
      same = true;
    } else if (this.mode === 'insert') return undefined;
    return { keyHigh: this.keyHigh, keyLow: this.keyLow, valueHigh, valueLow, key, index, same };
  }

  /** The data of a delete for old entry `index`: the key fields, from the stored key text. */
  deleteData(index: number): JsonObject {
    const fields = this.keyFields ?? [];
    const value = parseJson(this.old.keyText(index));
    const data: JsonObject = {};
    if (fields.length === 1) setField(data, fields[0]!, value);
    else fields.forEach((field, position) => setField(data, field, (value as JsonValue[])[position] ?? null));
    return data;
  }

  /** A delete's fingerprint bookkeeping. */
  deleteChange(index: number): Change {
    return { keyHigh: 0, keyLow: 0, valueHigh: 0, valueLow: 0, key: '', index, same: false };
  }

  delivered(change: Change, deleted: boolean): void {
    if (deleted) this.builder.remove(change.index, this.old.count);
    else this.builder.add(change.keyHigh, change.keyLow, change.valueHigh, change.valueLow, change.key);
  }
}
