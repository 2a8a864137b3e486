/**
 * A cheap look at JSON text before it is parsed, for the hot loop of protocol targets (one call per line):
 *
 * - whether it may hold a number a double cannot keep (so `parseJson` knows when to take the exact path);
 * - where the value of one member (a key path such as `record` or `record.data`) lies in the text, so a
 *   target can pass a record on as the text it arrived as instead of serializing it again.
 *
 * Cheap because string contents — most of a record's characters — are skipped with `indexOf('"')`, not
 * visited one by one: only structure, numbers and literals are. The scan does not validate; text that is
 * not JSON gives meaningless spans, and callers parse the text anyway (and only use a span when it parsed).
 */

/** The result of `scanJson`. Spans are -1 when the member was not found. */
export interface JsonScan {
  /**
   * A number literal (outside strings) with 16+ digits and dots, or an exponent of 3+ digits: a double may
   * not keep it. Shorter literals always round-trip (≤ 15 significant digits, magnitude within 1e±115).
   */
  longNumber: boolean;
  /** Start (its `{`) and end (after its `}`) of the last member at the path whose value is an object. */
  start: number;
  end: number;
  /** Whitespace outside strings within the span. */
  spaced: boolean;
  /** Colons outside strings within the span: its number of object members at every depth. */
  members: number;
}

/** Whether the `"` at `at` is escaped (preceded by an odd number of backslashes). */
function escaped(text: string, at: number): boolean {
  let backslashes = 0;
  while (text.charCodeAt(at - 1 - backslashes) === 92) backslashes++;
  return backslashes % 2 === 1;
}

/**
 * Scan `text` (or the part of it from `from` to `to`: a line inside a chunk of input — scanning the chunk
 * itself is faster than scanning a substring of it); `path` is the member to locate (`['record']`,
 * `['record', 'data']`), or empty for none. Spans are offsets in `text`.
 */
export function scanJson(text: string, path: readonly string[] = [], from = 0, to = text.length): JsonScan {
  const scan: JsonScan = { longNumber: false, start: -1, end: -1, spaced: false, members: 0 };
  const length = to;
  let depth = 0;
  // How many levels of the path the open containers match (the root is depth 1 and matches none; the
  // container at depth d matches path[d - 2]); a key at depth `matched + 1` may match path[matched].
  let matched = 0;
  let spanDepth = -1;
  let spanStart = -1;
  let colons = 0;
  let spaces = 0;
  let colonsAtStart = 0;
  let spacesAtStart = 0;
  // Set after a key of the path: the next `{` opens that member's value.
  let expectValue = false;
  let index = from;
  while (index < length) {
    const code = text.charCodeAt(index);
    if (code === 34) {
      let close = text.indexOf('"', index + 1);
      while (close !== -1 && text.charCodeAt(close - 1) === 92 && escaped(text, close)) close = text.indexOf('"', close + 1);
      if (close === -1 || close >= length) return scan;
      // A key of the path, at the depth where it counts, directly followed by its colon.
      expectValue = false;
      if (depth === matched + 1 && matched < path.length && text.charCodeAt(close + 1) === 58) {
        const key = path[matched]!;
        expectValue = close - index - 1 === key.length && text.startsWith(key, index + 1);
      }
      index = close + 1;
      continue;
    }
    if ((code >= 48 && code <= 57) || code === 45) {
      // A number: its digits and dots, then an exponent's digits.
      let digits = 0;
      let exponent = -1;
      for (; index < length; index++) {
        const c = text.charCodeAt(index);
        if ((c >= 48 && c <= 57) || c === 46) {
          if (exponent >= 0) exponent++;
          else digits++;
        } else if (c === 101 || c === 69) exponent = 0;
        else if (c !== 43 && c !== 45) break;
      }
      if (digits >= 16 || exponent >= 3) scan.longNumber = true;
      expectValue = false;
      continue;
    }
    switch (code) {
      case 123: // {
      case 91: // [
        depth++;
        if (expectValue && code === 123 && text.charCodeAt(index - 1) === 58) {
          matched++;
          if (matched === path.length) {
            spanDepth = depth;
            spanStart = index;
            colonsAtStart = colons;
            spacesAtStart = spaces;
          }
        }
        expectValue = false;
        break;
      case 125: // }
      case 93: // ]
        if (depth === spanDepth) {
          scan.start = spanStart;
          scan.end = index + 1;
          scan.members = colons - colonsAtStart;
          scan.spaced = spaces !== spacesAtStart;
          spanDepth = -1;
        }
        // Leaving a container: the path is matched only by the containers still open (depth 2 and in).
        if (matched > depth - 2) matched = depth >= 2 ? depth - 2 : 0;
        depth--;
        break;
      case 58: // :
        colons++;
        break;
      case 32:
      case 9:
      case 10:
      case 13:
        spaces++;
        break;
      default:
        // `,`, and the letters of true, false and null
        if (code !== 44) expectValue = false;
    }
    index++;
  }
  return scan;
}

/** Object members in a parsed value, at every depth: what `JsonScan.members` counts in its text. */
function memberCount(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += memberCount(item);
    return count;
  }
  // Exact numbers (bigint aside) are LosslessNumber objects, whose own fields are not members.
  if (!(Object.getPrototypeOf(value) === Object.prototype)) return 0;
  for (const key in value) count += 1 + memberCount((value as Record<string, unknown>)[key]);
  return count;
}

/**
 * The scanned member's text, when it can stand for `value` (what parsing the text gave for that member) as
 * is: compact (no whitespace between tokens) and with no duplicate keys — the text then holds exactly the
 * members `value` has, numbers digit for digit as written. Otherwise undefined: serialize `value` instead.
 */
export function memberText(text: string, scan: JsonScan, value: unknown): string | undefined {
  if (scan.start < 0 || scan.spaced) return undefined;
  // Duplicate keys are the one way valid JSON text can say more than its parse: a colon per member, unless a key repeats.
  if (scan.members !== memberCount(value)) return undefined;
  return text.slice(scan.start, scan.end);
}
