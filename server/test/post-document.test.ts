/**
 * One delivery request (postDocument) against endpoints on loopback that answer, never answer,
 * or answer too slowly: the time-out covers the whole answer, its body included.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postDocument, sign } from '../src/uplinks/post-document.js';

describe('postDocument', () => {
  let server: http.Server;
  let url: string;
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        if (req.url === '/ok') res.end('thanks');
        else if (req.url === '/refuse') res.writeHead(422).end('no such device');
        else if (req.url === '/trickle' || req.url === '/trickle-refusal') {
          // Headers at once, then a byte every 100 ms, forever.
          res.writeHead(req.url === '/trickle' ? 200 : 503);
          const timer = setInterval(() => res.write('.'), 100);
          res.on('close', () => clearInterval(timer));
        }
        // '/silent': no answer at all
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('posts the body with its signature and idempotency key', async () => {
    const body = JSON.stringify({ hello: 'world' });
    const outcome = await postDocument(`${url}/ok`, body, 'message-1', 'secret', 1_000);
    expect(outcome).toMatchObject({ ok: true, status: 200, error: null });
    const got = received.at(-1)!;
    expect(got.body).toBe(body);
    expect(got.headers['idempotency-key']).toBe('message-1');
    expect(got.headers['x-lpwan-signature']).toBe(sign('secret', body));
  });

  it("reports a refusal with the endpoint's status and words", async () => {
    const outcome = await postDocument(`${url}/refuse`, '{}', 'message-2', null, 1_000);
    expect(outcome).toMatchObject({
      ok: false,
      status: 422,
      error: 'The reporting URL answered 422: no such device',
      endpointFailure: false,
    });
    expect(received.at(-1)!.headers['x-lpwan-signature']).toBeUndefined();
  });

  it('counts a 2xx whose body does not end as delivered, within the time-out', async () => {
    const outcome = await postDocument(`${url}/trickle`, '{}', 'message-4', null, 500);
    expect(outcome).toMatchObject({ ok: true, status: 200, error: null });
    // Not started again by every chunk of the trickling body.
    expect(outcome.durationMs).toBeGreaterThanOrEqual(450);
    expect(outcome.durationMs).toBeLessThan(2_000);
  });

  it.each(['silent', 'trickle-refusal'])(
    'times out an endpoint whose answer does not end (%s)',
    async (path) => {
      const outcome = await postDocument(`${url}/${path}`, '{}', 'message-3', null, 500);
      expect(outcome).toMatchObject({
        ok: false,
        status: null,
        error: 'The reporting URL did not answer within 0.5 s',
        endpointFailure: true,
      });
      // Within the time-out (undici's timer for the headers ticks every half second), not
      // started again by every chunk of a trickling body. A refusal's status is kept only with
      // its words, which never came.
      expect(outcome.durationMs).toBeGreaterThanOrEqual(450);
      expect(outcome.durationMs).toBeLessThan(2_000);
    },
  );

  it('reports an endpoint that cannot be reached', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const outcome = await postDocument(`http://127.0.0.1:${port}/`, '{}', 'message-4', null, 500);
    expect(outcome).toMatchObject({ ok: false, status: null, endpointFailure: true });
    expect(outcome.error).toBe('The reporting URL cannot be reached (ECONNREFUSED)');
  });
});
