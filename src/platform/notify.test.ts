import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type FailedRunNotice, notifyRunFailed } from './notify.ts';

interface Received {
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

type Answer = { status: number; headers?: Record<string, string> };

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A webhook that answers each request with the next of `answers` (the last one repeats). */
async function webhook(answers: Answer[]): Promise<{ base: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method, path: req.url, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      const answer = answers[Math.min(received.length, answers.length) - 1] ?? { status: 200 };
      res.writeHead(answer.status, answer.headers).end(answer.status < 300 ? 'ok' : 'no');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

function capture() {
  const calls: [object, string | undefined][] = [];
  return { calls, logger: { warn: (obj: object, msg?: string) => void calls.push([obj, msg]) } };
}

const run: FailedRunNotice = {
  runId: 'run-42',
  activation: 'orders_to_api',
  error: 'destination answered 401 <Unauthorized> & gave up',
  startedAt: new Date('2024-03-10T12:00:00Z'),
  finishedAt: '2024-03-10T12:01:30.000Z',
  counters: { read: 10, delivered: 7, rejected: 2 },
  link: 'http://localhost:8080/runs/run-42',
};

describe('notifyRunFailed', () => {
  it('posts a Slack-compatible message', async () => {
    const { base, received } = await webhook([{ status: 200 }]);
    expect(await notifyRunFailed(`${base}/hook`, run)).toBe(true);
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/hook');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toEqual({
      text: 'Sluice run failed: orders_to_api — destination answered 401 &lt;Unauthorized&gt; &amp; gave up',
      blocks: [
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: [
              '*Sluice run failed*',
              '*Activation:* orders_to_api',
              '*Run:* run-42',
              '*Error:* destination answered 401 &lt;Unauthorized&gt; &amp; gave up',
              '*Records:* 10 read, 7 delivered, 2 rejected',
              '*Started:* 2024-03-10T12:00:00.000Z',
              '*Finished:* 2024-03-10T12:01:30.000Z',
              '<http://localhost:8080/runs/run-42|View the run>',
            ].join('\n'),
          },
        },
      ],
    });
  });

  it('leaves out what it was not given', async () => {
    const { base, received } = await webhook([{ status: 204 }]);
    expect(await notifyRunFailed(base, { runId: 'r', activation: 'a', error: 'boom' })).toBe(true);
    expect(received[0]?.body).toMatchObject({ blocks: [{ text: { text: '*Sluice run failed*\n*Activation:* a\n*Run:* r\n*Error:* boom' } }] });
  });

  it('retries a 500, then succeeds', async () => {
    const { base, received } = await webhook([{ status: 500 }, { status: 200 }]);
    const { calls, logger } = capture();
    expect(await notifyRunFailed(`${base}/hook`, run, { logger })).toBe(true);
    expect(received).toHaveLength(2);
    expect(received[1]?.body).toEqual(received[0]?.body);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[0]).toMatchObject({ webhook: base, attempt: 1, outcome: 'HTTP 500', retryInMs: 500 });
  });

  it('honours Retry-After on a 429', async () => {
    const { base, received } = await webhook([{ status: 429, headers: { 'retry-after': '1' } }, { status: 200 }]);
    const { calls, logger } = capture();
    const started = Date.now();
    expect(await notifyRunFailed(base, run, { logger })).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(received).toHaveLength(2);
    expect(calls[0]?.[0]).toMatchObject({ outcome: 'HTTP 429', retryInMs: 1000 });
  });

  it('does not retry a 4xx other than 429', async () => {
    const { base, received } = await webhook([{ status: 404 }]);
    const { calls, logger } = capture();
    expect(await notifyRunFailed(base, run, { logger })).toBe(false);
    expect(received).toHaveLength(1);
    expect(calls[0]?.[0]).toMatchObject({ status: 404 });
  });

  it('gives up after 3 attempts and never logs the secret part of the URL', async () => {
    const secret = 'T0SECRET/B0SECRET/xoxb-SECRET-token';
    const { base, received } = await webhook([{ status: 503 }]);
    const { calls, logger } = capture();
    expect(await notifyRunFailed(`${base}/services/${secret}?token=SECRET`, run, { logger })).toBe(false);
    expect(received).toHaveLength(3);

    // Unreachable (a closed port), so the failures are network errors.
    const closed = await webhook([]);
    await new Promise((resolve) => servers.pop()?.close(resolve));
    expect(await notifyRunFailed(`${closed.base}/services/${secret}`, run, { logger, timeoutMs: 2000 })).toBe(false);

    // Malformed and non-http URLs are refused without a request.
    expect(await notifyRunFailed(`http://exa mple.com/services/${secret}`, run, { logger })).toBe(false);
    expect(await notifyRunFailed(`ftp://user:SECRET@example.com/${secret}`, run, { logger })).toBe(false);

    const logged = JSON.stringify(calls);
    expect(calls.length).toBe(3 + 3 + 2); // per failed URL: 2 retries + giving up; 1 per malformed URL
    expect(logged).not.toContain('SECRET');
    expect(logged).not.toContain('/services');
    expect(logged).toContain(`"webhook":"${base}"`);
    expect(logged).toContain('ECONNREFUSED');
    expect(calls.at(-3)?.[1]).toMatch(/giving up/);
  });
});
