/**
 * Table names as users write them: `orders`, `sales.orders`, or with quoted parts (`"Sales"."Order.Lines"`
 * for PostgreSQL, `` `sales`.`order lines` `` for MySQL) when a part holds a dot. Unquoted parts are taken
 * exactly as written — no case folding — and every part is quoted in the SQL Sluice sends, so a name
 * can never be read as SQL.
 */
import { SluiceError } from '../../sdk/errors.ts';
import { trimQuery } from './spec.ts';

export interface TableName {
  /** The schema (PostgreSQL) or database (MySQL), when the name is qualified. */
  readonly schema: string | undefined;
  readonly name: string;
}

/** Split `a.b` on dots outside quotes; undefined when the name is malformed (an unclosed quote, an empty part, more than two parts). */
export function parseTableName(text: string, quote: '"' | '`'): TableName | undefined {
  const parts: string[] = [];
  let i = 0;
  while (i <= text.length) {
    let part = '';
    if (text[i] === quote) {
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        if (text[i] === quote) {
          if (text[i + 1] === quote) {
            part += quote;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += text[i];
        i++;
      }
      if (i < text.length && text[i] !== '.') return undefined;
    } else {
      const dot = text.indexOf('.', i);
      const end = dot === -1 ? text.length : dot;
      part = text.slice(i, end).trim();
      i = end;
    }
    if (part === '') return undefined;
    parts.push(part);
    if (i >= text.length) break;
    i++; // the dot
    if (i >= text.length) return undefined;
  }
  if (parts.length === 1) return { schema: undefined, name: parts[0] as string };
  if (parts.length === 2) return { schema: parts[0], name: parts[1] as string };
  return undefined;
}

export function quoteIdentifier(name: string, quote: '"' | '`'): string {
  return `${quote}${name.replaceAll(quote, quote + quote)}${quote}`;
}

export function quoteTable(table: TableName, quote: '"' | '`'): string {
  const name = quoteIdentifier(table.name, quote);
  return table.schema === undefined ? name : `${quoteIdentifier(table.schema, quote)}.${name}`;
}

/** For messages: the name as the user would write it. */
export function displayTable(table: TableName): string {
  return table.schema === undefined ? table.name : `${table.schema}.${table.name}`;
}

/** What the config reads: a table, or a query. */
export interface Target {
  readonly table: TableName | undefined;
  /** The trimmed query, for a query source. */
  readonly query: string | undefined;
  /** `table orders` or `the query`, for messages. */
  readonly what: string;
  /** SQL to select from: the quoted table, or the query as a subquery. */
  readonly from: string;
}

export const SUBQUERY_ALIAS = 'sluice_source';

/** The config's table (quoted with the database's identifier quote) or query (as a subquery). */
export function targetOf(config: { readonly table?: string | undefined; readonly query?: string | undefined }, quote: '"' | '`'): Target {
  if (config.table !== undefined) {
    const table = parseTableName(config.table, quote);
    if (table === undefined) throw new SluiceError('CONFIG_INVALID', 'table: not a table name');
    return { table, query: undefined, what: `table ${displayTable(table)}`, from: quoteTable(table, quote) };
  }
  const query = trimQuery(config.query ?? '');
  return { table: undefined, query, what: 'the query', from: `(${query}) as ${SUBQUERY_ALIAS}` };
}
