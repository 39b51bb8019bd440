/**
 * Roles and secrets, against the real service (`guzheng serve`, a child process):
 *
 * - every route of the app's route table (and the tile routes beside it) × {no key, malformed
 *   key, unknown key, revoked key, submit, audit, admin} answers exactly the documented access:
 *   the route spec's `access` field, which must also be what docs/api.md's route table says;
 *   401 (with `WWW-Authenticate`) without a valid key, 403 for a key without the role, the route's
 *   own answer otherwise; public routes ignore keys;
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

const CALLERS = ['none', 'malformed', 'unknown', 'revoked', 'submit', 'audit', 'admin'] as const;
type Caller = (typeof CALLERS)[number];

function header(caller: Caller): Record<string, string> {
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
    .replace('{mn}', '88888880000001');
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
    case '/v1/verify':
      return { path: concrete, init: json({ receipt: document }) };
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
  await store.close();
  s = await spawnServer(data, { GUZHENG_CHROMIUM: join(dir, 'no-chromium'), GUZHENG_CHECKPOINT_INTERVAL_MS: '10' });
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
  if (caller === 'admin') return true;
  if (caller === 'submit' || caller === 'audit') return access.includes(caller as Role);
  return false;
}

describe('roles: every route × every caller', () => {
  it('answers exactly the documented access', async () => {
    const table: Array<{ method: string; path: string; access: Access; sample?: string }> = [...routeTable, ...TILES];
    const rows: string[] = [];
    let cells = 0;
    for (const route of table) {
      for (const caller of CALLERS) {
        const { path, init } = route.sample !== undefined ? { path: route.sample, init: {} } : requestOf(route.method, route.path);
        const res = await call(path, { ...init, method: route.method.toUpperCase() }, caller);
        cells++;
        const allowed = permits(route.access, caller);
        const where = `${route.method.toUpperCase()} ${route.path} as ${caller}: ${res.status} ${seen.at(-1)?.slice(-300)}`;
        if (allowed === undefined || allowed) {
          expect(res.status, where).not.toBe(401);
          expect(res.status, where).not.toBe(403);
          if (route.sample === undefined) expect(okStatuses(route.path, route.method), where).toContain(res.status);
          else expect(res.status, where).toBeLessThan(500);
        } else if (caller === 'submit' || caller === 'audit') {
          expect(res.status, where).toBe(403);
          expect(res.headers.get('www-authenticate'), where).toBe('Bearer realm="guzheng", error="insufficient_scope"');
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

  it("the route specs' access is what docs/api.md documents", () => {
    const doc = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
    const documented = new Map<string, string>();
    for (const m of doc.matchAll(/^\| (GET|POST) \| \[?`([^`]+)`\]?(?:\([^)]*\))? \| ([a-z ]+) \|/gm)) documented.set(`${m[1]} ${m[2]}`, m[3] as string);
    const table: Array<{ method: string; path: string; access: Access }> = [...routeTable, { method: 'get', path: '/tile/<L>/<N>[.p/<W>]', access: 'public' }, { method: 'get', path: '/tile/entries/<N>[.p/<W>]', access: ['audit'] }];
    for (const r of table) {
      const key = `${r.method.toUpperCase()} ${r.path.replace('/{alg}/', '/sha256/')}`;
      const want = r.access === 'public' ? 'public' : [...r.access].join(' or ');
      expect(documented.get(key), key).toBe(want);
    }
    expect(documented.size).toBe(table.length);
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
    const logKey = readFileSync(join(data, 'log-key'), 'utf8').trim();
    // PRIVATE+KEY+<name>+<keyid>+<base64>; the base64 itself may contain '+'.
    const seed = /^PRIVATE\+KEY\+[^+]+\+[0-9a-f]{8}\+(.{40,})$/.exec(logKey)?.[1];
    if (seed === undefined) throw new Error('log-key does not parse');
    const all = [admin, secrets.submit, secrets.audit, secrets.revoked];
    const forbidden = [...all, logKey, seed, 'PRIVATE+KEY'];
    const responses = seen.join('\n');
    for (const f of forbidden) expect(responses.includes(f), `a response contains ${f.slice(0, 12)}…`).toBe(false);
    expect(await s.stop()).toBe(0);
    const output = s.output();
    for (const f of forbidden) expect(output.includes(f), `the server printed ${f.slice(0, 12)}…`).toBe(false);
    // Stored: SHA-256 of each secret, never the secret, in any LevelDB file.
    const ledger = join(data, 'ledger');
    const files = readdirSync(ledger).map((f) => readFileSync(join(ledger, f)));
    for (const secret of all) {
      expect(files.some((b) => b.includes(Buffer.from(secret))), 'a secret in the LevelDB files').toBe(false);
    }
    const store = await LevelStore.open(ledger);
    try {
      const keys = await store.listApiKeys();
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
