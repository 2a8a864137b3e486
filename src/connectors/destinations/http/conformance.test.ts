/**
 * The http destination passes the shared conformance suite against a real loopback server that keeps
 * every record of every 2xx-answered request; the suite reads them back from there. Requests are signed
 * (Standard Webhooks): the server verifies each signature with the reference library and refuses (401)
 * what does not verify, so every record the suite reads back came with a valid signature.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll } from 'vitest';
import { describeConformance } from 'sluice/testing';
import type { JsonObject } from 'sluice/sdk';
import http from './index.ts';

const SIGNING_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD1FKtwM+Xa8Y=';
const verifier = new Webhook(SIGNING_SECRET);

const received: JsonObject[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.method === 'POST') {
      try {
        verifier.verify(body, req.headers as Record<string, string>);
      } catch {
        res.writeHead(401).end('signature does not verify');
        return;
      }
      received.push(...(JSON.parse(body) as JsonObject[]));
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
let url = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describeConformance(http, {
  // A secret header, so the suite can watch for it in logs and reasons; the invalid config is derived
  // (the URL moved to a port nothing listens on).
  validConfig: () => ({ url, headers: { Authorization: 'Bearer conformance-token-0123456789' }, signing_secret: SIGNING_SECRET, batch_size: 50, max_wait_ms: 20 }),
  inspect: async () => received,
  module: new URL('./index.ts', import.meta.url),
});
