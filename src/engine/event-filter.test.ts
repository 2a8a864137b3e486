/**
 * The event filter: types and names, and the `where` language — paths, comparisons without conversions,
 * in / not in / exists, and / or / not with precedence and parentheses — with syntax errors that name the
 * position, and no way to run code.
 */
import { describe, expect, it } from 'vitest';
import { FilterSyntaxError, compileEventFilter, compileWhere } from './event-filter.ts';

const event = {
  type: 'track',
  event: 'Order Completed',
  userId: 'u1',
  properties: { plan: 'pro', total: 42, items: [{ sku: 'a-1' }], empty: null, flag: false },
  context: { locale: 'fr-FR' },
};

describe('where', () => {
  it.each([
    ['properties.plan == "pro"', true],
    ["properties.plan == 'pro'", true],
    ['properties.plan != "pro"', false],
    ['properties.total == 42', true],
    ['properties.total == "42"', false],
    ['properties.total >= 42 and properties.total < 50', true],
    ['properties.total > "4"', false],
    ['properties.items[0].sku == "a-1"', true],
    ['context.locale in ["fr-FR", "fr-BE"]', true],
    ['context.locale not in ["fr-FR"]', false],
    ['properties.missing == null', true],
    ['properties.empty exists', false],
    ['properties.flag exists and properties.flag == false', true],
    ['traits.vip exists or properties.plan == "pro"', true],
    ['not properties.plan == "free"', true],
    ['properties.plan == "free" or properties.total > 10 and userId == "u1"', true],
    ['(properties.plan == "free" or properties.total > 10) and userId == "u2"', false],
    ['constructor.name == "Object"', false],
    ['__proto__ exists', false],
  ])('%s → %s', (text, expected) => {
    expect(compileWhere(text)(event)).toBe(expected);
  });

  it.each([
    ['properties.plan = "pro"', '"=" at 17: compare with =='],
    ['properties.plan ==', 'expected a value'],
    ['properties.plan == "pro" and', 'expected a field path'],
    ['(userId == "u1"', 'expected ")"'],
    ['userId in "u1"', 'expected "[" to start a list'],
    ['userId == "u1" userId', 'expected "and", "or" or the end'],
    ['userId == "u1', 'unterminated string'],
    ['process.exit()', 'expected ==, !=, <, <=, >, >=, in, not in or exists'],
  ])('refuses %s', (text, message) => {
    expect(() => compileWhere(text)).toThrow(FilterSyntaxError);
    expect(() => compileWhere(text)).toThrow(message);
  });
});

describe('compileEventFilter', () => {
  it('combines types, names (track events, pages and screens) and where', () => {
    const filter = compileEventFilter({ types: ['track', 'page'], events: ['Order Completed', 'Pricing'], where: 'userId exists' });
    expect(filter(event)).toBe(true);
    expect(filter({ ...event, event: 'Other' })).toBe(false);
    expect(filter({ type: 'page', name: 'Pricing', userId: 'u' })).toBe(true);
    expect(filter({ type: 'identify', userId: 'u' })).toBe(false);
    expect(filter({ ...event, userId: undefined })).toBe(false);
    expect(compileEventFilter(undefined)({})).toBe(true);
  });
});
