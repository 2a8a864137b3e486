/**
 * Which events an event activation delivers: `types` (track, identify, …), `events` (the names of track
 * events, and of pages and screens) and `where`, a small expression over the event's fields:
 *
 *   properties.plan == "pro" and (context.locale in ["fr-FR", "fr-BE"] or traits.vip exists)
 *
 * - paths are dotted, with `[n]` for array items: `properties.items[0].sku`; a missing field is `null`
 *   to `==`/`!=`/`in` and false to `exists` (which is also false for an explicit null);
 * - comparisons `==`, `!=` (JSON values: strings in double or single quotes, numbers, true, false, null;
 *   no conversions: `1 == "1"` is false), `<`, `<=`, `>`, `>=` (numbers with numbers, strings with
 *   strings; otherwise false), `in [v, …]`, `not in [v, …]`, `exists`;
 * - `and`, `or`, `not`, parentheses; `and` binds tighter than `or`.
 * The expression is parsed once (errors name the position) into a closure tree: nothing is evaluated as
 * code, and evaluation cannot loop or reach anything but the event's own fields.
 */
import { parsePath } from './mapping.ts';

export interface EventFilterConfig {
  readonly types?: readonly string[];
  readonly events?: readonly string[];
  readonly where?: string;
}

type Event = Record<string, unknown>;
type Predicate = (event: Event) => boolean;
type Scalar = string | number | boolean | null;

export class FilterSyntaxError extends Error {}

type Token =
  | { readonly kind: 'ident'; readonly text: string; readonly at: number }
  | { readonly kind: 'string'; readonly value: string; readonly at: number }
  | { readonly kind: 'number'; readonly value: number; readonly at: number }
  | { readonly kind: 'op'; readonly text: string; readonly at: number }
  | { readonly kind: 'end'; readonly at: number };

const MAX_EXPRESSION = 2000;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at]!;
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    const start = at;
    if (char === '"' || char === "'") {
      let value = '';
      at++;
      for (;;) {
        if (at >= text.length) throw new FilterSyntaxError(`unterminated string starting at ${start + 1}`);
        const next = text[at]!;
        if (next === '\\' && at + 1 < text.length) {
          const escaped = text[at + 1]!;
          value += escaped === 'n' ? '\n' : escaped === 't' ? '\t' : escaped;
          at += 2;
          continue;
        }
        if (next === char) {
          at++;
          break;
        }
        value += next;
        at++;
      }
      tokens.push({ kind: 'string', value, at: start });
      continue;
    }
    const number = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(at));
    if (number !== null && (char === '-' || /\d/.test(char))) {
      tokens.push({ kind: 'number', value: Number(number[0]), at: start });
      at += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_$][\w$-]*(?:\.[A-Za-z_$][\w$-]*|\[\d+\])*/.exec(text.slice(at));
    if (ident !== null) {
      tokens.push({ kind: 'ident', text: ident[0], at: start });
      at += ident[0].length;
      continue;
    }
    const op = /^(==|!=|<=|>=|<|>|\(|\)|\[|\]|,)/.exec(text.slice(at));
    if (op !== null) {
      tokens.push({ kind: 'op', text: op[0], at: start });
      at += op[0].length;
      continue;
    }
    if (char === '=') throw new FilterSyntaxError(`"=" at ${start + 1}: compare with ==`);
    throw new FilterSyntaxError(`unexpected "${char}" at ${start + 1}`);
  }
  tokens.push({ kind: 'end', at: text.length });
  return tokens;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'exists', 'true', 'false', 'null']);

