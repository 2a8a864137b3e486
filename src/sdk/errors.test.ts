import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, SluiceError, classifyHttpStatus, describeError } from './errors.ts';

describe('error codes', () => {
  it('are each documented in docs/errors.md, and the doc lists no others', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('describe themselves as CODE: message, without a stack', () => {
    const error = new SluiceError('CONFIG_INVALID', 'sources.orders.path: required');
    expect(describeError(error)).toBe('CONFIG_INVALID: sources.orders.path: required');
    expect(error.retryClass).toBe('config');
  });
});

describe('classifyHttpStatus', () => {
  it.each([
    [200, 'ok'],
    [204, 'ok'],
    [408, 'transient'],
    [429, 'transient'],
    [500, 'transient'],
    [503, 'transient'],
    [501, 'record'],
    [400, 'record'],
    [404, 'record'],
    [422, 'record'],
    [401, 'auth'],
    [403, 'auth'],
  ])('%i → %s', (status, expected) => {
    expect(classifyHttpStatus(status)).toBe(expected);
  });
});
