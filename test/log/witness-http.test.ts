/**
 * The witness client's HTTP exchange (src/log/witness-http.ts) against a loopback server that
 * answers as each test says: a whole answer over a kept-alive connection, an overlong answer
 * (kept up to MAX_ANSWER), silence (the deadline), a connection cut mid-answer, a redirect (not
 * followed), and a URL that cannot be posted to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_ANSWER, parseRetryAfter, postCheckpoint } from '../../src/log/witness-http.js';

let server: Server;
let base: string;
const received: Array<{ path: string; body: string; type: string | undefined; socket: number }> = [];
const sockets = new WeakMap<object, number>();
let nextSocket = 0;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, nextSocket++);
      received.push({ path: req.url ?? '', body, type: req.headers['content-type'], socket: sockets.get(req.socket)! });
      if (req.url === '/ok/add-checkpoint') return res.writeHead(200, { 'content-type': 'text/plain' }).end('— w AAAA\n');
      if (req.url === '/conflict/add-checkpoint') return res.writeHead(409, { 'content-type': 'text/x.tlog.size' }).end('12\n');
      if (req.url === '/long/add-checkpoint') return res.writeHead(200).end('x'.repeat(MAX_ANSWER * 3));
      if (req.url === '/cut/add-checkpoint') {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial');
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      if (req.url === '/limited/add-checkpoint') return res.writeHead(429, { 'retry-after': '2' }).end('too many requests from this address\n');
      if (req.url === '/moved/add-checkpoint') return res.writeHead(302, { location: '/ok/add-checkpoint' }).end();
      // /silent: never answers.
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('postCheckpoint', () => {
  it('posts the body as text and returns the status and answer, reusing the connection', async () => {
    const body = 'old 0\n\nguzheng.test/log\n1\nabc=\n\n— guzheng.test/log AAAA\n';
    const a = await postCheckpoint(`${base}/ok/add-checkpoint`, body, 2000);
    expect(a).toEqual({ status: 200, text: '— w AAAA\n' });
    const b = await postCheckpoint(`${base}/conflict/add-checkpoint`, body, 2000);
    expect(b).toEqual({ status: 409, text: '12\n' });
    const [r1, r2] = received.slice(-2);
    expect(r1).toMatchObject({ path: '/ok/add-checkpoint', body, type: 'text/plain; charset=utf-8' });
    expect(r2!.socket).toBe(r1!.socket);
  });

  it('reads the delay of a 429 (Retry-After in seconds; a date form is not taken)', async () => {
    expect(await postCheckpoint(`${base}/limited/add-checkpoint`, 'x', 2000)).toEqual({ status: 429, text: 'too many requests from this address\n', retryAfter: 2 });
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT')).toBeUndefined();
    expect(parseRetryAfter(' 7 ')).toBe(7);
    expect(parseRetryAfter('-1')).toBeUndefined();
  });

  it('keeps at most MAX_ANSWER bytes of an overlong answer', async () => {
    const a = await postCheckpoint(`${base}/long/add-checkpoint`, 'x', 5000);
    expect(a.status).toBe(200);
    expect(a.text.length).toBe(MAX_ANSWER);
  });

  it('rejects when no answer comes within the deadline, and when the answer is cut short', async () => {
    const t0 = Date.now();
    await expect(postCheckpoint(`${base}/silent/add-checkpoint`, 'x', 300)).rejects.toThrow(/no answer within 300 ms/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    await expect(postCheckpoint(`${base}/cut/add-checkpoint`, 'x', 5000)).rejects.toThrow(/cut short|aborted|socket hang up/);
  });

  it('does not follow a redirect, and refuses what it cannot post to', async () => {
    expect((await postCheckpoint(`${base}/moved/add-checkpoint`, 'x', 2000)).status).toBe(302);
    await expect(postCheckpoint('ftp://127.0.0.1/add-checkpoint', 'x', 2000)).rejects.toThrow(/unsupported scheme/);
    await expect(postCheckpoint('not a url', 'x', 2000)).rejects.toThrow(/not a URL/);
    await expect(postCheckpoint('http://127.0.0.1:9/add-checkpoint', 'x', 2000)).rejects.toThrow();
  });
});
