/**
 * The admin routes over real HTTP (docs/console-api.md#admin): accounts, API keys and the admin
 * trail, called with the admin key and from an admin's session; roles refused to others; and
 * `guzheng users` through the real CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AdminTrail } from '../../src/auth/admin-trail.js';
import { verifyPassword } from '../../src/auth/passwords.js';
import { getUser } from '../../src/auth/users.js';
import { LevelStore } from '../../src/storage/level.js';
import { newUser, signIn, type Browser } from '../auth/http-session.js';
import { auth, json, postJson, problem, sha256Hex, startServer, type TestServer } from './helpers.js';

// Every account creation and sign-in is a real scrypt; the CLI runs through tsx.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

let s: TestServer;
let admin: Browser;
let submitter: Browser;
beforeAll(async () => {
  s = await startServer();
  admin = await signIn(s.url, 'root', await newUser(s.url, s.store, 'root', 'admin'));
  submitter = await signIn(s.url, 'sam', await newUser(s.url, s.store, 'sam', 'submit'));
});
afterAll(() => s.destroy());

const entry = (tag: string) => ({ type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(tag) } });
const asKey = (path: string, init: RequestInit = {}) => fetch(s.url + path, { ...init, headers: { ...auth(s.keys.admin), ...(init.headers as Record<string, string> | undefined) } });

describe('accounts', () => {
  it('creates an account with a one-time password (shown once), refuses a taken or malformed name, lists without hashes', async () => {
    const res = await admin.fetch('/v1/users', { method: 'POST', json: { name: 'olga', role: 'audit' } });
    expect(res.headers.get('cache-control')).toBe('no-store');
    const made = await json(res, 201);
    expect(made).toEqual({ user: { name: 'olga', role: 'audit', mustChangePassword: true, createdAt: expect.any(String) }, password: expect.stringMatching(/^[A-Z2-7]{16}$/) });
    expect(await problem(await admin.fetch('/v1/users', { method: 'POST', json: { name: 'olga', role: 'admin' } }), 409)).toMatchObject({ code: 'CONFLICT', field: 'name' });
    for (const name of ['O', 'Olga', '-olga', 'x'.repeat(33), 'ol ga']) {
      expect(await problem(await admin.fetch('/v1/users', { method: 'POST', json: { name, role: 'audit' } }), 400), name).toMatchObject({ code: 'INPUT_INVALID', field: 'name' });
    }
    await problem(await admin.fetch('/v1/users', { method: 'POST', json: { name: 'olga2', role: 'root' } }), 400);
    const list = await json(await asKey('/v1/users'));
    expect(list.users.map((u: { name: string }) => u.name)).toEqual(expect.arrayContaining(['olga', 'root', 'sam']));
    expect(JSON.stringify(list)).not.toMatch(/scrypt|passwordHash/);
    const olga = await signIn(s.url, 'olga', made.password);
    await problem(await olga.fetch('/v1/entries?limit=1'), 403);
  });

  it("disable ends the user's sessions, enable lets them sign in again; reset gives a new one-time password", async () => {
    const pw = await newUser(s.url, s.store, 'pia', 'submit');
    const pia = await signIn(s.url, 'pia', pw);
    expect((await admin.fetch('/v1/users/pia/disable', { method: 'POST' })).status).toBe(204);
    await problem(await pia.fetch('/v1/session'), 401);
    await problem(await fetch(`${s.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'pia', password: pw }) }), 401);
    const listed = (await json(await admin.fetch('/v1/users'))).users.find((u: { name: string }) => u.name === 'pia');
    expect(listed.disabledAt).toEqual(expect.any(String));
    expect((await admin.fetch('/v1/users/pia/enable', { method: 'POST' })).status).toBe(204);
    const again = await signIn(s.url, 'pia', pw);
    const reset = await json(await admin.fetch('/v1/users/pia/reset-password', { method: 'POST' }));
    expect(reset).toEqual({ password: expect.stringMatching(/^[A-Z2-7]{16}$/) });
    await problem(await again.fetch('/v1/session'), 401);
    const fresh = await signIn(s.url, 'pia', reset.password);
    expect(await json(await fresh.fetch('/v1/session'))).toMatchObject({ user: { mustChangePassword: true } });
    for (const action of ['disable', 'enable', 'reset-password']) {
      expect(await problem(await admin.fetch(`/v1/users/nobody/${action}`, { method: 'POST' }), 404), action).toMatchObject({ code: 'NOT_FOUND' });
    }
    await problem(await admin.fetch('/v1/users/Bad!/disable', { method: 'POST' }), 400);
    // Admin routes are state changes too: CSRF applies.
    await problem(await admin.fetch('/v1/users/pia/disable', { method: 'POST', csrf: false }), 403);
  });
});

describe('API keys', () => {
  it('creates a key (the secret shown once), lists it without secrets, revokes it: it stops working at once', async () => {
    const made = await json(await admin.fetch('/v1/keys', { method: 'POST', json: { role: 'submit', label: 'logger 7' } }), 201);
    expect(made).toEqual({ key: { id: expect.stringMatching(/^key-[0-9a-f]{12}$/), role: 'submit', label: 'logger 7', createdAt: expect.any(String) }, secret: expect.stringMatching(/^gzk_[A-Za-z0-9_-]{43}$/) });
    const a = await json(await postJson(`${s.url}/v1/entries`, entry('new key'), made.secret), 201);
    expect(a.entry.submitter).toBe(made.key.id);
    const list = await json(await admin.fetch('/v1/keys'));
    expect(list.keys).toContainEqual(made.key);
    expect(JSON.stringify(list)).not.toContain(made.secret);
    expect(JSON.stringify(list)).not.toMatch(/secretHash|[0-9a-f]{64}/);
    expect((await admin.fetch(`/v1/keys/${made.key.id}/revoke`, { method: 'POST' })).status).toBe(204);
    expect(await problem(await postJson(`${s.url}/v1/entries`, entry('revoked key'), made.secret), 401)).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await json(await admin.fetch('/v1/keys'))).keys.find((k: { id: string }) => k.id === made.key.id).revokedAt).toEqual(expect.any(String));
    // Again: still 204, and not a second trail event.
    expect((await asKey(`/v1/keys/${made.key.id}/revoke`, { method: 'POST' })).status).toBe(204);
    expect(await problem(await admin.fetch('/v1/keys/key-000000000000/revoke', { method: 'POST' }), 404)).toMatchObject({ code: 'NOT_FOUND' });
    await problem(await admin.fetch('/v1/keys/nope/revoke', { method: 'POST' }), 400);
    await problem(await admin.fetch('/v1/keys', { method: 'POST', json: { role: 'submit', label: 'bell\u0007' } }), 400);
  });
});

describe('roles', () => {
  it('a submit user or key gets 403 on every admin route', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/v1/users'],
      ['POST', '/v1/users', { name: 'mallory', role: 'admin' }],
      ['POST', '/v1/users/sam/disable'],
      ['POST', '/v1/users/root/reset-password'],
      ['GET', '/v1/keys'],
      ['POST', '/v1/keys', { role: 'admin' }],
      ['POST', `/v1/keys/${s.keyIds.admin}/revoke`],
      ['GET', '/v1/admin/trail'],
    ];
    for (const [method, path, body] of routes) {
      expect(await problem(await submitter.fetch(path, { method, ...(body !== undefined ? { json: body } : {}) }), 403), `${method} ${path}`).toMatchObject({ code: 'FORBIDDEN' });
      const init: RequestInit = { method, headers: { ...auth(s.keys.submit), 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) };
      expect((await problem(await fetch(s.url + path, init), 403)).code).toBe('FORBIDDEN');
    }
    expect(await getUser(s.store, 'mallory')).toBeUndefined();
    expect((await postJson(`${s.url}/v1/entries`, entry('admin key still works'), s.keys.admin)).status).toBe(201);
  });
});

describe('trail', () => {
  it('lists the admin actions newest first, with who did them, page by page', async () => {
    const b = await json(await admin.fetch('/v1/keys', { method: 'POST', json: { role: 'audit' } }), 201);
    await admin.fetch(`/v1/keys/${b.key.id}/revoke`, { method: 'POST' });
    await asKey('/v1/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'quinn', role: 'submit' }) });
    const page = await json(await admin.fetch('/v1/admin/trail?limit=3'));
    expect(page.events.map((e: { action: string; actor: string; target: string }) => [e.action, e.actor, e.target])).toEqual([
      ['user.create', s.keyIds.admin, 'user:quinn'],
      ['key.revoke', 'user:root', b.key.id],
      ['key.create', 'user:root', b.key.id],
    ]);
    expect(page.events[0]).toMatchObject({ detail: 'role submit', at: expect.any(String) });
    const seqs = page.events.map((e: { seq: string }) => Number(e.seq));
    expect(page.events[0].seq).toMatch(/^[1-9][0-9]*$/);
    expect(seqs).toEqual([seqs[0], seqs[0] - 1, seqs[0] - 2]);
    expect(page.next).toBe(String(seqs[2]));
    const older = await json(await admin.fetch(`/v1/admin/trail?before=${page.next}&limit=500`));
    expect(older.next).toBeUndefined();
    expect(older.events[0].seq).toBe(String(seqs[2] - 1));
    expect(older.events.at(-1).seq).toBe('1');
    const actions = older.events.map((e: { action: string }) => e.action);
    for (const a of ['user.create', 'user.change-password', 'user.disable', 'user.enable', 'user.reset-password', 'key.create', 'key.revoke']) expect(actions, a).toContain(a);
    // One key.revoke for the key revoked twice above.
    const revokes = [...page.events, ...older.events].filter((e: { action: string }) => e.action === 'key.revoke');
    expect(revokes).toHaveLength(2);
    for (const q of ['limit=0', 'limit=501', 'before=0', 'before=x', 'limit=01', 'other=1']) await problem(await admin.fetch(`/v1/admin/trail?${q}`), 400);
  });
});

describe('guzheng users (CLI)', () => {
  const ROOT = join(import.meta.dirname, '..', '..');
  const BIN = join(ROOT, 'src', 'cli', 'bin.ts');
  const dir = mkdtempSync(join(tmpdir(), 'guzheng-users-cli-'));
  const data = join(dir, 'data');
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates (the one-time password printed once), lists, disables and resets; every change in the trail', async () => {
    const created = cli(['users', 'create', 'rita', '--role', 'audit', '--data', data]);
    expect(created.status, created.stderr).toBe(0);
    const password = created.stdout.trim();
    expect(password).toMatch(/^[A-Z2-7]{16}$/);
    expect(created.stderr).toMatch(/created audit user rita/);
    const taken = cli(['users', 'create', 'rita', '--role', 'admin', '--data', data]);
    expect(taken.status).toBe(1);
    expect(taken.stderr).toMatch(/taken/);
    expect(cli(['users', 'create', 'Rita', '--role', 'audit', '--data', data]).status).toBe(2);
    expect(cli(['users', 'create', 'tom', '--role', 'root', '--data', data]).status).toBe(2);
    const disabled = cli(['users', 'disable', 'rita', '--data', data]);
    expect(disabled.status, disabled.stderr).toBe(0);
    expect(cli(['users', 'disable', 'nobody', '--data', data]).status).toBe(1);
    const list = cli(['users', 'list', '--json', '--data', data]);
    expect(JSON.parse(list.stdout)).toEqual([{ name: 'rita', role: 'audit', mustChangePassword: true, createdAt: expect.any(String), disabledAt: expect.any(String) }]);
    expect(cli(['users', 'enable', 'rita', '--data', data]).status).toBe(0);
    const reset = cli(['users', 'reset-password', 'rita', '--data', data]);
    expect(reset.status, reset.stderr).toBe(0);
    const next = reset.stdout.trim();
    expect(next).toMatch(/^[A-Z2-7]{16}$/);
    const store = await LevelStore.open(join(data, 'ledger'));
    try {
      const rita = await getUser(store, 'rita');
      expect(rita).toMatchObject({ role: 'audit', mustChangePassword: true });
      expect(rita?.disabledAt).toBeUndefined();
      expect(await verifyPassword(next, rita!.passwordHash)).toBe(true);
      expect(await verifyPassword(password, rita!.passwordHash)).toBe(false);
      const { events } = await new AdminTrail(store).list({ limit: 10 });
      expect(events.map((e) => [e.action, e.actor, e.target])).toEqual([
        ['user.reset-password', 'cli', 'user:rita'],
        ['user.enable', 'cli', 'user:rita'],
        ['user.disable', 'cli', 'user:rita'],
        ['user.create', 'cli', 'user:rita'],
      ]);
    } finally {
      await store.close();
    }
  });

  it('records keys created and revoked with guzheng keys in the trail', async () => {
    const made = cli(['keys', 'create', '--role', 'submit', '--data', data]);
    expect(made.status, made.stderr).toBe(0);
    const id = /key (key-[0-9a-f]{12})/.exec(made.stderr)?.[1];
    expect(id).toBeDefined();
    expect(cli(['keys', 'revoke', id as string, '--data', data]).status).toBe(0);
    const store = await LevelStore.open(join(data, 'ledger'));
    try {
      const { events } = await new AdminTrail(store).list({ limit: 2 });
      expect(events.map((e) => [e.action, e.actor, e.target, e.detail])).toEqual([
        ['key.revoke', 'cli', id, undefined],
        ['key.create', 'cli', id, 'role submit'],
      ]);
    } finally {
      await store.close();
    }
  });
});
