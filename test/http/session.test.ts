/**
 * People's sessions over real HTTP (docs/console-api.md#people-sessions-and-csrf): sign-in and its
 * cookie, the forced password change, CSRF, bearer keys beside cookies, sign-out, disabled
 * accounts, the submitter of entries anchored in a session, and the sign-in throttle.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createUser } from '../../src/auth/users.js';
import { newUser, signIn } from '../auth/http-session.js';
import { auth, json, postJson, problem, sha256Hex, startServer, type TestServer } from './helpers.js';

// Each sign-in and password change is a real scrypt (64 MiB, ~0.2 s): slow on a busy machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.destroy());

const entry = (tag: string) => ({ type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(tag) } });
const size = () => s.ledger.sequencer.size;
const signInRaw = (username: string, password: string, headers: Record<string, string> = {}) =>
  fetch(`${s.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ username, password }) });

describe('sign-in', () => {
  it('answers {user, csrfToken} and sets an HttpOnly, SameSite=Strict, Path=/ cookie (no Secure over plain HTTP)', async () => {
    const made = await createUser(s.store, 'amy', 'submit');
    const res = await signInRaw('amy', made!.password);
    const body = await json(res.clone());
    expect(body).toEqual({ user: { name: 'amy', role: 'submit', mustChangePassword: true, createdAt: made!.user.createdAt }, csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(res.headers.get('cache-control')).toBe('no-store');
    const cookies = res.headers.getSetCookie();
    expect(cookies).toHaveLength(1);
    const attrs = (cookies[0] as string).split(';').map((a) => a.trim());
    expect(attrs[0]).toMatch(/^guzheng_session=[A-Za-z0-9_-]{43}$/);
    expect(attrs.slice(1).sort()).toEqual(['HttpOnly', 'Path=/', 'SameSite=Strict']);
    expect(JSON.stringify(body)).not.toContain((attrs[0] as string).split('=')[1]);
  });

  it('marks the cookie Secure when the request came over TLS (req.secure)', async () => {
    // Behind a TLS-terminating proxy express trusts: X-Forwarded-Proto makes req.secure true.
    s.app.set('trust proxy', 'loopback');
    try {
      const made = await createUser(s.store, 'tls-user', 'audit');
      const res = await signInRaw('tls-user', made!.password, { 'x-forwarded-proto': 'https' });
      expect(res.status).toBe(200);
      expect(res.headers.getSetCookie()[0]).toMatch(/; Secure$/);
    } finally {
      s.app.set('trust proxy', false);
    }
  });

  it('gives one answer for an unknown user, a wrong password and a disabled account', async () => {
    const pw = await newUser(s.url, s.store, 'ben', 'submit');
    const unknown = await problem(await signInRaw('nobody-here', 'whatever-password'), 401);
    const wrong = await problem(await signInRaw('ben', 'wrong-password!'), 401);
    expect(unknown).toEqual(wrong);
    expect(wrong).toMatchObject({ code: 'LOGIN_FAILED', type: '/problems/login-failed' });
    // The name is case-insensitive (names are lowercase); a malformed body is a 400.
    expect((await signInRaw('BEN', pw)).status).toBe(200);
    await problem(await fetch(`${s.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"ben"}' }), 400);
  });

  it('GET /v1/session: 401 without a session, also with an API key; the user and token with one', async () => {
    expect(await problem(await fetch(`${s.url}/v1/session`), 401)).toMatchObject({ code: 'UNAUTHORIZED' });
    await problem(await fetch(`${s.url}/v1/session`, { headers: auth(s.keys.admin) }), 401);
    await problem(await fetch(`${s.url}/v1/session`, { headers: { cookie: `guzheng_session=${'A'.repeat(43)}` } }), 401);
    const pw = await newUser(s.url, s.store, 'cat', 'audit');
    const b = await signIn(s.url, 'cat', pw);
    expect(await json(await b.fetch('/v1/session'))).toEqual({ user: expect.objectContaining({ name: 'cat', role: 'audit', mustChangePassword: false }), csrfToken: b.csrfToken });
  });
});

describe('forced password change', () => {
  it('403 PASSWORD_CHANGE_REQUIRED everywhere but the session routes, until changed; then the role applies', async () => {
    const made = await createUser(s.store, 'dan', 'audit');
    const b = await signIn(s.url, 'dan', made!.password);
    await json(await postJson(`${s.url}/v1/entries`, entry('for dan'), s.keys.submit), 201);
    for (const path of ['/v1/entries/0', '/v1/entries?limit=1', '/v1/receipts/0', '/tile/entries/000.p/1']) {
      expect(await problem(await b.fetch(path), 403), path).toMatchObject({ code: 'PASSWORD_CHANGE_REQUIRED', type: '/problems/password-change-required' });
    }
    expect((await b.fetch('/v1/session')).status).toBe(200);
    // Weak: too short, the user name, the one-time password again.
    for (const next of ['short', 'dan', made!.password]) {
      expect(await problem(await b.fetch('/v1/session/password', { method: 'POST', json: { current: made!.password, next } }), 400), next).toMatchObject({ code: 'PASSWORD_WEAK', field: 'next' });
    }
    expect(await problem(await b.fetch('/v1/session/password', { method: 'POST', json: { current: 'not the password', next: 'dan-new-password' } }), 401)).toMatchObject({ code: 'LOGIN_FAILED' });
    // Another session of dan's ends with the change; this one stays.
    const other = await signIn(s.url, 'dan', made!.password);
    expect((await b.fetch('/v1/session/password', { method: 'POST', json: { current: made!.password, next: 'dan-new-password' } })).status).toBe(204);
    expect((await other.fetch('/v1/session')).status).toBe(401);
    expect(await json(await b.fetch('/v1/session'))).toMatchObject({ user: { mustChangePassword: false } });
    expect((await b.fetch('/v1/entries/0')).status).toBe(200);
    expect(await problem(await b.fetch('/v1/entries', { method: 'POST', json: entry('audit cannot') }), 403)).toMatchObject({ code: 'FORBIDDEN' });
    await problem(await signInRaw('dan', made!.password), 401);
    expect((await signInRaw('dan', 'dan-new-password')).status).toBe(200);
  });
});

describe('CSRF', () => {
  it('refuses a state change without the token, with a wrong one, from a foreign origin or a cross-site fetch; nothing is written', async () => {
    const pw = await newUser(s.url, s.store, 'eve', 'submit');
    const b = await signIn(s.url, 'eve', pw);
    const before = size();
    const cases: Array<[string, RequestInit & { csrf?: boolean }]> = [
      ['no token', { csrf: false }],
      ['wrong token', { headers: { 'x-csrf-token': b.csrfToken.slice(0, -1) + (b.csrfToken.endsWith('A') ? 'B' : 'A') } }],
      ['empty token', { headers: { 'x-csrf-token': '' } }],
      ['foreign origin', { headers: { origin: 'https://evil.example' } }],
      ['null origin', { headers: { origin: 'null' } }],
      ['other port', { headers: { origin: s.url.replace(/:\d+$/, ':1') } }],
      ['cross-site fetch', { headers: { 'sec-fetch-site': 'cross-site' } }],
    ];
    for (const [what, init] of cases) {
      const res = await b.fetch('/v1/entries', { method: 'POST', json: entry(`csrf ${what}`), ...init });
      expect(await problem(res, 403), what).toMatchObject({ code: 'CSRF_REJECTED', type: '/problems/csrf-rejected' });
    }
    // Sign-out and password change are state changes too.
    await problem(await b.fetch('/v1/session', { method: 'DELETE', csrf: false }), 403);
    await problem(await b.fetch('/v1/session/password', { method: 'POST', csrf: false, json: { current: pw, next: 'eve-other-password' } }), 403);
    expect(size()).toBe(before);
    // Reads need no token.
    expect((await b.fetch('/v1/session', { csrf: false })).status).toBe(200);
  });

  it('accepts the token from the same origin, with no Origin, or same-origin fetch metadata; the entry names the user', async () => {
    const pw = await newUser(s.url, s.store, 'fay', 'submit');
    const b = await signIn(s.url, 'fay', pw);
    const a = await json(await b.fetch('/v1/entries', { method: 'POST', json: entry('fay 1') }), 201);
    expect(a.entry.submitter).toBe('user:fay');
    const c = await json(await b.fetch('/v1/entries/batch', { method: 'POST', json: { entries: [entry('fay 2')] }, headers: { 'sec-fetch-site': 'same-origin' } }), 201);
    expect(c.results[0].entry.submitter).toBe('user:fay');
    const d = await json(await fetch(`${s.url}/v1/documents?name=f.txt&mediaType=text/plain`, { method: 'POST', headers: { cookie: b.cookie, 'x-csrf-token': b.csrfToken }, body: 'fay doc' }), 201);
    expect(d.entry.submitter).toBe('user:fay');
  });

  it('a bearer key wins over the cookie: no CSRF check, the key is the submitter and its role applies', async () => {
    const pw = await newUser(s.url, s.store, 'gus', 'audit');
    const b = await signIn(s.url, 'gus', pw);
    const a = await json(await b.fetch('/v1/entries', { method: 'POST', csrf: false, json: entry('bearer wins'), headers: { ...auth(s.keys.submit), origin: 'https://evil.example' } }), 201);
    expect(a.entry.submitter).toBe(s.keyIds.submit);
    // A bad bearer key is refused even beside a good cookie.
    await problem(await b.fetch('/v1/entries/0', { headers: auth(`gzk_${'B'.repeat(43)}`) }), 401);
  });
});

describe('sign-out and revocation', () => {
  it('DELETE /v1/session ends the session and clears the cookie', async () => {
    const pw = await newUser(s.url, s.store, 'hal', 'audit');
    const b = await signIn(s.url, 'hal', pw);
    const keep = await signIn(s.url, 'hal', pw);
    const res = await b.fetch('/v1/session', { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(res.headers.getSetCookie()[0]).toMatch(/^guzheng_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
    await problem(await b.fetch('/v1/session'), 401);
    await problem(await b.fetch('/v1/entries/0'), 401);
    expect((await keep.fetch('/v1/entries/0')).status).toBe(200);
  });

  it("a disabled user's session stops working at the next request, and signing in fails", async () => {
    const pw = await newUser(s.url, s.store, 'ivy', 'submit');
    const b = await signIn(s.url, 'ivy', pw);
    expect((await b.fetch('/v1/entries', { method: 'POST', json: entry('ivy before') })).status).toBe(201);
    expect((await fetch(`${s.url}/v1/users/ivy/disable`, { method: 'POST', headers: auth(s.keys.admin) })).status).toBe(204);
    await problem(await b.fetch('/v1/entries', { method: 'POST', json: entry('ivy after') }), 401);
    await problem(await b.fetch('/v1/session'), 401);
    expect(await problem(await signInRaw('ivy', pw), 401)).toMatchObject({ code: 'LOGIN_FAILED' });
  });
});

describe('throttle', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterAll(() => t.destroy());

  it('5 failures, then 429 LOGIN_THROTTLED with Retry-After, even for the right password; recorded in the trail', async () => {
    const pw = await newUser(t.url, t.store, 'jay', 'submit');
    const attempt = (password: string) => fetch(`${t.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'jay', password }) });
    for (let i = 0; i < 5; i++) expect((await problem(await attempt(`wrong password ${i}`), 401)).code).toBe('LOGIN_FAILED');
    const refused = await attempt(pw);
    expect(await problem(refused, 429)).toMatchObject({ code: 'LOGIN_THROTTLED', type: '/problems/login-throttled' });
    expect(refused.headers.get('retry-after')).toBe('1');
    const trail = await json(await fetch(`${t.url}/v1/admin/trail`, { headers: auth(t.keys.admin) }));
    expect(trail.events[0]).toMatchObject({ action: 'sign-in.throttled', actor: 'ip:127.0.0.1', target: 'user:jay', detail: 'the name locked for 1 s' });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await attempt(pw)).status).toBe(200);
  });

  it('throttles a client address after 20 failures, whatever names it tries', async () => {
    const attempt = (username: string) => fetch(`${t.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: 'spray-password' }) });
    // 5 failures of the test above came from this address already.
    for (let i = 5; i < 20; i++) await problem(await attempt(`spray${i}`), 401);
    const refused = await attempt('fresh-name');
    expect(await problem(refused, 429)).toMatchObject({ code: 'LOGIN_THROTTLED' });
    expect(refused.headers.get('retry-after')).toBe('1');
    const trail = await json(await fetch(`${t.url}/v1/admin/trail?limit=1`, { headers: auth(t.keys.admin) }));
    expect(trail.events[0]).toMatchObject({ action: 'sign-in.throttled', target: 'user:spray19', detail: 'the address locked for 1 s' });
  });
});

describe('OpenAPI', () => {
  it('documents the session scheme beside bearer keys', async () => {
    const doc = await json(await fetch(`${s.url}/openapi.json`));
    expect(doc.components.securitySchemes.session).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'guzheng_session' });
    expect(doc.paths['/v1/session'].post.security).toEqual([]);
    expect(doc.paths['/v1/session'].get.security).toEqual([{ session: [] }]);
    expect(doc.paths['/v1/session'].delete.security).toEqual([{ session: [] }]);
    expect(doc.paths['/v1/entries'].post.security).toEqual([{ bearer: [] }, { session: [] }]);
    expect(doc.paths['/v1/users'].post['x-roles']).toEqual(['admin']);
    expect(doc.paths['/v1/session'].get['x-roles']).toBeUndefined();
  });
});
