/**
 * Pendo's bulk-update results → per-record outcomes (results.ts), for every shape of answer: clean,
 * missing ids, errors naming an id (as text or as an object), errors naming none, and counts that do
 * not add up.
 */
import { describe, expect, it } from 'vitest';
import { outcomesForResult, parseResult } from './results.ts';
import type { MetadataResult } from './results.ts';

const result = (value: Partial<MetadataResult>): MetadataResult => ({ missing: [], errors: [], ...value });
const statuses = (outcomes: ReturnType<typeof outcomesForResult>) => outcomes.map((outcome) => outcome?.status);
const reasonOf = (outcome: ReturnType<typeof outcomesForResult>[number]) => (outcome?.status === 'rejected' ? outcome.reason : '');

describe('pendo results: parse', () => {
  it('reads counts and lists, coercing numeric ids to text', () => {
    expect(parseResult('{"total":3,"updated":1,"failed":2,"missing":["v2",7],"errors":["boom"]}')).toEqual({
      total: 3,
      updated: 1,
      failed: 2,
      missing: ['v2', '7'],
      errors: ['boom'],
    });
  });

  it('takes an object without counts as an empty result, and refuses what is not an object', () => {
    expect(parseResult('{}')).toEqual({ missing: [], errors: [] });
    expect(parseResult('[1,2]')).toBeUndefined();
    expect(parseResult('OK')).toBeUndefined();
    expect(parseResult('')).toBeUndefined();
  });
});

describe('pendo results: outcomes', () => {
  it('delivers every record of a clean result', () => {
    const outcomes = outcomesForResult(['v1', 'v2'], 'visitor', result({ total: 2, updated: 2, failed: 0 }));
    expect(outcomes).toEqual([{ status: 'delivered' }, { status: 'delivered' }]);
  });

  it('maps a mixed result: missing ids and errors that name an id are rejected, the rest delivered', () => {
    const outcomes = outcomesForResult(
      ['v1', 'v2', 'v3', 'v4'],
      'visitor',
      result({ total: 4, updated: 2, failed: 2, missing: ['v2'], errors: ['visitor v3: field "plan" is not a custom visitor field'] }),
    );
    expect(statuses(outcomes)).toEqual(['delivered', 'rejected', 'rejected', 'delivered']);
    expect(reasonOf(outcomes[1])).toBe('no matching visitor v2');
    expect(reasonOf(outcomes[2])).toBe('Pendo refused the values for visitor v3: visitor v3: field "plan" is not a custom visitor field');
  });

  it('names accounts for the account object', () => {
    const outcomes = outcomesForResult(['a1', 'a2'], 'account', result({ total: 2, updated: 1, failed: 1, missing: ['a2'] }));
    expect(outcomes).toEqual([{ status: 'delivered' }, { status: 'rejected', reason: 'no matching account a2' }]);
  });

  it('attributes error objects by their id field and takes their message', () => {
    const outcomes = outcomesForResult(
      ['v1', 'v2'],
      'visitor',
      result({ total: 2, updated: 1, failed: 1, errors: [{ visitorId: 'v2', message: 'value for field "seats" must be a number' }] }),
    );
    expect(outcomes[0]).toEqual({ status: 'delivered' });
    expect(reasonOf(outcomes[1])).toBe('Pendo refused the values for visitor v2: value for field "seats" must be a number');
  });

  it('matches whole ids only: an error about v10 is not about v1', () => {
    const outcomes = outcomesForResult(['v1', 'v10', 'user 7'], 'visitor', result({ total: 3, updated: 1, failed: 2, errors: ['visitorId=v10: bad value', 'cannot set "user 7".'] }));
    expect(statuses(outcomes)).toEqual(['delivered', 'rejected', 'rejected']);
  });

  it('rejects every record with the error text when an error names no record, since Pendo does not say which failed', () => {
    const outcomes = outcomesForResult(
      ['v1', 'v2', 'v3'],
      'visitor',
      result({ total: 3, updated: 1, failed: 2, missing: ['v2'], errors: ['field "plan" is not a custom visitor field'] }),
    );
    expect(reasonOf(outcomes[1])).toBe('no matching visitor v2');
    for (const outcome of [outcomes[0], outcomes[2]]) {
      expect(outcome?.status).toBe('rejected');
      expect(reasonOf(outcome)).toContain('Pendo reported 1 failed visitor in this call without naming it');
      expect(reasonOf(outcome)).toContain('field "plan" is not a custom visitor field');
    }
  });

  it('rejects the unnamed rest when `failed` counts more than missing and errors explain', () => {
    const outcomes = outcomesForResult(['v1', 'v2'], 'visitor', result({ total: 2, updated: 1, failed: 1 }));
    expect(statuses(outcomes)).toEqual(['rejected', 'rejected']);
    expect(reasonOf(outcomes[0])).toContain('no error text given');
  });

  it('rejects the unnamed rest when `updated` is below the records left', () => {
    const outcomes = outcomesForResult(['v1', 'v2'], 'visitor', result({ total: 2, updated: 0 }));
    expect(statuses(outcomes)).toEqual(['rejected', 'rejected']);
  });

  it('counts a visitor sent twice in one call once against `updated`', () => {
    const outcomes = outcomesForResult(['v1', 'v1', 'v2'], 'visitor', result({ total: 3, updated: 2, failed: 0 }));
    expect(statuses(outcomes)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('leaves records that were not sent without an outcome, for the caller to reject', () => {
    const outcomes = outcomesForResult(['v1', undefined, 'v2'], 'visitor', result({ total: 2, updated: 1, failed: 1, missing: ['v2'] }));
    expect(outcomes).toEqual([{ status: 'delivered' }, undefined, { status: 'rejected', reason: 'no matching visitor v2' }]);
  });

  it('cuts a pathological error text', () => {
    const outcomes = outcomesForResult(['v1'], 'visitor', result({ failed: 1, errors: [`v1 ${'x'.repeat(5000)}`] }));
    expect(reasonOf(outcomes[0]).length).toBeLessThan(400);
  });
});
