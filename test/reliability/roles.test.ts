/**
 * Roles and secrets, against the real service (`guzheng serve`, a child process):
 *
 * - every route of the app's route table (and the tile routes beside it) × {no key, malformed
 *   key, unknown key, revoked key, submit, audit, admin, and a signed-in submit, audit and admin
 *   user} answers exactly the documented access: the route spec's `access` field, which must also
 *   be what docs/api.md's route table (or, for the console's routes, docs/console-api.md's) says;
 *   401 (with `WWW-Authenticate`) without a valid key or session, 403 for a caller without the
 *   role, the route's own answer otherwise; public routes ignore keys; session routes take only a
 *   session;
 * - no secret (API keys, the log's signing key) appears in any response body or header, in
 *   /metrics, or in what the server prints; API keys are stored only as hashes (the LevelDB files
 *   hold no secret), compared by hash in constant time; key files are 0600 and the data
 *   directory 0700.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, hashSecret, revokeApiKey, type Role } from '../../src/auth/api-keys.js';
import { createUser } from '../../src/auth/users.js';
import { createApp } from '../../src/http/app.js';
import type { Access, Route } from '../../src/http/route.js';
import { LevelStore } from '../../src/storage/level.js';
import { MemoryStore } from '../../src/storage/memory.js';
import { Ledger } from '../../src/log/ledger.js';
import { ensureAdminKey, loadOrCreateLogKey, removeStaleTemporaries } from '../../src/setup.js';
import { TEST_LOG, sha256Hex } from '../http/helpers.js';
import { BIN, ROOT, newSecret, spawnServer, type ChildServer } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'guzheng-roles-'));
const data = join(dir, 'data');
const secrets: Record<'submit' | 'audit' | 'revoked', string> = { submit: '', audit: '', revoked: '' };
let admin = '';
let s: ChildServer;
/** Every response seen: status line, headers and body, to search for secrets. */
const seen: string[] = [];
let document = '';
/** The app's route table (what /openapi.json describes), read from an app over a memory store. */
let routeTable: readonly Route[] = [];

const CALLERS = ['none', 'malformed', 'unknown', 'revoked', 'submit', 'audit', 'admin', 'user-submit', 'user-audit', 'user-admin'] as const;
type Caller = (typeof CALLERS)[number];
type UserCaller = Extract<Caller, `user-${string}`>;

/** A signed-in user of the matrix: its password in force, the session cookie and CSRF token. */
interface Person {
  password: string;
  cookie: string;
  csrfToken: string;
}
const people = {} as Record<UserCaller, Person>;
/** One-time passwords of the accounts made before the start: the sign-in route's caller and the admin routes' target. */
const oneTime: Record<'matrix-signin' | 'matrix-target', string> = { 'matrix-signin': '', 'matrix-target': '' };
/** A key the revoke route revokes. */
let revocable = '';
/** Session ids seen (they must not be in the LevelDB files). */
const sessionIds: string[] = [];
let created = 0;

function isUser(caller: Caller): caller is UserCaller {
  return caller.startsWith('user-');
}

