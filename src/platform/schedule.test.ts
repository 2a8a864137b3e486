import { describe, expect, it } from 'vitest';
import { type Schedule, parseSchedule } from './schedule.ts';

function parsed(text: string): Schedule {
  const result = parseSchedule(text);
  if (!result.ok) throw new Error(result.message);
  return result.schedule;
}

const next = (text: string, from: string) => parsed(text).nextAfter(new Date(from))?.toISOString();

describe('parseSchedule', () => {
  it('reads 5-field cron in UTC', () => {
    expect(next('*/15 * * * *', '2024-03-10T12:34:56Z')).toBe('2024-03-10T12:45:00.000Z');
    expect(next('30 2 * * MON', '2024-03-10T12:00:00Z')).toBe('2024-03-11T02:30:00.000Z');
    expect(parsed('  0 0 * * *  ').text).toBe('0 0 * * *');
    expect(parsed('0 0 * * *').timezone).toBe('UTC');
  });

  it('reads 6-field cron with seconds first', () => {
    expect(next('*/10 * * * * *', '2024-03-10T12:34:56Z')).toBe('2024-03-10T12:35:00.000Z');
    expect(next('30 0 9 * * *', '2024-03-10T12:00:00Z')).toBe('2024-03-11T09:00:30.000Z');
  });

  it('returns a time strictly after the given one', () => {
    expect(next('@hourly', '2024-03-10T13:00:00Z')).toBe('2024-03-10T14:00:00.000Z');
    expect(next('@hourly', '2024-03-10T12:59:59.500Z')).toBe('2024-03-10T13:00:00.000Z');
  });

  it('knows every preset', () => {
    const from = '2024-03-10T12:34:56Z';
    expect(next('@yearly', from)).toBe('2025-01-01T00:00:00.000Z');
    expect(next('@annually', from)).toBe('2025-01-01T00:00:00.000Z');
    expect(next('@monthly', from)).toBe('2024-04-01T00:00:00.000Z');
    expect(next('@weekly', from)).toBe('2024-03-17T00:00:00.000Z'); // Sunday
    expect(next('@daily', from)).toBe('2024-03-11T00:00:00.000Z');
    expect(next('@midnight', from)).toBe('2024-03-11T00:00:00.000Z');
    expect(next('@hourly', from)).toBe('2024-03-10T13:00:00.000Z');
  });

  it('reads the fields in the zone of a TZ= prefix, across DST', () => {
    const schedule = parsed('TZ=America/New_York 0 9 * * *');
    expect(schedule.timezone).toBe('America/New_York');
    // 9:00 EST is 14:00 UTC; after the 10 March 2024 change, 9:00 EDT is 13:00 UTC.
    expect(schedule.nextAfter(new Date('2024-03-09T12:00:00Z'))?.toISOString()).toBe('2024-03-09T14:00:00.000Z');
    expect(schedule.nextAfter(new Date('2024-03-10T12:00:00Z'))?.toISOString()).toBe('2024-03-10T13:00:00.000Z');
    expect(next('TZ=Europe/Paris @daily', '2024-07-01T12:00:00Z')).toBe('2024-07-01T22:00:00.000Z');
  });

  it('explains what is wrong', () => {
    const message = (text: string) => {
      const result = parseSchedule(text);
      expect(result.ok).toBe(false);
      return result.ok ? '' : result.message;
    };
    expect(message('61 * * * *')).toBe('invalid schedule "61 * * * *": Invalid value for minute: 61');
    expect(message('* * *')).toMatch(/^invalid schedule "\* \* \*": expected 5 fields .* got 3$/);
    expect(message('0 0 0 1 1 * 2030')).toMatch(/expected 5 fields .* got 7$/);
    expect(message('')).toMatch(/^invalid schedule "": expected 5 fields/);
    expect(message('2024-05-01T00:00:00')).toMatch(/got 1$/);
    expect(message('@fortnightly')).toMatch(/^invalid schedule "@fortnightly": unknown preset "@fortnightly" \(presets: @yearly, /);
    expect(message('0 0 * * 8')).toMatch(/dayOfWeek: 8/);
    expect(message('a b c d e')).toMatch(/illegal characters/);
    expect(message('0 0 30 2 *')).toBe('invalid schedule "0 0 30 2 *": it never fires (no date matches it)');
    expect(message('TZ=Mars/Olympus 0 9 * * *')).toMatch(/unknown time zone "Mars\/Olympus"/);
    expect(message('TZ=Europe/Paris')).toMatch(/expected "TZ=Area\/City <cron or preset>"/);
  });
});

describe('config validation of schedule and notify', () => {
  it('reports an invalid schedule and webhook at the activation path', async () => {
    const { resolveConfig } = await import('../config/resolve.ts');
    const activation = (extra: object) => ({ name: 'a', source: { $ref: '#/sources/s' }, destination: { $ref: '#/destinations/d' }, ...extra });
    const config = (extra: object[]) => ({
      sources: { s: { type: 'file', path: 'x.csv', format: 'csv' } },
      destinations: { d: { type: 'http', url: 'http://127.0.0.1:9/x' } },
      activations: extra.map((item, i) => ({ ...activation(item), name: `a${i}` })),
    });
    const good = await resolveConfig(
      config([{ schedule: null }, {}, { schedule: '@daily' }, { schedule: 'TZ=Europe/Paris 0 9 * * 1-5', notify: { webhook_url: 'https://hooks.example.com/T/B/x' } }]),
      {},
    );
    expect(good.issues).toEqual([]);
    const bad = await resolveConfig(config([{}, { schedule: '61 * * * *' }, { notify: { webhook_url: 'ftp://x' } }, { notify: { url: 'https://x' } }]), {});
    const messages = bad.issues.map((issue) => `${issue.path}: ${issue.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'activations[1].schedule: invalid schedule "61 * * * *": Invalid value for minute: 61',
        'activations[2].notify.webhook_url: must be an http(s) URL',
        'activations[3].notify.webhook_url: required',
        'activations[3].notify.url: unknown key',
      ]),
    );
  });
});
