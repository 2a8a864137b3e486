/**
 * A real HTTP server on 127.0.0.1 for end-to-end tests: it records every request (time, headers, parsed
 * JSON-array body) and answers through a programmable `respond` hook, so tests can inject 429s, 503
 * bursts, slow answers and connection resets. It counts records once per Idempotency-Key, as a receiver
 * that drops repeats would.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  readonly at: number;
  readonly key: string | undefined;
  readonly records: Array<Record<string, unknown>>;
}

export type Respond = (request: ReceivedRequest, index: number, res: ServerResponse, req: IncomingMessage) => void | Promise<void>;

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** Record ids accepted (2xx), once per idempotency key. */
  acceptedIds(field?: string): unknown[];
  respond: Respond;
  close(): Promise<void>;
}

export const accept: Respond = (_request, _index, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
};

export async function startReceiver(respond: Respond = accept, port = 0): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const acceptedByKey = new Map<string, ReceivedRequest>();
  const sockets = new Set<Socket>();
  const receiver: Receiver = {
    url: '',
    port: 0,
    requests,
    respond,
    acceptedIds(field = 'id') {
      return [...acceptedByKey.values()].flatMap((request) => request.records.map((record) => record[field]));
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let records: Array<Record<string, unknown>> = [];
    try {
      const parsed: unknown = text === '' ? [] : JSON.parse(text);
      records = Array.isArray(parsed) ? (parsed as Array<Record<string, unknown>>) : [];
    } catch {
      records = [];
    }
    const key = req.headers['idempotency-key'];
    const request: ReceivedRequest = { at: Date.now(), key: typeof key === 'string' ? key : undefined, records };
    const index = requests.push(request) - 1;
    res.on('finish', () => {
      if (res.statusCode >= 200 && res.statusCode < 300 && request.key !== undefined && !acceptedByKey.has(request.key)) {
        acceptedByKey.set(request.key, request);
      }
    });
    await receiver.respond(request, index, res, req);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return Object.assign(receiver, { url: `http://127.0.0.1:${address.port}/ingest`, port: address.port });
}