/** Parses a `where` expression into a predicate; throws FilterSyntaxError naming the position. */
export function compileWhere(text: string): Predicate {
  if (text.length > MAX_EXPRESSION) throw new FilterSyntaxError(`the expression is longer than ${MAX_EXPRESSION} characters`);
  const tokens = tokenize(text);
  let index = 0;
  const peek = () => tokens[index]!;
  const next = () => tokens[index++]!;
  const describe = (token: Token) => (token.kind === 'end' ? 'the end' : `"${text.slice(token.at, token.at + 20).split(/\s/)[0]}" at ${token.at + 1}`);
  const isWord = (token: Token, word: string) => token.kind === 'ident' && token.text === word;
  const isOp = (token: Token, op: string) => token.kind === 'op' && token.text === op;
  const fail = (expected: string): never => {
    throw new FilterSyntaxError(`expected ${expected}, found ${describe(peek())}`);
  };

  function value(): Scalar {
    const token = next();
    if (token.kind === 'string' || token.kind === 'number') return token.value;
    if (token.kind === 'ident' && token.text === 'true') return true;
    if (token.kind === 'ident' && token.text === 'false') return false;
    if (token.kind === 'ident' && token.text === 'null') return null;
    index--;
    return fail('a value (a "string", a number, true, false or null)');
  }

  function list(): Scalar[] {
    if (!isOp(next(), '[')) {
      index--;
      fail('"[" to start a list');
    }
    const values: Scalar[] = [];
    if (isOp(peek(), ']')) {
      index++;
      return values;
    }
    for (;;) {
      values.push(value());
      const token = next();
      if (isOp(token, ']')) return values;
      if (!isOp(token, ',')) {
        index--;
        fail('"," or "]"');
      }
    }
  }

  function comparison(): Predicate {
    const token = next();
    if (token.kind !== 'ident' || KEYWORDS.has(token.text)) {
      index--;
      return fail('a field path such as properties.plan');
    }
    const get = getter(token.text);
    const op = peek();
    if (isWord(op, 'exists')) {
      index++;
      return (event) => {
        const found = get(event);
        return found !== undefined && found !== null;
      };
    }
    if (isWord(op, 'in')) {
      index++;
      const values = list();
      return (event) => values.some((candidate) => same(get(event), candidate));
    }
    if (isWord(op, 'not') && isWord(tokens[index + 1]!, 'in')) {
      index += 2;
      const values = list();
      return (event) => !values.some((candidate) => same(get(event), candidate));
    }
    if (op.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(op.text)) {
      index++;
      const expected = value();
      switch (op.text) {
        case '==':
          return (event) => same(get(event), expected);
        case '!=':
          return (event) => !same(get(event), expected);
        default:
          return (event) => ordered(get(event), expected, op.text);
      }
    }
    return fail('==, !=, <, <=, >, >=, in, not in or exists');
  }

  function primary(): Predicate {
    if (isWord(peek(), 'not')) {
      index++;
      const inner = primary();
      return (event) => !inner(event);
    }
    if (isOp(peek(), '(')) {
      index++;
      const inner = or();
      if (!isOp(next(), ')')) {
        index--;
        fail('")"');
      }
      return inner;
    }
    return comparison();
  }

  function and(): Predicate {
    const parts = [primary()];
    while (isWord(peek(), 'and')) {
      index++;
      parts.push(primary());
    }
    return parts.length === 1 ? parts[0]! : (event) => parts.every((part) => part(event));
  }

  function or(): Predicate {
    const parts = [and()];
    while (isWord(peek(), 'or')) {
      index++;
      parts.push(and());
    }
    return parts.length === 1 ? parts[0]! : (event) => parts.some((part) => part(event));
  }

  const predicate = or();
  if (peek().kind !== 'end') fail('"and", "or" or the end');
  return predicate;
}

function getter(path: string): (event: Event) => unknown {
  const parts = parsePath(path);
  return (event) => {
    let node: unknown = event;
    for (const part of parts) {
      if (node === null || typeof node !== 'object') return undefined;
      if (!Object.hasOwn(node, part)) return undefined;
      node = (node as Record<string | number, unknown>)[part];
    }
    return node;
  };
}

function same(found: unknown, expected: Scalar): boolean {
  if (found === undefined) return expected === null;
  return found === expected;
}

function ordered(found: unknown, expected: Scalar, op: string): boolean {
  if (!((typeof found === 'number' && typeof expected === 'number') || (typeof found === 'string' && typeof expected === 'string'))) return false;
  switch (op) {
    case '<':
      return found < expected;
    case '<=':
      return found <= expected;
    case '>':
      return found > expected;
    default:
      return found >= expected;
  }
}

/** The whole filter as one predicate (everything passes when it is absent). */
export function compileEventFilter(filter: EventFilterConfig | undefined): Predicate {
  if (filter === undefined) return () => true;
  const checks: Predicate[] = [];
  if (filter.types !== undefined) {
    const types = new Set(filter.types);
    checks.push((event) => types.has(event.type as string));
  }
  if (filter.events !== undefined) {
    const names = new Set(filter.events);
    checks.push((event) => {
      const name = event.type === 'track' ? event.event : event.type === 'page' || event.type === 'screen' ? event.name : undefined;
      return typeof name === 'string' && names.has(name);
    });
  }
  if (filter.where !== undefined) checks.push(compileWhere(filter.where));
  if (checks.length === 0) return () => true;
  return (event) => checks.every((check) => check(event));
}
