/**
 * Request bodies for a batch. Each record arrives already serialized exactly once (`OutgoingRecord.json`), so a
 * body is those strings joined — never parsed or stringified again, which keeps long numbers exact and the
 * hot path to one join per batch.
 */
import type { OutgoingRecord } from '../../../sdk/destination.ts';
import type { HttpConfig } from './spec.ts';

/** The content type each format announces; a user's own Content-Type header takes precedence. */
export const CONTENT_TYPES: Readonly<Record<HttpConfig['format'], string>> = {
  json_array: 'application/json',
  envelope: 'application/json',
  ndjson: 'application/x-ndjson',
};

export function buildBody(records: readonly OutgoingRecord[], format: HttpConfig['format'], envelopeKey: string): string {
  switch (format) {
    case 'json_array':
      return `[${joinJson(records, ',')}]`;
    case 'ndjson':
      // A trailing newline ends the last record, as NDJSON readers expect.
      return `${joinJson(records, '\n')}\n`;
    case 'envelope':
      return `{${JSON.stringify(envelopeKey)}:[${joinJson(records, ',')}]}`;
  }
}

function joinJson(records: readonly OutgoingRecord[], separator: string): string {
  const parts = new Array<string>(records.length);
  for (let i = 0; i < records.length; i++) parts[i] = (records[i] as OutgoingRecord).json;
  return parts.join(separator);
}
