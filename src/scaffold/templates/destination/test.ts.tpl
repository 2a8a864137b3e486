/**
 * The __id__ destination against a real loopback server: batches arrive as JSON arrays with the API key,
 * statuses map to outcomes, and the shared conformance suite (sluice/testing) passes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultContext, isStreamingObject, stringifyJson } from 'sluice/sdk';
import type { JsonObject, OutgoingRecord } from 'sluice/sdk';
import { describeConformance } from 'sluice/testing';
import { __Pascal__Client } from './client.ts';
import destination from './index.ts';
import { __camel__Spec } from './spec.ts';

const API_KEY = 'test-key-0123456789';
/** Records of every accepted request: what the conformance suite reads back. */
const received: JsonObject[] = [];
/** The status the server answers POSTs with; a test may change it, and must put it back. */
let status = 200;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.headers.authorization !== `Bearer ${API_KEY}`) return void res.writeHead(401).end('bad key');
    if (req.method !== 'POST') return void res.writeHead(204).end();
    if (status === 200) received.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject[]));
    res.writeHead(status, { 'retry-after': '0' }).end(status === 200 ? '{"ok":true}' : '{"error":"no"}');
  });
});
let url = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/records`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Write one batch straight through the object, as the engine would. */
async function write(rows: JsonObject[]) {
  const object = destination.objects.records;
  if (object === undefined || !isStreamingObject(object)) throw new Error('records must be a streaming object');
  const config = __camel__Spec.parse({ url, api_key: API_KEY });
  const session = new __Pascal__Client(config);
  const records: OutgoingRecord[] = rows.map((data) => ({ stream: 'test', data, json: stringifyJson(data) }));
  try {
    return await object.write(records, { ...defaultContext(), config, session, object: 'records', syncMode: 'append', idempotencyKey: 'k1', attempt: 1, stream: { name: 'records', jsonSchema: {} } });
  } finally {
    await session.close();
  }
}

describe('__id__ destination', () => {
  it('posts a batch as a JSON array and delivers every record', async () => {
    const outcomes = await write([{ id: 'a-1' }, { id: 'a-2' }]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['delivered', 'delivered']);
    expect(received).toEqual(expect.arrayContaining([{ id: 'a-1' }, { id: 'a-2' }]));
  });

  it('retries a batch the server could not take (503) and rejects one it refused (400)', async () => {
    try {
      status = 503;
      expect((await write([{ id: 'b-1' }]))[0]?.status).toBe('retry');
      status = 400;
      expect(await write([{ id: 'b-2' }])).toEqual([{ status: 'rejected', reason: 'HTTP 400: {"error":"no"}' }]);
    } finally {
      status = 200;
    }
  });
});

describeConformance(destination, {
  validConfig: () => ({ url, api_key: API_KEY, batch_size: 10 }),
  inspect: async () => received,
  module: new URL('./index.ts', import.meta.url),
});
