/**
 * The __id__ source against a real loopback server serving 25 items in pages: every item is read once,
 * a read resumes from a saved cursor, and the shared conformance suite (sluice/testing) passes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultContext } from 'sluice/sdk';
import type { SourceMessage, State } from 'sluice/sdk';
import { describeConformance } from 'sluice/testing';
import source from './index.ts';
import { __camel__Spec } from './spec.ts';

const API_KEY = 'test-key-0123456789';
const ITEMS = Array.from({ length: 25 }, (_, index) => ({ id: index + 1, name: `item ${index + 1}` }));

/** Pages of `limit` items; the cursor is the offset of the next page. */
const server = createServer((req, res) => {
  if (req.headers.authorization !== `Bearer ${API_KEY}`) return void res.writeHead(401).end('bad key');
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  const offset = Number(query.get('cursor') ?? 0);
  const limit = Number(query.get('limit') ?? 10);
  const next = offset + limit < ITEMS.length ? String(offset + limit) : null;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: ITEMS.slice(offset, offset + limit), next }));
});
let url = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/items`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function readAll(state?: State): Promise<SourceMessage[]> {
  const config = __camel__Spec.parse({ url, api_key: API_KEY, page_size: 10 });
  const messages: SourceMessage[] = [];
  for await (const message of source.read(config, { streams: [], state }, defaultContext())) messages.push(message);
  return messages;
}

describe('__id__ source', () => {
  it('reads every item once, with a state after each page but the last', async () => {
    const messages = await readAll();
    expect(messages.filter((message) => message.type === 'record').map((message) => message.data)).toEqual(ITEMS);
    expect(messages.filter((message) => message.type === 'state').map((message) => message.state)).toEqual([
      { bookmarks: { items: { cursor: '10' } } },
      { bookmarks: { items: { cursor: '20' } } },
    ]);
  });

  it('resumes from the cursor in its state', async () => {
    const messages = await readAll({ bookmarks: { items: { cursor: '20' } } });
    expect(messages.filter((message) => message.type === 'record')).toHaveLength(5);
  });
});

describeConformance(source, {
  validConfig: () => ({ url, api_key: API_KEY, page_size: 10 }),
});