async function signIn(name: string, password: string): Promise<{ cookie: string; csrfToken: string }> {
  const res = await fetch(`${s.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: name, password }) });
  const body = (await res.json()) as { csrfToken: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  const cookie = (res.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
  sessionIds.push(cookie.split('=')[1] as string);
  return { cookie, csrfToken: body.csrfToken };
}

/** A signed-in browser's headers: the cookie, the CSRF token and the page's own Origin. */
function sessionHeaders(p: { cookie: string; csrfToken: string }): Record<string, string> {
  return { cookie: p.cookie, 'x-csrf-token': p.csrfToken, origin: s.url };
}

function header(caller: Caller): Record<string, string> {
  if (isUser(caller)) return sessionHeaders(people[caller]);
  switch (caller) {
    case 'none':
      return {};
    case 'malformed':
      return { authorization: 'Token abc' };
    case 'unknown':
      return { authorization: `Bearer ${newSecret()}` };
    case 'revoked':
      return { authorization: `Bearer ${secrets.revoked}` };
    case 'admin':
      return { authorization: `Bearer ${admin}` };
    default:
      return { authorization: `Bearer ${secrets[caller]}` };
  }
}

/** A request each route answers with success given the right key (the data it needs is set up below). */
function requestOf(method: string, path: string): { path: string; init: RequestInit } {
  const concrete = path
    .replace('{index}', '0')
    .replace('{height}', '0')
    .replace('{caseId}', 'CASE-R')
    .replace('{alg}', 'sha256')
    .replace('{hex}', sha256Hex('role-doc'))
    .replace('{mn}', '88888880000001')
    .replace('{name}', 'matrix-target')
    .replace('{file}', 'app.css');
  const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  switch (path) {
    case '/v1/entries':
      return method === 'post' ? { path: concrete, init: json({ type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(`r${Math.random()}`) } }) } : { path: `${concrete}?limit=2`, init: {} };
    case '/v1/entries/batch':
      return { path: concrete, init: json({ entries: [{ type: 'record', record: { r: 1 } }] }) };
    case '/v1/documents':
      return { path: `${concrete}?name=r.txt&mediaType=text/plain`, init: { method: 'POST', body: 'role test' } };
    case '/v1/proof/inclusion':
      return { path: `${concrete}?index=0`, init: {} };
    case '/v1/proof/consistency':
      return { path: `${concrete}?from=0`, init: {} };
    case '/v1/search':
      return { path: `${concrete}?q=0`, init: {} };
    case '/v1/verify':
      return { path: concrete, init: json({ receipt: document }) };
    case '/v1/session':
      return { path: concrete, init: method === 'post' ? json({ username: 'matrix-signin', password: oneTime['matrix-signin'] }) : {} };
    case '/v1/users':
      return { path: concrete, init: method === 'post' ? json({ name: `matrix-${++created}`, role: 'audit' }) : {} };
    case '/v1/keys':
      return { path: concrete, init: method === 'post' ? json({ role: 'audit', label: 'roles-matrix' }) : {} };
    case '/v1/keys/{id}/revoke':
      return { path: path.replace('{id}', revocable), init: {} };
    default:
      return { path: concrete, init: {} };
  }
}

/** The tile routes live beside the route table (src/http/tiles.ts). */
const TILES: Array<{ method: 'get'; path: string; access: Access; sample: string }> = [
  { method: 'get', path: '/tile/{L}/{N}', access: 'public', sample: '/tile/0/000.p/1' },
  { method: 'get', path: '/tile/entries/{N}', access: ['audit'], sample: '/tile/entries/000.p/1' },
];

/** Success statuses per route for a permitted caller (the PDF certificate has no Chromium here: 503 UNAVAILABLE, after the key check). */
function okStatuses(path: string, method: string): number[] {
  if (path.endsWith('certificate.pdf')) return [503];
  // The event stream answers only Accept: text/event-stream (test/http/explorer-events.test.ts); fetch sends */*.
  if (path === '/v1/events') return [406];
  if (method === 'delete' || path === '/v1/session/password' || /\/(disable|enable|revoke)$/.test(path)) return [204];
  if (path === '/v1/session' || path.endsWith('/reset-password')) return [200];
  if (method === 'post' && path !== '/v1/verify') return [201];
  return [200];
}

beforeAll(async () => {
  const store = new MemoryStore();
  const ledger = await Ledger.open({ store, signerKey: TEST_LOG.signerKey });
  routeTable = createApp({ ledger, store, config: {}, log: () => {} }).routes;
  await ledger.close();
});

beforeAll(async () => {
  // Keys are made before the first start: the audit key with `guzheng keys create` (which creates
  // the data directory), the others on the stopped store; the admin key is the one the first
  // start generates into data/admin-api-key.
  const cli = spawnSync(process.execPath, ['--import', 'tsx', BIN, 'keys', 'create', '--role', 'audit', '--data', data], { cwd: ROOT, encoding: 'utf8' });
  expect(cli.status, cli.stderr).toBe(0);
  secrets.audit = cli.stdout.trim();
  const store = await LevelStore.open(join(data, 'ledger'));
  secrets.submit = (await createApiKey(store, 'submit')).secret;
  const r = await createApiKey(store, 'submit', { label: 'revoked' });
  secrets.revoked = r.secret;
  await revokeApiKey(store, r.record.id);
  revocable = (await createApiKey(store, 'audit', { label: 'roles-matrix-revoke' })).record.id;
  // People: one per role (signed in below, their one-time passwords changed), one to sign in as, one for the admin routes to act on.
  const first: Partial<Record<UserCaller, string>> = {};
  for (const caller of ['user-submit', 'user-audit', 'user-admin'] as const) first[caller] = (await createUser(store, `matrix-${caller.slice(5)}`, caller.slice(5) as Role))!.password;
  for (const name of ['matrix-signin', 'matrix-target'] as const) oneTime[name] = (await createUser(store, name, 'submit'))!.password;
  await store.close();
  s = await spawnServer(data, { GUZHENG_CHROMIUM: join(dir, 'no-chromium'), GUZHENG_CHECKPOINT_INTERVAL_MS: '10' });
  for (const caller of ['user-submit', 'user-audit', 'user-admin'] as const) {
    const once = first[caller] as string;
    const session = await signIn(`matrix-${caller.slice(5)}`, once);
    const password = `${caller}-chosen-password`;
    const res = await fetch(`${s.url}/v1/session/password`, { method: 'POST', headers: { 'content-type': 'application/json', ...sessionHeaders(session) }, body: JSON.stringify({ current: once, next: password }) });
    expect(res.status, await res.text()).toBe(204);
    people[caller] = { password, ...session };
  }
  admin = readFileSync(join(data, 'admin-api-key'), 'utf8').trim();
  // Data the routes need: a document in a case (entry 0), its receipt for POST /v1/verify.
  const res = await fetch(`${s.url}/v1/documents?name=doc.txt&mediaType=text/plain&caseId=CASE-R&wait=receipt`, { method: 'POST', headers: { authorization: `Bearer ${admin}` }, body: 'role-doc' });
  expect(res.status).toBe(201);
  document = JSON.stringify(((await res.json()) as { receipt: unknown }).receipt);
}, 60_000);

afterAll(async () => {
  s?.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function call(path: string, init: RequestInit, caller: Caller): Promise<Response> {
  const res = await fetch(s.url + path, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...header(caller) } });
  const body = await res.clone().text();
  seen.push(`${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${body}`);
  return res;
}

function permits(access: Access, caller: Caller): boolean | undefined {
  if (access === 'public') return undefined;
  if (access === 'session') return isUser(caller);
  const role = isUser(caller) ? (caller.slice(5) as Role) : caller;
  if (role === 'admin') return true;
  if (role === 'submit' || role === 'audit') return access.includes(role);
  return false;
}

/**
 * The request of a session caller on a session route: signing out ends a fresh session (the
 * caller's own one stays for the other routes), and a password change moves to a new password.
 */
async function sessionRouteRequest(method: string, path: string, caller: UserCaller): Promise<{ init: RequestInit; headers: Record<string, string> }> {
  const p = people[caller];
  if (method === 'delete') return { init: {}, headers: sessionHeaders(await signIn(`matrix-${caller.slice(5)}`, p.password)) };
  if (path === '/v1/session/password') {
    const next = `${p.password}!`;
    const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ current: p.password, next }) };
    p.password = next;
    return { init, headers: sessionHeaders(p) };
  }
  return { init: {}, headers: sessionHeaders(p) };
}

/**
 * consoleDocumented reads the route tables of docs/console-api.md: `| \`METHOD /path?query\` … |
 * access | … |`, where `session + CSRF` is `session` and `submit, audit` is `submit or audit`;
 * in the section "Admin (role admin)" every route is admin-only, and a row may name sibling routes
 * (`\`POST /v1/users/{name}/disable\` · \`/enable\``).
 */
function consoleDocumented(doc: string): Map<string, string> {
  const out = new Map<string, string>();
  let section = '';
  for (const line of doc.split('\n')) {
    if (line.startsWith('## ')) section = line;
    const m = /^\| `(GET|POST|DELETE) (\/[^`?\s]*)[^`]*`([^|]*)\|([^|]*)\|/.exec(line);
    if (m === null) continue;
    const [, method, path, rest, second] = m as unknown as [string, string, string, string, string];
    const access = section.includes('(role admin)') ? 'admin' : second.trim().replace(/^session \+ CSRF$/, 'session').replace(/, /g, ' or ');
    out.set(`${method} ${path}`, access);
    for (const sibling of rest.matchAll(/· `(\/[^`]+)`/g)) out.set(`${method} ${path.replace(/\/[^/]+$/, sibling[1] as string)}`, access);
  }
  return out;
}

describe('roles: every route × every caller', () => {
  it('answers exactly the documented access', async () => {
    const table: Array<{ method: string; path: string; access: Access; sample?: string }> = [...routeTable, ...TILES];
    const rows: string[] = [];
    let cells = 0;
    for (const route of table) {
      for (const caller of CALLERS) {
        let { path, init } = route.sample !== undefined ? { path: route.sample, init: {} as RequestInit } : requestOf(route.method, route.path);
        let res: Response;
        if (route.access === 'session' && isUser(caller)) {
          const r = await sessionRouteRequest(route.method, route.path, caller);
          init = r.init;
          res = await call(path, { ...init, method: route.method.toUpperCase(), headers: { ...(init.headers as Record<string, string> | undefined), ...r.headers } }, 'none');
        } else {
          res = await call(path, { ...init, method: route.method.toUpperCase() }, caller);
        }
        cells++;
        const allowed = permits(route.access, caller);
        const where = `${route.method.toUpperCase()} ${route.path} as ${caller}: ${res.status} ${seen.at(-1)?.slice(-300)}`;
        if (allowed === undefined || allowed) {
          expect(res.status, where).not.toBe(401);
          expect(res.status, where).not.toBe(403);
          if (route.sample === undefined) expect(okStatuses(route.path, route.method), where).toContain(res.status);
          else expect(res.status, where).toBeLessThan(500);
        } else if (route.access !== 'session' && (caller === 'submit' || caller === 'audit')) {
          expect(res.status, where).toBe(403);
          expect(res.headers.get('www-authenticate'), where).toBe('Bearer realm="guzheng", error="insufficient_scope"');
        } else if (isUser(caller)) {
          expect(res.status, where).toBe(403);
          expect(((await res.clone().json()) as { code: string }).code, where).toBe('FORBIDDEN');
        } else {
          expect(res.status, where).toBe(401);
          expect(res.headers.get('www-authenticate'), where).toMatch(/^Bearer realm="guzheng"/);
        }
        rows.push(`${route.method.toUpperCase()} ${route.path} ${caller} ${res.status}`);
      }
    }
    expect(cells).toBe(table.length * CALLERS.length);
    console.log(`roles: ${table.length} routes × ${CALLERS.length} callers = ${cells} checks`);
  }, 60_000);

  it("the route specs' access is what docs/api.md (the console's routes: docs/console-api.md) documents", () => {
    const doc = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
    const documented = new Map<string, string>();
    for (const m of doc.matchAll(/^\| (GET|POST) \| \[?`([^`]+)`\]?(?:\([^)]*\))? \| ([a-z ]+) \|/gm)) documented.set(`${m[1]} ${m[2]}`, m[3] as string);
    const consoleDoc = consoleDocumented(readFileSync(join(ROOT, 'docs', 'console-api.md'), 'utf8'));
    const table: Array<{ method: string; path: string; access: Access }> = [...routeTable, { method: 'get', path: '/tile/<L>/<N>[.p/<W>]', access: 'public' }, { method: 'get', path: '/tile/entries/<N>[.p/<W>]', access: ['audit'] }];
    const keys = new Set<string>();
    for (const r of table) {
      const key = `${r.method.toUpperCase()} ${r.path.replace('/{alg}/', '/sha256/')}`;
      keys.add(key);
      const want = r.access === 'public' || r.access === 'session' ? r.access : [...r.access].join(' or ');
      expect(documented.get(key) ?? consoleDoc.get(key), key).toBe(want);
    }
    // No stale row in docs/api.md (docs/console-api.md is the contract of routes still being built).
    for (const key of documented.keys()) expect(keys.has(key), `docs/api.md documents ${key}, which is no route`).toBe(true);
    expect(consoleDoc.get('POST /v1/users/{name}/reset-password')).toBe('admin');
    expect(consoleDoc.get('DELETE /v1/session')).toBe('session');
  });
});

