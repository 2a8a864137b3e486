/**
 * Activation schedules for `sluice serve`. A schedule is one of:
 * - a cron string of 5 fields (`minute hour day-of-month month day-of-week`), or 6 with seconds first;
 * - a preset: `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`;
 * - either of the above prefixed `TZ=Area/City ` (an IANA zone, e.g. `TZ=Europe/Paris 0 9 * * MON`).
 * Without the prefix, times are UTC — never the server's local zone. DST is handled by croner: a time that
 * falls in a spring-forward gap is skipped, one in a fall-back overlap fires once.
 * null or absent (handled by the caller) means manual only.
 *
 * parseSchedule never throws: it returns `{ ok: false, message }` with a message of the form
 * `invalid schedule "61 * * * *": <why>`. A schedule that parses but can never fire (`0 0 30 2 *`) is invalid.
 * Croner's other pattern extensions (L, W, #, ranges, steps, month/day names) are accepted as croner defines them;
 * its 7th (year) field and one-off ISO dates are not.
 */
import { Cron } from 'croner';

export interface Schedule {
  /** The text it was parsed from (trimmed). */
  readonly text: string;
  /** The IANA zone the fields are read in: `UTC` unless the text had a `TZ=` prefix. */
  readonly timezone: string;
  /** The first firing time strictly after `date` (to the second), or undefined if it never fires again. */
  nextAfter(date: Date): Date | undefined;
}

export type ParseScheduleResult = { ok: true; schedule: Schedule } | { ok: false; message: string };

const PRESETS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
const TZ_PREFIX = /^TZ=(\S*)\s+(.*)$/;

export function parseSchedule(text: string): ParseScheduleResult {
  const trimmed = text.trim();
  const fail = (why: string): ParseScheduleResult => ({ ok: false, message: `invalid schedule ${JSON.stringify(text)}: ${why}` });

  let timezone = 'UTC';
  let pattern = trimmed;
  if (trimmed.startsWith('TZ=')) {
    const match = TZ_PREFIX.exec(trimmed);
    if (!match || !match[1] || !match[2]) return fail('expected "TZ=Area/City <cron or preset>"');
    timezone = match[1];
    pattern = match[2].trim();
    if (!isTimeZone(timezone)) return fail(`unknown time zone "${timezone}" (use an IANA name such as Europe/Paris)`);
  }

  if (pattern.startsWith('@')) {
    if (!PRESETS.includes(pattern.toLowerCase())) return fail(`unknown preset "${pattern}" (presets: ${PRESETS.join(', ')})`);
  } else {
    const fields = pattern.split(/\s+/).filter(Boolean).length;
    if (fields !== 5 && fields !== 6) {
      return fail(
        `expected 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or a preset such as @daily; got ${fields}`,
      );
    }
  }

  let cron: Cron;
  try {
    cron = new Cron(pattern, { paused: true, timezone, mode: '5-or-6-parts' });
  } catch (error) {
    return fail(String((error as Error).message ?? error).replace(/^CronPattern:\s*/, ''));
  }
  // A pattern that matches no real date (Feb 30) parses fine but never fires; a serve loop would wait forever.
  if (cron.nextRun(new Date()) === null) return fail('it never fires (no date matches it)');

  return {
    ok: true,
    schedule: {
      text: trimmed,
      timezone,
      nextAfter(date: Date): Date | undefined {
        if (Number.isNaN(date.getTime())) throw new TypeError('nextAfter: invalid date');
        return cron.nextRun(date) ?? undefined;
      },
    },
  };
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
