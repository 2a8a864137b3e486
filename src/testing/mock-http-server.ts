/**
 * The loopback HTTP server under the vendor API mocks (ga4, pendo, marketo-bulk): `start` listens on a
 * free 127.0.0.1 port and sets `url`; each request goes to `handle`, and an error it throws is answered
 * 500 with the message (a mock's bug shows up in the test, not as a hang); `close` drops open connections
 * and waits for the server to stop.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export abstract class MockHttpServer {
  /** The base URL to configure, once started. */
  url = '';
  private server: Server | undefined;

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  /** Listen on a free loopback port; `url` is then the base URL to configure. */
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
