/**
 * The events source: its spec (write keys: secret, long enough, distinct), the one stream it describes,
 * and a read that explains why runs do not read it.
 */
import { describe, expect, it } from 'vitest';
import { defaultContext } from '../../../sdk/context.ts';
import { parseConfig, specToJsonSchema } from '../../../sdk/spec.ts';
import source from './index.ts';

describe('events source', () => {
  it('takes one or more distinct write keys of 16+ characters, as a secret', () => {
    expect(parseConfig(source.spec, { write_keys: ['wk_0123456789abcdef'] }).ok).toBe(true);
    const short = parseConfig(source.spec, { write_keys: ['short'] });
    expect(short.ok).toBe(false);
    expect(parseConfig(source.spec, { write_keys: [] }).ok).toBe(false);
    expect(parseConfig(source.spec, { write_keys: ['wk_0123456789abcdef', 'wk_0123456789abcdef'] }).ok).toBe(false);
    expect(parseConfig(source.spec, { write_keys: ['wk_0123456789abcdef'], extra: 1 }).ok).toBe(false);
    const schema = specToJsonSchema(source.spec) as { properties: { write_keys: Record<string, unknown> } };
    expect(schema.properties.write_keys['x-secret']).toBe(true);
  });

  it('describes the events stream, keyed by messageId', async () => {
    const [stream] = await source.discover({ write_keys: ['wk_0123456789abcdef'] }, defaultContext());
    expect(stream).toMatchObject({ name: 'events', primaryKey: [['messageId']] });
    expect(Object.keys((stream!.jsonSchema as { properties: object }).properties)).toEqual(expect.arrayContaining(['type', 'userId', 'anonymousId', 'event', 'properties', 'timestamp']));
  });

  it('is not read by runs', async () => {
    const read = source.read({ write_keys: ['wk_0123456789abcdef'] }, { streams: [], state: undefined }, defaultContext());
    await expect(read[Symbol.asyncIterator]().next()).rejects.toThrow(/not read by runs/);
  });
});
