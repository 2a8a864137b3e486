import { describe, expect, it } from 'vitest';
import { compileMapping, mappingSchema } from './mapping.ts';

describe('compileMapping', () => {
  it('maps paths, constants, templates and builds nested targets', () => {
    const map = compileMapping(
      mappingSchema.parse({
        email: 'customer.email',
        first_sku: { path: 'items[0].sku' },
        channel: { const: 'web' },
        name: { template: '{{ first }} {{last}}' },
        'traits.plan': 'plan',
      }),
    );
    const out = map({ customer: { email: 'a@b.c' }, items: [{ sku: 'X1' }], first: 'Ada', last: 'Lovelace', plan: 'pro' });
    expect(out).toEqual({ email: 'a@b.c', first_sku: 'X1', channel: 'web', name: 'Ada Lovelace', traits: { plan: 'pro' } });
  });

  it('leaves out fields whose source path is missing', () => {
    const map = compileMapping({ email: 'customer.email', id: 'id' });
    expect(map({ id: 7 })).toEqual({ id: 7 });
  });

  it('passes records through when there is no mapping', () => {
    const record = { a: 1 };
    expect(compileMapping(undefined)(record)).toBe(record);
  });

  it('rejects malformed mapping entries', () => {
    expect(mappingSchema.safeParse({ a: { nope: 1 } }).success).toBe(false);
  });
});
