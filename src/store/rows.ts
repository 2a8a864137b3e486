/**
 * Small conversions shared by the store's queries: timestamps out as ISO strings (both drivers return
 * Date objects), exact JSON in and out (records and states may hold integers beyond 2^53, so they are
 * sent and read as JSON text, never through the drivers' lossy JSON.parse), and opaque page cursors.
 */
import { parseJson, stringifyJson, type JsonValue } from '../protocol/json.ts';

export function iso(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

/** A value as JSON text for a `$n::jsonb` parameter. */
export function jsonParam(value: unknown): string | null {
  return value === undefined || value === null ? null : stringifyJson(value as JsonValue);
}

/** A `column::text` result parsed exactly. */
export function fromJsonText<T = JsonValue>(text: unknown): T | null {
  return typeof text === 'string' ? (parseJson(text) as T) : null;
}

/** Keyset pagination: the cursor is the last row's (created_at, id), base64url-encoded. */
export function encodeCursor(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): (string | number)[] | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts) && parts.every((part) => typeof part === 'string' || typeof part === 'number')) return parts;
  } catch {
    // fall through to the uniform error below
  }
  throw new InvalidCursorError();
}

export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor: pass back the next_cursor of an earlier page unchanged');
  }
}
