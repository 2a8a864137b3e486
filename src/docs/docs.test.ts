/**
 * The committed connector reference (docs/connectors/) is what the specs generate today; and the
 * generator renders fields the way users read them.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { field, specToJsonSchema } from '../sdk/spec.ts';
import { fieldRows } from './fields.ts';
import { staleConnectorDocs } from './generate.ts';

describe('connector docs', () => {
  it('are up to date with the connector specs', async () => {
    const problems = await staleConnectorDocs();
    expect(problems, `docs/connectors is out of date (${problems.join(', ')}): run \`npm run docs:connectors\``).toEqual([]);
  });

  it('render types, defaults, secrets, values, examples and visible-when', () => {
    const spec = z.strictObject({
      mode: field(z.enum(['a', 'b']).default('a'), { description: 'The mode.' }),
      token: field(z.string().min(1), { description: 'A | token.', secret: true, examples: ['t-1'] }),
      size: field(z.int().min(1).max(10).optional(), { description: 'Size.', visibleWhen: { mode: 'b' } }),
      tags: field(z.array(z.string()).default([]), { description: 'Tags.' }),
    });
    const rows = fieldRows(specToJsonSchema(spec));
    expect(rows.map((row) => [row.name, row.type, row.required, row.default, row.secret])).toEqual([
      ['mode', 'string', false, 'a', false],
      ['token', 'string (not empty)', true, undefined, true],
      ['size', 'integer (1 to 10)', false, undefined, false],
      ['tags', 'array of string', false, [], false],
    ]);
    expect(rows[0]!.values).toEqual(['a', 'b']);
    expect(rows[1]!.examples).toEqual(['t-1']);
    expect(rows[2]!.visibleWhen).toEqual({ mode: 'b' });
  });
});
