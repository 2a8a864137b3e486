/**
 * From an import's failures and warnings files to one outcome per uploaded row.
 *
 * Marketo's files repeat the failed (or warned) rows — the uploaded columns, plus a reason column appended
 * ("Import Failure Reason" / "Import Warning Reason") — but carry no row number. So each listed row is
 * matched back to the uploaded file by its lookup field value (exactly, else trimmed and case-folded), and,
 * when several uploaded rows share that value, by how many columns agree (the first of equally good
 * candidates wins; each uploaded row is claimed once per file). Only rows whose lookup value appears in a
 * report are kept while the upload is read, so memory follows the number of failures, not the file.
 *
 * Failed rows are rejected with Marketo's reason; warned rows were imported and stay delivered. If Marketo
 * reports failures that cannot be matched (a value it rewrote, a count higher than the file lists), the
 * rows not known to have failed or warned cannot be called delivered either: they are rejected with a
 * reason that says so, so they land in the reject ledger rather than being lost silently.
 */
import { createReadStream } from 'node:fs';
import { parse as parseStream } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { type Outcome, delivered, rejected } from '../../../sdk/outcome.ts';

export const FAILURE_COLUMN = 'Import Failure Reason';
export const WARNING_COLUMN = 'Import Warning Reason';

export interface ReportRow {
  /** Lower-cased column name → value, for the uploaded columns (the reason column left out). */
  readonly values: ReadonlyMap<string, string>;
  readonly lookup: string;
  readonly reason: string;
}

/** A failures or warnings file, parsed. */
export interface ImportReport {
  readonly rows: readonly ReportRow[];
}

export const EMPTY_REPORT: ImportReport = { rows: [] };

/** Parse a failures/warnings CSV. The reason is the named column, or else the last one (Marketo appends it). */
export function parseReport(csv: string, lookupField: string, reasonColumn: string): ImportReport {
  const records = parseSync(csv, { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  const [header, ...data] = records;
  if (header === undefined) return EMPTY_REPORT;
  const names = header.map((name) => name.trim().toLowerCase());
  const named = names.indexOf(reasonColumn.toLowerCase());
  const reasonAt = named >= 0 ? named : names.length - 1;
  const lookupAt = names.indexOf(lookupField.toLowerCase());
  const rows = data.map((record) => {
    const values = new Map<string, string>();
    names.forEach((name, index) => {
      if (index !== reasonAt) values.set(name, record[index] ?? '');
    });
    return { values, lookup: lookupAt >= 0 ? (record[lookupAt] ?? '') : '', reason: (record[reasonAt] ?? '').trim() };
  });
  return { rows };
}

/** The columns of an uploaded CSV: its first record. */
export async function readHeader(path: string): Promise<string[]> {
  const parser = createReadStream(path).pipe(parseStream({ bom: true, relax_column_count: true, to_line: 1 }));
  for await (const record of parser as AsyncIterable<string[]>) return record;
  return [];
}

export interface RowMatches {
  /** Row index (0-based, data rows) → reason. */
  readonly failed: ReadonlyMap<number, string>;
  readonly warned: ReadonlyMap<number, string>;
  /** Reasons of failure rows that matched no uploaded row. */
  readonly unmatchedFailures: readonly string[];
  readonly unmatchedWarnings: number;
}

interface Candidate {
  readonly index: number;
  readonly values: readonly string[];
}

function keyOf(value: string): string {
  return value.trim().toLowerCase();
}

/**
 * Read the uploaded CSV (header first) and pin each report row to the uploaded row it repeats.
 * `rows` caps the indexes considered (the file's row count).
 */
export async function matchReports(path: string, lookupField: string, failures: ImportReport, warnings: ImportReport, rows: number): Promise<RowMatches> {
  const wanted = new Set([...failures.rows, ...warnings.rows].map((row) => keyOf(row.lookup)));
  const candidates = new Map<string, Candidate[]>();
  let header: string[] | undefined;
  let lookupAt = -1;
  let index = 0;
  if (wanted.size > 0) {
    const parser = createReadStream(path).pipe(parseStream({ bom: true, relax_column_count: true }));
    for await (const record of parser as AsyncIterable<string[]>) {
      if (header === undefined) {
        header = record.map((name) => name.trim().toLowerCase());
        lookupAt = header.indexOf(lookupField.toLowerCase());
        continue;
      }
      if (index >= rows) break;
      const key = keyOf(lookupAt >= 0 ? (record[lookupAt] ?? '') : '');
      if (wanted.has(key)) {
        const list = candidates.get(key) ?? [];
        list.push({ index, values: record });
        candidates.set(key, list);
      }
      index++;
    }
  }
  const columns = header ?? [];
  const pin = (report: ImportReport) => {
    const claimed = new Set<number>();
    const pinned = new Map<number, string>();
    const unmatched: string[] = [];
    for (const row of report.rows) {
      const best = bestCandidate(candidates.get(keyOf(row.lookup)) ?? [], claimed, columns, lookupAt, row);
      if (best === undefined) {
        unmatched.push(row.reason);
        continue;
      }
      claimed.add(best);
      pinned.set(best, row.reason);
    }
    return { pinned, unmatched };
  };
  const failed = pin(failures);
  const warned = pin(warnings);
  return { failed: failed.pinned, warned: warned.pinned, unmatchedFailures: failed.unmatched, unmatchedWarnings: warned.unmatched.length };
}

/** The unclaimed candidate agreeing with the report row on the most columns (an exact lookup value counts double). */
function bestCandidate(list: readonly Candidate[], claimed: ReadonlySet<number>, columns: readonly string[], lookupAt: number, row: ReportRow): number | undefined {
  let best: number | undefined;
  let bestScore = -1;
  for (const candidate of list) {
    if (claimed.has(candidate.index)) continue;
    let score = 0;
    columns.forEach((name, at) => {
      const reported = row.values.get(name);
      if (reported !== undefined && reported === (candidate.values[at] ?? '')) score++;
    });
    if (lookupAt >= 0 && candidate.values[lookupAt] === row.lookup) score++;
    if (score > bestScore) {
      best = candidate.index;
      bestScore = score;
    }
  }
  return best;
}

export interface ImportCounts {
  readonly numOfRowsFailed?: number | undefined;
}

/** One outcome per uploaded row, in order. */
export function outcomesFor(rows: number, matches: RowMatches, counts: ImportCounts, failures: ImportReport): Outcome[] {
  const outcomes: Outcome[] = new Array<Outcome>(rows).fill(delivered());
  for (const [index, reason] of matches.failed) {
    if (index < rows) outcomes[index] = rejected(`Marketo did not import this row: ${reason || 'no reason given'}`);
  }
  const unlisted = Math.max(0, (counts.numOfRowsFailed ?? 0) - failures.rows.length);
  const unknown = matches.unmatchedFailures.length + unlisted;
  if (unknown > 0) {
    const example = matches.unmatchedFailures[0];
    const why =
      `Marketo reported ${unknown} failed row${unknown === 1 ? '' : 's'} that cannot be matched to rows of this file` +
      `${example === undefined ? '' : ` (such as: ${example || 'no reason given'})`}, so this row may not have been imported; replay it to send it again`;
    for (let index = 0; index < rows; index++) {
      if (outcomes[index]?.status === 'delivered' && !matches.warned.has(index)) outcomes[index] = rejected(why);
    }
  }
  return outcomes;
}