describe('secrets', () => {
  it('key files are 0600 in a 0700 data directory', () => {
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(statSync(join(data, 'log-key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(data, 'admin-api-key')).mode & 0o777).toBe(0o600);
  });

  it('never appear in responses, headers, /metrics, or the server output; the store holds only hashes', async () => {
    for (const path of ['/metrics', '/healthz', '/openapi.json', '/v1/log', '/checkpoint', '/nope']) await call(path, {}, 'admin');
    // Errors of every kind, with every key.
    for (const caller of CALLERS) {
      await call('/v1/entries', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":' }, caller);
      await call('/v1/entries/x', {}, caller);
      await call('/v1/receipts/999999', {}, caller);
    }
    const passwords = Object.values(people).map((p) => p.password);
    const logKey = readFileSync(join(data, 'log-key'), 'utf8').trim();
    // PRIVATE+KEY+<name>+<keyid>+<base64>; the base64 itself may contain '+'.
    const seed = /^PRIVATE\+KEY\+[^+]+\+[0-9a-f]{8}\+(.{40,})$/.exec(logKey)?.[1];
    if (seed === undefined) throw new Error('log-key does not parse');
    const all = [admin, secrets.submit, secrets.audit, secrets.revoked];
    // The passwords people chose are never echoed either (one-time passwords are, once, by design).
    const forbidden = [...all, ...passwords, logKey, seed, 'PRIVATE+KEY'];
    const responses = seen.join('\n');
    for (const f of forbidden) expect(responses.includes(f), `a response contains ${f.slice(0, 12)}…`).toBe(false);
    expect(await s.stop()).toBe(0);
    const output = s.output();
    for (const f of forbidden) expect(output.includes(f), `the server printed ${f.slice(0, 12)}…`).toBe(false);
    // Stored: SHA-256 of each secret, never the secret, in any LevelDB file.
    const ledger = join(data, 'ledger');
    const files = readdirSync(ledger).map((f) => readFileSync(join(ledger, f)));
    // Nor passwords (one-time ones included) or session ids: scrypt hashes and SHA-256 of the ids only.
    for (const secret of [...all, ...passwords, ...Object.values(oneTime), ...sessionIds]) {
      expect(files.some((b) => b.includes(Buffer.from(secret))), 'a secret in the LevelDB files').toBe(false);
    }
    const store = await LevelStore.open(ledger);
    try {
      // Besides the keys the admin routes of the matrix made.
      const keys = (await store.listApiKeys()).filter((k) => k.label?.startsWith('roles-matrix') !== true);
      expect(keys.map((k) => k.secretHash).sort()).toEqual(all.map(hashSecret).sort());
    } finally {
      await store.close();
    }
  }, 60_000);

  it('key files are written atomically: a crash while creating one leaves no half key, and its temporary does not block the next start', async () => {
    const d = join(dir, 'atomic');
    mkdirSync(d, { mode: 0o700 });
    // What a first start killed half way through writing leaves behind (pids are reused in containers).
    writeFileSync(join(d, `log-key.tmp-${process.pid}`), 'PRIVATE+KEY+half');
    writeFileSync(join(d, `admin-api-key.tmp-${process.pid}`), 'gzk_half');
    const { key, created } = loadOrCreateLogKey(d, 'atomic.test/log');
    expect(created).toBe(true);
    expect(statSync(join(d, 'log-key')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateLogKey(d, undefined).key.name).toBe(key.name);
    const store = new MemoryStore();
    expect(await ensureAdminKey(store, d, undefined)).toBe(join(d, 'admin-api-key'));
    expect(statSync(join(d, 'admin-api-key')).mode & 0o777).toBe(0o600);
    expect(readdirSync(d).sort()).toEqual(['admin-api-key', 'log-key']);
    // The checkpoint file's temporary, left by a crash mid-save, is cleared once the store is held.
    writeFileSync(join(d, 'checkpoint.tmp'), 'half');
    removeStaleTemporaries(d);
    expect(readdirSync(d).sort()).toEqual(['admin-api-key', 'log-key']);
  });

  it('compares presented keys by their hash, in constant time (source check of src/auth/api-keys.ts)', () => {
    const src = readFileSync(join(ROOT, 'src', 'auth', 'api-keys.ts'), 'utf8');
    expect(src).toMatch(/timingSafeEqual\(/);
    expect(src).not.toMatch(/secret\s*===|===\s*secret|secretHash\s*===|===\s*record\.secretHash/);
  });
});
