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

/** `opField`: the name of a field put first in each record that has an `op` (the diff sync modes). */
export function buildBody(records: readonly OutgoingRecord[], format: HttpConfig['format'], envelopeKey: string, opField?: string): string {
  switch (format) {
    case 'json_array':
      return `[${joinJson(records, ',', opField)}]`;
    case 'ndjson':
      // A trailing newline ends the last record, as NDJSON readers expect.
      return `${joinJson(records, '\n', opField)}\n`;
    case 'envelope':
      return `{${JSON.stringify(envelopeKey)}:[${joinJson(records, ',', opField)}]}`;
  }
}

/** `{"<field>":"<op>", …the record's members}`; a record's text may carry whitespace (a source's own line). */
function withOp(prefix: string, op: string, json: string): string {
  let at = json.indexOf('{') + 1;
  while (at < json.length && (json[at] === ' ' || json[at] === '\t' || json[at] === '\n' || json[at] === '\r')) at++;
  const empty = json[at] === '}';
  return `${prefix}"${op}"${empty ? '' : ','}${json.slice(json.indexOf('{') + 1)}`;
}

function joinJson(records: readonly OutgoingRecord[], separator: string, opField: string | undefined): string {
  const parts = new Array<string>(records.length);
  if (opField === undefined) {
    for (let i = 0; i < records.length; i++) parts[i] = (records[i] as OutgoingRecord).json;
  } else {
    // Spliced in after the record's opening brace: the record's own text is kept exactly.
    const prefix = `{${JSON.stringify(opField)}:`;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as OutgoingRecord;
      const { json, op } = record;
      parts[i] = op === undefined ? json : withOp(prefix, op, json);
    }
  }
  return parts.join(separator);
}
