/**
 * GET /v1/events over real HTTP: a client receives each block as it is published and its
 * connection is cleaned up when it leaves; closing the app's streams ends them (and the real
 * service's close does not wait for them); the client cap, the keep-alive comment, 406 without
 * `Accept: text/event-stream`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { errorHandler } from '../../src/http/errors.js';
import { BlockEvents, eventRoutes } from '../../src/http/routes/explorer-events.js';
import { mountRoutes } from '../../src/http/route.js';
import { startService } from '../../src/server.js';
import { auth, json, postJson, problem, sha256Hex, startServer, type TestServer } from './helpers.js';

const SSE = { accept: 'text/event-stream' };

/** A reader of one event stream. */
function events(res: Response): { until(re: RegExp, timeoutMs?: number): Promise<string>; ended(timeoutMs?: number): Promise<void>; blocks(): Array<Record<string, string>>; text(): string } {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const read = async (timeoutMs: number) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no more from the stream within ${timeoutMs} ms; got ${JSON.stringify(text)}`)), timeoutMs)));
    try {
      return await Promise.race([reader.read(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    async until(re, timeoutMs = 5000) {
      while (!re.test(text)) {
        const { value, done } = await read(timeoutMs);
        if (done) throw new Error(`the stream ended; got ${JSON.stringify(text)}`);
        text += decoder.decode(value, { stream: true });
      }
      return text;
    },
    async ended(timeoutMs = 5000) {
      for (;;) {
        const { value, done } = await read(timeoutMs);
        if (done) return;
        text += decoder.decode(value, { stream: true });
      }
    },
    blocks() {
      return text
        .split('\n\n')
        .filter((e) => /^event: block$/m.test(e))
        .map((e) => {
          const id = /^id: (.*)$/m.exec(e)?.[1];
          const data = JSON.parse(/^data: (.*)$/m.exec(e)?.[1] ?? 'null') as Record<string, string>;
          expect(id).toBe(data.height);
          return data;
        });
    },
    text: () => text,
  };
}

async function clients(s: TestServer): Promise<number> {
  return (await json<{ events: { clients: number } }>(await fetch(`${s.url}/v1/admin/health`, { headers: auth(s.keys.admin) }))).events.clients;
}

describe('GET /v1/events', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.destroy());

  it('sends each newly published block, then cleans up when the client leaves', async () => {
    const ac = new AbortController();
    const res = await fetch(`${s.url}/v1/events`, { headers: SSE, signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    const stream = events(res);
    await stream.until(/: guzheng block events\n\n/);
    expect(await clients(s)).toBe(1);
    const a = await json<{ index: string }>(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('event 1') } }, s.keys.submit), 201);
    await stream.until(/event: block\n/);
    await json(await postJson(`${s.url}/v1/entries/batch?wait=receipt`, { entries: [1, 2, 3].map((i) => ({ type: 'record', record: { i } })) }, s.keys.submit), 201);
    await stream.until(/"size":"4"/);
    const got = stream.blocks();
    expect(got.length).toBeGreaterThanOrEqual(2);
    const first = got[0] as Record<string, string>;
    expect(Object.keys(first)).toEqual(['height', 'first', 'count', 'size', 'time', 'blockHash']);
    expect(first).toMatchObject({ first: a.index, count: '1', size: '1' });
    // Every event is the block as served.
    for (const b of got) {
      const served = await json<{ hash: string; time: string; first: string; count: string }>(await fetch(`${s.url}/v1/blocks/${b.height}`));
      expect(b).toEqual({ height: b.height, first: served.first, count: served.count, size: String(BigInt(served.first) + BigInt(served.count)), time: served.time, blockHash: served.hash });
    }
    ac.abort();
    await expect.poll(() => clients(s), { timeout: 5000 }).toBe(0);
  });

  it('answers 406 without Accept: text/event-stream, and headers only to HEAD', async () => {
    const p = await problem(await fetch(`${s.url}/v1/events`), 406);
    expect(p.field).toBe('Accept');
    await problem(await fetch(`${s.url}/v1/events`, { headers: { accept: 'application/json' } }), 406);
    const head = await fetch(`${s.url}/v1/events`, { method: 'HEAD', headers: SSE });
    expect([head.status, head.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
    expect(await clients(s)).toBe(0);
    await problem(await fetch(`${s.url}/v1/events?since=1`, { headers: SSE }), 400);
  });

  it('ends every stream when the app closes them, and refuses new ones', async () => {
    const t = await startServer();
    try {
      const streams = await Promise.all([1, 2].map(async () => events(await fetch(`${t.url}/v1/events`, { headers: SSE }))));
      for (const x of streams) await x.until(/guzheng block events/);
      t.app.closeStreams();
      for (const x of streams) await x.ended(2000);
      const p = await problem(await fetch(`${t.url}/v1/events`, { headers: SSE }), 503);
      expect(p.code).toBe('UNAVAILABLE');
    } finally {
      await t.destroy();
    }
  });
});

describe('the event feed', () => {
  it('refuses clients past its cap (503 OVERLOADED) and keeps idle streams open with a comment', async () => {
    const s = await startServer();
    const feed = new BlockEvents(s.ledger, { maxClients: 2, heartbeatMs: 40 });
    const app = express();
    mountRoutes(app, eventRoutes(feed), { store: s.store, limiter: undefined });
    app.use(errorHandler({ retryAfterSeconds: 1, storageRetryAfterSeconds: 5 }, () => {}));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events`;
    try {
      const a = events(await fetch(url, { headers: SSE }));
      const b = events(await fetch(url, { headers: SSE }));
      const third = await fetch(url, { headers: SSE });
      expect(third.status).toBe(503);
      expect(third.headers.get('retry-after')).toBe('10');
      expect(((await third.json()) as { code: string }).code).toBe('OVERLOADED');
      await a.until(/: keep-alive\n\n: keep-alive\n\n/, 2000);
      await b.until(/: keep-alive\n\n/, 2000);
      expect(feed.clients).toBe(2);
      feed.close();
      await a.ended();
      await b.ended();
      expect(feed.clients).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await s.destroy();
    }
  });

  it("does not hold up the real service's close, and the service shows its public URL", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guzheng-events-'));
    try {
      const config = { ...loadConfig({ GUZHENG_PUBLIC_URL: 'https://evidence.example.gov.cn/' }), dataDir: join(dir, 'data'), port: 0, host: '127.0.0.1', hj212Port: undefined, adminKey: undefined, checkpointIntervalMs: 20 };
      const service = await startService(config, () => {});
      expect((await json<{ publicUrl?: string }>(await fetch(`${service.url}/v1/log`))).publicUrl).toBe('https://evidence.example.gov.cn');
      const stream = events(await fetch(`${service.url}/v1/events`, { headers: SSE }));
      await stream.until(/guzheng block events/);
      const t0 = performance.now();
      await service.close();
      // Without ending the streams, the close would wait for the server's 10 s cut-off.
      expect(performance.now() - t0).toBeLessThan(5000);
      await stream.ended(2000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
