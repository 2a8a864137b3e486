/**
 * PostgreSQL's text form of arrays: `{1,2,NULL}`, `{"a b","say \"hi\"",NULL}`, `{{1,2},{3,4}}`, and with
 * lower bounds other than 1, `[0:1]={7,8}` (the bounds are dropped). Elements are unquoted, or quoted with
 * backslash escapes; an unquoted NULL is null, a quoted "NULL" the string. Each element's text goes
 * through the element type's parser.
 */
import type { JsonValue } from '../../../protocol/json.ts';

export function parsePgArray(text: string, parseElement: (text: string) => JsonValue, delim = ','): JsonValue[] {
  let i = 0;
  if (text.charCodeAt(0) === 91 /* [ */) i = text.indexOf('=') + 1;
  const delimCode = delim.charCodeAt(0);

  const parseLevel = (): JsonValue[] => {
    if (text.charCodeAt(i) !== 123 /* { */) throw new SyntaxError(`not a PostgreSQL array: ${text.slice(0, 100)}`);
    i++;
    const out: JsonValue[] = [];
    if (text.charCodeAt(i) === 125 /* } */) {
      i++;
      return out;
    }
    for (;;) {
      const code = text.charCodeAt(i);
      if (code === 123) {
        out.push(parseLevel());
      } else if (code === 34 /* " */) {
        i++;
        let value = '';
        let start = i;
        for (;;) {
          const c = text.charCodeAt(i);
          if (Number.isNaN(c)) throw new SyntaxError(`unterminated quote in a PostgreSQL array: ${text.slice(0, 100)}`);
          if (c === 34) break;
          if (c === 92 /* \ */) {
            value += text.slice(start, i);
            start = i + 1;
            i += 2;
            continue;
          }
          i++;
        }
        value += text.slice(start, i);
        i++;
        out.push(parseElement(value));
      } else {
        const start = i;
        for (;;) {
          const c = text.charCodeAt(i);
          if (c === delimCode || c === 125 || Number.isNaN(c)) break;
          i++;
        }
        const value = text.slice(start, i);
        out.push(value === 'NULL' ? null : parseElement(value));
      }
      const next = text.charCodeAt(i);
      i++;
      if (next === delimCode) continue;
      if (next === 125) return out;
      throw new SyntaxError(`malformed PostgreSQL array: ${text.slice(0, 100)}`);
    }
  };
  return parseLevel();
}
