/**
 * The file destination's config. Every field's description is user-facing: it becomes the UI form help and
 * the reference docs. Unknown keys are rejected. `resolveFormat` and `resolvePath` hold the two defaults a
 * zod default cannot express (they depend on the path, and on the run).
 */
import { z } from 'zod';
import { field } from '../../../sdk/spec.ts';

export const fileSpec = z.strictObject({
  path: field(z.string().min(1), {
    description:
      'The file to write. `{run_id}` is replaced by the run id, so each run can write a file of its own. A relative path is resolved from the working directory; missing parent directories are created.',
    examples: ['exports/customers.csv', 'out/events-{run_id}.jsonl'],
  }),
  format: field(z.enum(['jsonl', 'csv']).optional(), {
    description:
      '`jsonl` writes one JSON record per line; `csv` writes a header row, then one row per record. When absent: `csv` if the path ends in `.csv`, otherwise `jsonl`.',
  }),
  mode: field(z.enum(['append', 'overwrite']).optional(), {
    description:
      "`overwrite` replaces the file's contents on each run; `append` adds to what is there. When absent, the activation's sync mode decides (overwrite unless it says append), and a run with no records leaves the file untouched.",
  }),
  columns: field(z.array(z.string().min(1)).min(1).optional(), {
    description:
      'CSV only: the columns to write, in order; record fields not listed are left out. When absent, the columns are the fields of the first record, and a later record with another field is rejected rather than losing it.',
    examples: [['id', 'email', 'created_at']],
    visibleWhen: { format: 'csv' },
  }),
  delimiter: field(
    z
      .string()
      .length(1)
      .refine((d) => !/["\r\n]/.test(d), 'the delimiter cannot be a quote or a line break')
      .default(','),
    {
      description: 'CSV only: the character between fields, such as `,`, `;` or a tab.',
      visibleWhen: { format: 'csv' },
    },
  ),
  header: field(z.boolean().default(true), {
    description: 'CSV only: write a header row of column names at the top of the file (never again when appending to a file that has content).',
    visibleWhen: { format: 'csv' },
  }),
});

export type FileConfig = z.output<typeof fileSpec>;
export type FileFormat = NonNullable<FileConfig['format']>;

export function resolveFormat(config: FileConfig): FileFormat {
  return config.format ?? (/\.csv$/i.test(config.path) ? 'csv' : 'jsonl');
}

/** The path with `{run_id}` filled in; the id is made file-name safe, since it lands in a path. */
export function resolvePath(config: FileConfig, runId: string): string {
  return config.path.replaceAll('{run_id}', runId.replace(/[^\w.-]/g, '_'));
}
