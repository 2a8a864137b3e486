/**
 * Epoch counts to ISO 8601 date-times (`YYYY-MM-DDTHH:MM:SS[.fraction]`, no zone — the caller adds `Z`
 * when the value is UTC), at full precision: trailing zeros of the fraction are dropped, never digits.
 * Returns undefined outside what a Date can hold (DuckDB's ±infinity), so the caller can fall back.
 *
 * Microseconds, the common case, are formatted with integer arithmetic: once per timestamp value, and
 * Date#toISOString measured ~3× slower here. Other units, and times after 2255, go through Date.
 */

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

export function isoFromMicros(micros: bigint): string | undefined {
  const total = Number(micros);
  if (!Number.isSafeInteger(total)) return isoFromUnits(micros, 1_000_000n, 6);
  const seconds = Math.floor(total / 1e6);
  const fraction = total - seconds * 1e6;
  const days = Math.floor(seconds / 86400);
  let rest = seconds - days * 86400;
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted).
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) return isoFromUnits(micros, 1_000_000n, 6);
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const secs = rest - minutes * 60;
  const text = `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(secs)}`;
  return fraction === 0 ? text : `${text}.${trimZeros(String(fraction).padStart(6, '0'))}`;
}

/** An epoch count of `unitsPerSecond` units (1 for seconds … 1e9 for nanoseconds), through Date. */
export function isoFromUnits(units: bigint, unitsPerSecond: bigint, digits: number): string | undefined {
  let seconds = units / unitsPerSecond;
  let fraction = units % unitsPerSecond;
  if (fraction < 0n) {
    fraction += unitsPerSecond;
    seconds -= 1n;
  }
  const date = new Date(Number(seconds) * 1000);
  if (Number.isNaN(date.getTime())) return undefined;
  const whole = date.toISOString().slice(0, -5);
  return fraction === 0n ? whole : `${whole}.${trimZeros(fraction.toString().padStart(digits, '0'))}`;
}

function trimZeros(digits: string): string {
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 48) end--;
  return end === digits.length ? digits : digits.slice(0, end);
}
