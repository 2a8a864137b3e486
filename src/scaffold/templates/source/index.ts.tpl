/**
 * The `__id__` source: reads items from the __Title__ API page by page, as one stream, `items`. After each
 * page but the last it yields a state holding the next page's cursor, so an interrupted run resumes there
 * (the page in flight may be read twice). See README.md.
 */
import { defineSource, describeError } from 'sluice/sdk';
import type { CheckResult, ConnectorContext, ReadRequest, SourceMessage, StreamDescriptor } from 'sluice/sdk';
import { __Pascal__Client } from './client.ts';
import { __camel__Spec } from './spec.ts';
import type { __Pascal__Config } from './spec.ts';

const STREAM = 'items';

const stream: StreamDescriptor = {
  name: STREAM,
  jsonSchema: { type: 'object', properties: { id: { type: ['string', 'integer'] } }, required: ['id'] },
  primaryKey: [['id']],
  syncModes: ['full_refresh', 'incremental'],
};

/** A small real call: one item, which proves the endpoint answers and takes the key. */
async function check(config: __Pascal__Config, ctx: ConnectorContext): Promise<CheckResult> {
  const client = new __Pascal__Client(config);
  try {
    await client.page(undefined, 1, ctx.signal);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `cannot read from ${client.host}: ${describeError(error)}` };
  } finally {
    await client.close();
  }
}

async function* read(config: __Pascal__Config, request: ReadRequest, ctx: ConnectorContext): AsyncGenerator<SourceMessage> {
  if (request.streams.length > 0 && !request.streams.some((configured) => configured.name === STREAM)) return;
  const bookmark = request.state?.bookmarks?.[STREAM] as { cursor?: string } | undefined;
  let cursor = bookmark?.cursor;
  const client = new __Pascal__Client(config);
  try {
    for (;;) {
      const page = await client.page(cursor, config.page_size, ctx.signal);
      for (const data of page.items) yield { type: 'record', stream: STREAM, data };
      if (page.next === null) return;
      cursor = page.next;
      yield { type: 'state', state: { bookmarks: { [STREAM]: { cursor } } } };
    }
  } finally {
    await client.close();
  }
}

export default defineSource({
  id: '__id__',
  title: '__Title__',
  description: 'Reads items from the __Title__ API, page by page.',
  spec: __camel__Spec,
  check,
  discover: async () => [stream],
  read,
});
