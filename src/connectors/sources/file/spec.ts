/**
 * The `file` source's config: which file(s) to read, in which format, and how to read CSV. Every field here
 * becomes the UI form and the reference docs, so descriptions are written for users. Unknown keys are an
 * error; a path whose extension does not say its format must name the format.
 */
import { z } from 'zod';
import { field } from '../../../sdk/spec.ts';
import { inferFormat } from './format.ts';

export const FORMATS = ['csv', 'jsonl', 'json', 'parquet'] as const;
export type Format = (typeof FORMATS)[number];

export const COLUMN_TYPES = ['string', 'integer', 'number', 'boolean'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export const ENCODINGS = ['utf8', 'utf16le', 'latin1'] as const;
export type Encoding = (typeof ENCODINGS)[number];

export const fileSpec = z
  .strictObject({
    path: field(z.string().min(1), {
      description:
        'The file to read, or a glob pattern such as `data/orders-*.csv` that matches several files; matched files are read one after another in sorted order as one stream. Relative paths start from the working directory of the Sluice process.',
      examples: ['data/orders.csv', 'exports/2024-*/events.jsonl'],
    }),
    format: field(z.enum(FORMATS).optional(), {
      description:
        'How the file is written: `csv`, `jsonl` (one JSON object per line), `json` (one JSON array of objects) or `parquet`. When left out it is inferred from the extension (.csv, .jsonl, .ndjson, .json, .parquet).',
    }),
    stream: field(z.string().min(1).optional(), {
      description:
        'The name of the stream the records belong to. Defaults to the file name without its extension, e.g. `orders` for `data/orders.csv` or for `data/orders-*.csv`.',
      examples: ['orders'],
    }),
    delimiter: field(
      z
        .string()
        .length(1)
        .refine((value) => value !== '"' && value !== '\n' && value !== '\r', 'the delimiter cannot be a quote or a line break')
        .default(','),
      { description: 'CSV only: the character that separates fields, e.g. `;` or a tab (`"\\t"`).', examples: [';', '\t'] },
    ),
    header: field(z.boolean().default(true), {
      description:
        'CSV only: whether the first line holds the column names. Without a header, columns are named by `column_names` or else `column_1`, `column_2`, …',
    }),
    column_names: field(z.array(z.string().min(1)).min(1).optional(), {
      description:
        'CSV only: the column names, in order. With `header: true` they replace the names in the header line (which is then skipped).',
      examples: [['id', 'email', 'amount']],
    }),
    types: field(z.record(z.string(), z.enum(COLUMN_TYPES)).default({}), {
      description:
        'CSV only: the type of a column, by name: `string`, `integer`, `number` or `boolean`. CSV values stay strings unless typed here — guessing would turn the zip code 01234 into the number 1234. Integers beyond 2^53 and decimals with more than 15 digits are kept exactly. A value that does not fit its type makes the row invalid.',
      examples: [{ id: 'integer', amount: 'number', active: 'boolean' }],
    }),
    null_values: field(z.array(z.string()).default(['']), {
      description:
        'CSV only: unquoted values that mean null. The default turns an empty field into null, while a quoted empty field ("") stays an empty string.',
      examples: [['', 'NULL', 'N/A']],
    }),
    encoding: field(z.enum(ENCODINGS).default('utf8'), {
      description: 'CSV, JSONL and JSON: the text encoding of the file. A byte-order mark at the start is skipped.',
    }),
  })
  .superRefine((config, ctx) => {
    if (config.format === undefined && inferFormat(config.path) === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['format'],
        message: `cannot tell the format from the extension of "${config.path}"; set format to csv, jsonl, json or parquet`,
      });
    }
  });

export type FileConfig = z.output<typeof fileSpec>;
