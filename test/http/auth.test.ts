import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/auth/api-keys.js';
import { auth, json, postJson, problem, sha256Hex, startServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.destroy());

const entry = (tag: string) => ({ type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(tag) } });
const size = () => s.ledger.sequencer.size;

describe('authentication', () => {
  it('401 with WWW-Authenticate: Bearer for a missing, malformed, unknown or revoked key; nothing written', async () => {
    const before = size();
    const revoked = await createApiKey(s.store, 'submit');
    expect((await postJson(`${s.url}/v1/entries`, entry('ok'), revoked.secret)).status).toBe(201);
    await revokeApiKey(s.store, revoked.record.id);
    const unknown = `gzk_${'A'.repeat(43)}`;
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'Bearer realm="guzheng"'],
      [{ Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, 'Bearer realm="guzheng", error="invalid_request"'],
      [{ Authorization: 'Bearer' }, 'Bearer realm="guzheng", error="invalid_request"'],
      [auth('not-a-key'), 'Bearer realm="guzheng", error="invalid_token"'],
      [auth(unknown), 'Bearer realm="guzheng", error="invalid_token"'],
      [auth(revoked.secret), 'Bearer realm="guzheng", error="invalid_token"'],
    ];
    for (const [headers, challenge] of cases) {
      const res = await fetch(`${s.url}/v1/entries`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(entry('nope')) });
      expect(res.headers.get('www-authenticate'), JSON.stringify(headers)).toBe(challenge);
      expect(await problem(res, 401)).toMatchObject({ code: 'UNAUTHORIZED', type: '/problems/unauthorized' });
    }
    expect(size()).toBe(before + 1n);
  });

  it('accepts the scheme name in any case', async () => {
    const res = await fetch(`${s.url}/v1/entries/0`, { headers: { Authorization: `bearer ${s.keys.audit}` } });
    expect(res.status).toBe(200);
  });

  it('403 for a key without the role; admin may do everything', async () => {
    const before = size();
    const p = await problem(await postJson(`${s.url}/v1/entries`, entry('audit'), s.keys.audit), 403);
    expect(p).toMatchObject({ code: 'FORBIDDEN', detail: expect.stringContaining('needs submit') });
    await problem(await postJson(`${s.url}/v1/entries/batch`, { entries: [entry('audit')] }, s.keys.audit), 403);
    await problem(await fetch(`${s.url}/v1/documents?name=a&mediaType=text/plain`, { method: 'POST', headers: auth(s.keys.audit), body: 'x' }), 403);
    await problem(await fetch(`${s.url}/v1/entries/0`, { headers: auth(s.keys.submit) }), 403);
    await problem(await fetch(`${s.url}/v1/entries`, { headers: auth(s.keys.submit) }), 403);
    expect(size()).toBe(before);
    const a = await json(await postJson(`${s.url}/v1/entries`, entry('admin'), s.keys.admin), 201);
    expect(a.entry.submitter).toBe(s.keyIds.admin);
    await json(await fetch(`${s.url}/v1/entries/${a.index}`, { headers: auth(s.keys.admin) }));
    await json(await fetch(`${s.url}/v1/receipts/${a.index}`, { headers: auth(s.keys.admin) }));
  });

  it('public routes need no key and ignore a bad one', async () => {
    for (const path of ['/checkpoint', '/v1/log', '/v1/blocks', '/v1/blocks/0', `/v1/lookup/sha256/${'a'.repeat(64)}`, '/v1/proof/inclusion?index=0', '/v1/proof/consistency?from=0', '/healthz', '/metrics', '/openapi.json']) {
      expect((await fetch(`${s.url}${path}`)).status, path).toBe(200);
      expect((await fetch(`${s.url}${path}`, { headers: auth('garbage') })).status, path).toBe(200);
    }
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After once a key has used its burst, per key', async () => {
    let now = 0;
    const r = await startServer({ config: { rateLimitPerKey: 1, rateLimitBurst: 2 }, deps: { now: () => now } });
    try {
      const get = (key: string) => fetch(`${r.url}/v1/receipts/0`, { headers: auth(key) });
      await json(await postJson(`${r.url}/v1/entries?wait=receipt`, entry('x'), r.keys.submit), 201);
      expect((await get(r.keys.submit)).status).toBe(200);
      const res = await get(r.keys.submit);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await problem(res, 429)).toMatchObject({ code: 'RATE_LIMITED' });
      expect((await get(r.keys.audit)).status).toBe(200);
      now += 1000;
      expect((await get(r.keys.submit)).status).toBe(200);
      expect((await get(r.keys.submit)).status).toBe(429);
    } finally {
      await r.destroy();
    }
  });
});
