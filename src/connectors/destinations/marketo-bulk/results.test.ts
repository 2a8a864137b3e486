/**
 * Matching Marketo's failures and warnings files back to uploaded rows (results.ts), on files written by
 * hand: quoting, a reason column that is not last, lookup values Marketo changed in case or spacing,
 * repeated lookup values, identical rows, rows that match nothing, and a failure count higher than the
 * file lists.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_REPORT, FAILURE_COLUMN, WARNING_COLUMN, matchReports, outcomesFor, parseReport, readHeader } from './results.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'marketo-results-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function upload(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('parseReport', () => {
  it('reads the rows and the reason column, quoted values included', () => {
    const report = parseReport('email,company,Import Failure Reason\n"a@x.com","Acme, Inc.","Invalid data type in field ""Score"""\n', 'email', FAILURE_COLUMN);
    expect(report.rows).toEqual([{ values: new Map([['email', 'a@x.com'], ['company', 'Acme, Inc.']]), lookup: 'a@x.com', reason: 'Invalid data type in field "Score"' }]);
  });

  it('takes the last column as the reason when it is not named as expected, and reads an empty file as no rows', () => {
    expect(parseReport('Email,Reason\nb@x.com,Bad\n', 'email', WARNING_COLUMN).rows[0]).toMatchObject({ lookup: 'b@x.com', reason: 'Bad' });
    expect(parseReport('', 'email', FAILURE_COLUMN)).toEqual(EMPTY_REPORT);
  });
});

describe('matchReports and outcomesFor', () => {
  it('pins failures and warnings to their rows by lookup value, forgiving case and spaces', async () => {
    const path = await upload('simple.csv', 'email,firstName\na@x.com,A\nB@X.com,B\nc@x.com,C\nd@x.com,D\n');
    const failures = parseReport('email,firstName,Import Failure Reason\nb@x.com ,B,Nope\n', 'email', FAILURE_COLUMN);
    const warnings = parseReport('email,firstName,Import Warning Reason\nd@x.com,D,Hmm\n', 'email', WARNING_COLUMN);
    const matches = await matchReports(path, 'email', failures, warnings, 4);
    expect([...matches.failed]).toEqual([[1, 'Nope']]);
    expect([...matches.warned]).toEqual([[3, 'Hmm']]);
    const outcomes = outcomesFor(4, matches, { numOfRowsFailed: 1 }, failures);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['delivered', 'rejected', 'delivered', 'delivered']);
    expect(outcomes[1]).toEqual({ status: 'rejected', reason: 'Marketo did not import this row: Nope' });
  });

  it('tells rows with the same lookup value apart by their other columns, and claims identical rows one each', async () => {
    const path = await upload('repeats.csv', 'email,score\nr@x.com,1\nr@x.com,bad\nr@x.com,bad\nr@x.com,4\n');
    const failures = parseReport('email,score,Import Failure Reason\nr@x.com,bad,Wrong type\nr@x.com,bad,Wrong type\n', 'email', FAILURE_COLUMN);
    const matches = await matchReports(path, 'email', failures, EMPTY_REPORT, 4);
    expect([...matches.failed.keys()].sort()).toEqual([1, 2]);
  });

  it('matches by header name, whatever the column order of the report', async () => {
    const path = await upload('order.csv', 'email,city\ns@x.com,Oslo\ns@x.com,Rome\n');
    const failures = parseReport('Import Failure Reason,city,email\nNo Rome,Rome,s@x.com\n', 'email', FAILURE_COLUMN);
    const matches = await matchReports(path, 'email', failures, EMPTY_REPORT, 2);
    expect([...matches.failed]).toEqual([[1, 'No Rome']]);
  });

  it('rejects the rows it cannot vouch for when a failure matches no row, naming the reason', async () => {
    const path = await upload('unmatched.csv', 'email\nu@x.com\nv@x.com\nw@x.com\n');
    const failures = parseReport('email,Import Failure Reason\nsomeone-else@x.com,Rewritten\nv@x.com,Nope\n', 'email', FAILURE_COLUMN);
    const warnings = parseReport('email,Import Warning Reason\nw@x.com,Careful\n', 'email', WARNING_COLUMN);
    const matches = await matchReports(path, 'email', failures, warnings, 3);
    expect(matches.unmatchedFailures).toEqual(['Rewritten']);
    const outcomes = outcomesFor(3, matches, { numOfRowsFailed: 2 }, failures);
    expect(outcomes[0]).toEqual({
      status: 'rejected',
      reason: 'Marketo reported 1 failed row that cannot be matched to rows of this file (such as: Rewritten), so this row may not have been imported; replay it to send it again',
    });
    expect(outcomes[1]).toEqual({ status: 'rejected', reason: 'Marketo did not import this row: Nope' });
    // A warned row was imported: Marketo said so.
    expect(outcomes[2]).toEqual({ status: 'delivered' });
  });

  it('counts failures Marketo reports but does not list as unmatched too', async () => {
    const path = await upload('count.csv', 'email\na@x.com\nb@x.com\n');
    const matches = await matchReports(path, 'email', EMPTY_REPORT, EMPTY_REPORT, 2);
    const outcomes = outcomesFor(2, matches, { numOfRowsFailed: 1 }, EMPTY_REPORT);
    expect(outcomes.every((outcome) => outcome.status === 'rejected' && outcome.reason.startsWith('Marketo reported 1 failed row that'))).toBe(true);
  });

  it('gives every row an outcome, and reads nothing when there is nothing to match', async () => {
    const matches = await matchReports('/nonexistent/never-read.csv', 'email', EMPTY_REPORT, EMPTY_REPORT, 3);
    expect(outcomesFor(3, matches, { numOfRowsFailed: 0 }, EMPTY_REPORT)).toEqual([{ status: 'delivered' }, { status: 'delivered' }, { status: 'delivered' }]);
  });

  it('reads the header of an uploaded file', async () => {
    expect(await readHeader(await upload('header.csv', '\ufeffemail,"first Name"\na,b\n'))).toEqual(['email', 'first Name']);
  });
});
