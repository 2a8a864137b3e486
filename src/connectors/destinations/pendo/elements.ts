/**
 * Records → Pendo bulk-update elements. A record is flat: the id field (`visitorId` for the visitor object,
 * `accountId` for account) names who, and every other field is a metadata value to set, by its Pendo field
 * name. So `{ visitorId: "v1", plan: "pro", seats: 12 }` becomes `{"visitorId":"v1","values":{"plan":"pro","seats":12}}`.
 *
 * Flat, because rows from files and warehouses are flat and an activation's mapping then reads like
 * Pendo's own field list (`plan: plan_name`); the `values` wrapper is Pendo's envelope, not the user's.
 * Values are serialized with `stringifyJson`, so long integers and decimals keep every digit.
 */
import { z } from 'zod';
import { type JsonObject, type JsonValue, stringifyJson } from '../../../protocol/json.ts';
import type { OutgoingRecord } from '../../../sdk/destination.ts';
import type { PendoKind } from './client.ts';

export const ID_FIELDS: Readonly<Record<PendoKind, 'visitorId' | 'accountId'>> = { visitor: 'visitorId', account: 'accountId' };

/** Pendo ids are strings; integers (as warehouses keep them) are sent as their decimal text. */
const idSchema = z.union([z.string().trim().min(1, 'must not be empty'), z.int(), z.bigint()], {
  error: 'must be a string (or an integer, sent as its text)',
});

/** What a mapped record must look like for `kind`: the engine rejects records that fail, naming the field. */
export function recordFields(kind: PendoKind): z.ZodType {
  const idField = ID_FIELDS[kind];
  return z.looseObject({ [idField]: idSchema }).superRefine((record, ctx) => {
    const names = Object.keys(record).filter((name) => name !== idField);
    if (names.length === 0) ctx.addIssue({ code: 'custom', message: `no values to set: every field other than ${idField} is a Pendo metadata value` });
    for (const name of names) {
      if (isPlainObject(record[name])) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'an object cannot be a Pendo metadata value (text, number, boolean or date); map each field on its own' });
      }
    }
  });
}

/** The id Pendo knows a record by, or undefined when it has none that Pendo could take. */
export function idOf(data: JsonObject, kind: PendoKind): string | undefined {
  const value = data[ID_FIELDS[kind]];
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))) return String(value);
  return undefined;
}

/** One record as a Pendo element, serialized. */
export function elementJson(data: JsonObject, id: string, kind: PendoKind): string {
  const idField = ID_FIELDS[kind];
  const values: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(data)) if (name !== idField) values[name] = value;
  return `{${JSON.stringify(idField)}:${JSON.stringify(id)},"values":${stringifyJson(values)}}`;
}

export interface Elements {
  /** The request body: a JSON array of the records that can be sent. */
  readonly body: string;
  /** The id of each record, in order; undefined for a record that was not sent (it has no usable id). */
  readonly ids: readonly (string | undefined)[];
  readonly sent: number;
}

export function buildElements(records: readonly OutgoingRecord[], kind: PendoKind): Elements {
  const ids: (string | undefined)[] = [];
  const parts: string[] = [];
  for (const record of records) {
    const id = idOf(record.data, kind);
    ids.push(id);
    if (id !== undefined) parts.push(elementJson(record.data, id, kind));
  }
  return { body: `[${parts.join(',')}]`, ids, sent: parts.length };
}

function isPlainObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}
