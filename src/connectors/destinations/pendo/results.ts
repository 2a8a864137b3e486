/**
 * A bulk update's result → one outcome per record. Pendo answers a completed call with counts and lists:
 * `{ total, updated, failed, missing: [ids], errors: [...] }`, where total = updated + failed and
 * failed = |missing| + |errors| (Pendo's API reference; see README.md).
 *
 * The rules, in order, for each record sent:
 * 1. its id is in `missing` → rejected: "no matching visitor <id>" (or account): Pendo has no such
 *    visitor and was not asked to create one;
 * 2. an entry of `errors` names its id — as a field of an error object (`visitorId`, `accountId`, `id`)
 *    or as a word or quoted string of an error message → rejected with that error's text;
 * 3. otherwise it is delivered — unless the call reported failures that rules 1–2 cannot pin on a record
 *    (an error naming no id of the batch, `failed` above what was pinned, or `updated` below the records
 *    left). Then Pendo says some of the remaining records failed without saying which, so every
 *    remaining record is rejected with the unattributed error text: a record that was in fact updated
 *    can be replayed from the reject ledger harmlessly (setting a value twice is idempotent), while
 *    calling a failed one delivered would lose it silently.
 */
import { type Outcome, delivered, rejected } from '../../../sdk/outcome.ts';
import type { PendoKind } from './client.ts';

export interface MetadataResult {
  readonly total?: number;
  readonly updated?: number;
  readonly failed?: number;
  readonly missing: readonly string[];
  readonly errors: readonly unknown[];
}

/** Pendo's result, or undefined when the body is not one (not JSON, or not an object). */
export function parseResult(text: string): MetadataResult | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const object = value as Record<string, unknown>;
  const count = (name: string) => (typeof object[name] === 'number' ? (object[name] as number) : undefined);
  const list = (name: string) => (Array.isArray(object[name]) ? (object[name] as unknown[]) : []);
  const total = count('total');
  const updated = count('updated');
  const failed = count('failed');
  return {
    ...(total === undefined ? {} : { total }),
    ...(updated === undefined ? {} : { updated }),
    ...(failed === undefined ? {} : { failed }),
    missing: list('missing').map(idText).filter((id): id is string => id !== undefined),
    errors: list('errors'),
  };
}

/** Longest error text quoted in one reason; Pendo's messages are short, a pathological one is cut. */
const MAX_ERROR_TEXT = 300;

/**
 * One outcome per record. `ids[i]` is the id record i was sent under, or undefined when it was not sent
 * (those get no outcome here: the caller rejects them before sending).
 */
export function outcomesForResult(ids: readonly (string | undefined)[], kind: PendoKind, result: MetadataResult): (Outcome | undefined)[] {
  const batchIds = new Set(ids.filter((id): id is string => id !== undefined));
  const missing = new Set(result.missing);
  const pinned = new Map<string, string[]>();
  const unattributed: string[] = [];
  for (const entry of result.errors) {
    const text = errorText(entry);
    const named = namedIds(entry, text, batchIds, kind);
    if (named.length === 0) unattributed.push(text);
    for (const id of named) pinned.set(id, [...(pinned.get(id) ?? []), text]);
  }

  const outcomes: (Outcome | undefined)[] = [];
  const remaining: number[] = [];
  let explained = 0;
  for (const [index, id] of ids.entries()) {
    if (id === undefined) outcomes.push(undefined);
    else if (missing.has(id)) {
      outcomes.push(rejected(`no matching ${kind} ${id}`));
      explained++;
    } else if (pinned.has(id)) {
      outcomes.push(rejected(`Pendo refused the values for ${kind} ${id}: ${pinned.get(id)!.join('; ')}`));
      explained++;
    } else {
      outcomes.push(delivered());
      remaining.push(index);
    }
  }

  const remainingIds = new Set(remaining.map((index) => ids[index]));
  const unexplained = Math.max(
    unattributed.length,
    result.failed === undefined ? 0 : result.failed - explained,
    result.updated === undefined ? 0 : remainingIds.size - result.updated,
  );
  if (unexplained > 0 && remaining.length > 0) {
    const detail = unattributed.length > 0 ? unattributed.join('; ') : 'no error text given';
    const reason = `Pendo reported ${unexplained} failed ${kind}${unexplained === 1 ? '' : 's'} in this call without naming ${unexplained === 1 ? 'it' : 'them'} (this one may have been updated; replaying it is harmless): ${detail}`;
    for (const index of remaining) outcomes[index] = rejected(reason);
  }
  return outcomes;
}

/** The readable text of an `errors` entry: a string as it is, an object's message, else its JSON. */
function errorText(entry: unknown): string {
  let text: string;
  if (typeof entry === 'string') text = entry;
  else if (entry !== null && typeof entry === 'object') {
    const object = entry as Record<string, unknown>;
    const message = ['message', 'error', 'reason', 'detail', 'msg'].map((key) => object[key]).find((value) => typeof value === 'string');
    text = typeof message === 'string' ? message : JSON.stringify(entry);
  } else text = String(entry);
  const flat = text.replace(/\s+/g, ' ').trim() || 'an error without text';
  return flat.length > MAX_ERROR_TEXT ? `${flat.slice(0, MAX_ERROR_TEXT)}…` : flat;
}

/** The ids of this batch an error names: an id field of an error object first, else the words of its text. */
function namedIds(entry: unknown, text: string, batchIds: ReadonlySet<string>, kind: PendoKind): string[] {
  if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) {
    const object = entry as Record<string, unknown>;
    for (const key of [`${kind}Id`, 'visitorId', 'accountId', 'id']) {
      const id = idText(object[key]);
      if (id !== undefined && batchIds.has(id)) return [id];
    }
  }
  const raw = typeof entry === 'string' ? entry : text;
  const found = new Set<string>();
  // Quoted strings first (ids may hold spaces), then words split on spaces and punctuation, so "v1" is
  // not found inside "v10" and an id is matched only where the message names it whole.
  for (const match of raw.matchAll(/"([^"]+)"|'([^']+)'|`([^`]+)`/g)) {
    const quoted = match[1] ?? match[2] ?? match[3];
    if (quoted !== undefined && batchIds.has(quoted)) found.add(quoted);
  }
  for (const word of raw.split(/[\s,;()[\]{}"'`<>]+/)) {
    const trimmed = word.replace(/[.:!?]+$/, '');
    // `v7`, `v7:` (a label) and `visitorId=v7` all name v7.
    for (const candidate of [word, trimmed, trimmed.replace(/^[^:=]*[:=]/, '')]) {
      if (candidate !== '' && batchIds.has(candidate)) found.add(candidate);
    }
  }
  return [...found];
}

function idText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}
