/**
 * Sign-in for people and the admin routes the console uses (docs/console-api.md#people-sessions-and-csrf
 * and #admin; docs/security.md#people): sessions (`/v1/session`), accounts (`/v1/users`), API
 * keys (`/v1/keys`) and the admin trail (`/v1/admin/trail`). The throttle, the gate on password
 * work and the trail writer are made here, once per app.
 */
import type { Request } from 'express';
import { z } from 'zod';
import { createApiKey, revokeApiKey, ROLES } from '../../auth/api-keys.js';
import { AdminTrail, MAX_TRAIL_PAGE, TRAIL_ACTIONS } from '../../auth/admin-trail.js';
import { KdfGate, MAX_PASSWORD_LENGTH, hashPassword, needsRehash, passwordProblem, spendVerifyTime, verifyPassword } from '../../auth/passwords.js';
import { createSession, revokeSession, revokeUserSessions, sessionCookie } from '../../auth/sessions.js';
import { LoginThrottle } from '../../auth/throttle.js';
import { USER_NAME_RE, createUser, getUser, isUserName, listUsers, principalIdOf, putUser, resetPassword, setDisabled, setPassword, userView, type UserRecord } from '../../auth/users.js';
import type { ApiKeyRecord } from '../../storage/store.js';
import type { Principal, UserPrincipal } from '../auth.js';
import type { AppContext } from '../context.js';
import { HttpProblem } from '../errors.js';
import { defineRoute, sendJson, type Route } from '../route.js';

const roleSchema = z.enum(ROLES as ['submit', 'audit', 'admin']).describe('submit, audit or admin (admin implies all)');

/** Zod schema of an account as the API shows it. */
export const userSchema = z.object({
  name: z.string().regex(USER_NAME_RE),
  role: roleSchema,
  mustChangePassword: z.boolean().describe('set for a generated one-time password: every route but the /v1/session ones answers 403 PASSWORD_CHANGE_REQUIRED until it is changed'),
  createdAt: z.string(),
  disabledAt: z.string().optional().describe('when the account was disabled (admin listing only)'),
});

const sessionSchema = z.object({
  user: userSchema,
  csrfToken: z.string().describe('send it as X-CSRF-Token with every request of this session whose method is not GET, HEAD or OPTIONS'),
});

const keyViewSchema = z.object({
  id: z.string(),
  role: roleSchema,
  label: z.string().optional(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
});

const trailEventSchema = z.object({
  seq: z.string().regex(/^[1-9][0-9]*$/).describe('1, 2, 3 … in the order appended, a canonical decimal string'),
  at: z.string(),
  actor: z.string().describe('user:<name>, an API key id, cli, or ip:<address> for a refused sign-in'),
  action: z.enum(TRAIL_ACTIONS as [string, ...string[]]),
  target: z.string().describe('user:<name> or an API key id'),
  detail: z.string().optional(),
});

const password = z.string().min(1).max(MAX_PASSWORD_LENGTH);
const signInBody = z.strictObject({ username: z.string().min(1).max(64), password });
const changeBody = z.strictObject({ current: password, next: password });
const createUserBody = z.strictObject({ name: z.string().regex(USER_NAME_RE, `want ${USER_NAME_RE.source}`), role: roleSchema });
// A label is shown in listings and terminals: printable characters only.
const createKeyBody = z.strictObject({ role: roleSchema, label: z.string().min(1).max(100).regex(/^[^\p{Cc}\p{Cf}]+$/u, 'want printable characters').optional() });
const nameParams = z.strictObject({ name: z.string().regex(USER_NAME_RE, `want ${USER_NAME_RE.source}`) });
const keyParams = z.strictObject({ id: z.string().regex(/^key-[0-9a-f]{12}$/, 'want key- and 12 lowercase hex digits') });
const trailQuery = z.strictObject({
  before: z.string().regex(/^[1-9][0-9]{0,15}$/, 'want a sequence number').transform(Number).optional().describe('list events with a smaller seq (the next of the previous page)'),
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,2}$/, `want 1 to ${MAX_TRAIL_PAGE}`)
    .refine((s) => Number(s) <= MAX_TRAIL_PAGE, `want 1 to ${MAX_TRAIL_PAGE}`)
    .transform(Number)
    .optional()
    .describe(`page size, default 50, at most ${MAX_TRAIL_PAGE}`),
});

const NO_STORE = { 'Cache-Control': 'no-store' };

function keyView(k: ApiKeyRecord): z.infer<typeof keyViewSchema> {
  return { id: k.id, role: k.role, ...(k.label !== undefined ? { label: k.label } : {}), createdAt: k.createdAt, ...(k.revokedAt !== undefined ? { revokedAt: k.revokedAt } : {}) };
}

/** Failed sign-ins from one client address before it is throttled (a name gets 5). */
const ADDRESS_FREE_FAILURES = 20;

function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** The signed-in user of a session route (mounting guarantees one). */
function userOf(principal: Principal | undefined): UserPrincipal {
  if (principal?.kind !== 'user') throw new Error('http: session route without a signed-in user');
  return principal;
}

/** The id of whoever calls an admin route: the trail's actor. */
function actorOf(principal: { id: string } | undefined): string {
  if (principal === undefined) throw new Error('http: admin route without a principal');
  return principal.id;
}

function notFound(what: string): HttpProblem {
  return new HttpProblem(404, 'NOT_FOUND', `no ${what}`);
}

/** The session and admin routes of one app. */
export function consoleAuthRoutes(ctx: AppContext): Route[] {
  const { store } = ctx;
  // A name is one account; an address may be a whole office behind NAT: it gets more slack.
  const byName = new LoginThrottle();
  const byAddress = new LoginThrottle({ freeFailures: ADDRESS_FREE_FAILURES });
  const gate = new KdfGate();
  const trail = new AdminTrail(store);

  /** Password work through the gate; 503 when too many sign-ins wait already. */
  const kdf = async <T>(f: () => Promise<T>): Promise<T> => {
    const r = await gate.run(f);
    if (r === undefined) throw new HttpProblem(503, 'OVERLOADED', 'too many sign-ins at once; retry shortly', { headers: { 'Retry-After': '1' } });
    return r.value;
  };

  /** 429 while the name or the address is locked. */
  const checkThrottle = (name: string, ip: string) => {
    const wait = Math.max(byName.retryAfterMs([`user:${name}`]), byAddress.retryAfterMs([`ip:${ip}`]));
    if (wait > 0) {
      const s = Math.ceil(wait / 1000);
      throw new HttpProblem(429, 'LOGIN_THROTTLED', `too many failed sign-ins; retry in ${s} s`, { headers: { 'Retry-After': String(s) } });
    }
  };

  /** Count a failure against the name and the address; a failure past the free ones is recorded in the trail. */
  const failed = async (name: string, ip: string) => {
    const n = byName.fail([`user:${name}`]);
    const a = byAddress.fail([`ip:${ip}`]);
    const lockMs = Math.max(n.lockMs, a.lockMs);
    if (lockMs > 0) {
      const locked = [...(n.lockMs > 0 ? ['the name'] : []), ...(a.lockMs > 0 ? ['the address'] : [])].join(' and ');
      await trail.append({ actor: `ip:${ip}`, action: 'sign-in.throttled', target: isUserName(name) ? principalIdOf(name) : 'user:(not a user name)', detail: `${locked} locked for ${Math.ceil(lockMs / 1000)} s` });
    }
  };

  const loadUser = async (name: string): Promise<UserRecord> => {
    const u = await getUser(store, name);
    if (u === undefined) throw notFound(`user ${name}`);
    return u;
  };

  return [
    defineRoute({
      method: 'post',
      path: '/v1/session',
      operationId: 'signIn',
      tag: 'console',
      summary: 'Sign in with a user name and password: sets the session cookie and returns the CSRF token',
      description:
        'Sets `guzheng_session` (HttpOnly, SameSite=Strict, Path=/, Secure over TLS). One answer, 401 LOGIN_FAILED, for an unknown user, a wrong password and a disabled account. After 5 failures for a user name (20 from a client address), each further failure locks the name (the address) for 1 s, doubling up to 15 min: 429 LOGIN_THROTTLED with Retry-After.',
      access: 'public',
      body: { kind: 'json', schema: signInBody, limitBytes: 8192 },
      responses: { 200: { description: 'signed in', schema: sessionSchema, headers: { 'Set-Cookie': 'guzheng_session=…; Path=/; HttpOnly; SameSite=Strict[; Secure]' } } },
      errors: [401, 429, 503],
      async handle({ body, req, res }) {
        const name = body.username.toLowerCase();
        const ip = clientAddress(req);
        checkThrottle(name, ip);
        const user = await getUser(store, name);
        // The same scrypt work for an unknown name as for a wrong password: timing reveals no name.
        const ok = await kdf(() => (user === undefined ? spendVerifyTime(body.password) : verifyPassword(body.password, user.passwordHash)));
        if (!ok || user === undefined || user.disabledAt !== undefined) {
          await failed(name, ip);
          throw new HttpProblem(401, 'LOGIN_FAILED', 'wrong user name or password');
        }
        byName.succeed(`user:${name}`);
        let current = user;
        if (needsRehash(user.passwordHash)) {
          current = { ...user, passwordHash: await kdf(() => hashPassword(body.password)) };
          await putUser(store, current);
        }
        const { id, session } = await createSession(store, current.name);
        res.setHeader('Set-Cookie', sessionCookie(id, req.secure));
        sendJson(res, 200, { user: userView(current), csrfToken: session.record.csrfToken }, NO_STORE);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/session',
      operationId: 'getSession',
      tag: 'console',
      summary: 'The signed-in user and the session’s CSRF token',
      access: 'session',
      responses: { 200: { description: 'signed in', schema: sessionSchema } },
      handle({ principal, res }) {
        const u = userOf(principal);
        sendJson(res, 200, { user: userView(u.user), csrfToken: u.session.record.csrfToken }, NO_STORE);
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/session',
      operationId: 'signOut',
      tag: 'console',
      summary: 'Sign out: ends this session and clears the cookie',
      access: 'session',
      responses: { 204: { description: 'signed out', headers: { 'Set-Cookie': 'guzheng_session=; Max-Age=0 (cleared)' } } },
      async handle({ principal, req, res }) {
        const u = userOf(principal);
        await revokeSession(store, u.session.idHash);
        res.setHeader('Set-Cookie', sessionCookie('', req.secure, 0));
        res.status(204).end();
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/session/password',
      operationId: 'changePassword',
      tag: 'console',
      summary: 'Change the signed-in user’s password: clears a forced change and ends the user’s other sessions',
      description: `400 PASSWORD_WEAK for a new password under 10 characters, equal to the user name, or equal to the current one; 401 LOGIN_FAILED for a wrong current password (counted by the sign-in throttle: 429 LOGIN_THROTTLED).`,
      access: 'session',
      body: { kind: 'json', schema: changeBody, limitBytes: 8192 },
      responses: { 204: { description: 'changed' } },
      errors: [429, 503],
      async handle({ body, principal, req, res }) {
        const u = userOf(principal);
        const name = u.user.name;
        const ip = clientAddress(req);
        checkThrottle(name, ip);
        const weak = passwordProblem(name, body.next) ?? (body.next.normalize('NFC') === body.current.normalize('NFC') ? 'the new password must differ from the current one' : undefined);
        if (weak !== undefined) throw new HttpProblem(400, 'PASSWORD_WEAK', weak, { field: 'next' });
        if (!(await kdf(() => verifyPassword(body.current, u.user.passwordHash)))) {
          await failed(name, ip);
          throw new HttpProblem(401, 'LOGIN_FAILED', 'the current password is wrong', { field: 'current' });
        }
        // Re-read: the account may have changed while the password was checked.
        const fresh = await getUser(store, name);
        if (fresh === undefined || fresh.disabledAt !== undefined) throw new HttpProblem(401, 'UNAUTHORIZED', 'the account was disabled');
        await kdf(() => setPassword(store, fresh, body.next, false));
        await revokeUserSessions(store, name, u.session.idHash);
        await trail.append({ actor: u.id, action: 'user.change-password', target: u.id });
        res.status(204).end();
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users',
      operationId: 'listUsers',
      tag: 'admin',
      summary: 'Every account, by name (never a password or its hash)',
      access: ['admin'],
      responses: { 200: { description: 'the accounts', schema: z.object({ users: z.array(userSchema) }) } },
      async handle({ res }) {
        sendJson(res, 200, { users: (await listUsers(store)).map((u) => userView(u, true)) }, NO_STORE);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/users',
      operationId: 'createUser',
      tag: 'admin',
      summary: 'Create an account with a generated one-time password (shown once; it must be changed at the first sign-in)',
      access: ['admin'],
      body: { kind: 'json', schema: createUserBody, limitBytes: 8192 },
      responses: { 201: { description: 'created', schema: z.object({ user: userSchema, password: z.string().describe('the one-time password, shown only now') }) } },
      errors: [409],
      async handle({ body, principal, res }) {
        const made = await kdf(() => createUser(store, body.name, body.role));
        if (made === undefined) throw new HttpProblem(409, 'CONFLICT', `user name ${body.name} is taken`, { field: 'name' });
        await trail.append({ actor: actorOf(principal), action: 'user.create', target: principalIdOf(body.name), detail: `role ${body.role}` });
        sendJson(res, 201, { user: userView(made.user), password: made.password }, NO_STORE);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/users/{name}/disable',
      operationId: 'disableUser',
      tag: 'admin',
      summary: 'Disable an account and end its sessions',
      access: ['admin'],
      params: nameParams,
      responses: { 204: { description: 'disabled' } },
      errors: [404],
      async handle({ params, principal, res }) {
        const user = await loadUser(params.name);
        await setDisabled(store, user, true);
        await revokeUserSessions(store, user.name);
        if (user.disabledAt === undefined) await trail.append({ actor: actorOf(principal), action: 'user.disable', target: principalIdOf(user.name) });
        res.status(204).end();
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/users/{name}/enable',
      operationId: 'enableUser',
      tag: 'admin',
      summary: 'Enable a disabled account',
      access: ['admin'],
      params: nameParams,
      responses: { 204: { description: 'enabled' } },
      errors: [404],
      async handle({ params, principal, res }) {
        const user = await loadUser(params.name);
        if (user.disabledAt !== undefined) {
          await setDisabled(store, user, false);
          await trail.append({ actor: actorOf(principal), action: 'user.enable', target: principalIdOf(user.name) });
        }
        res.status(204).end();
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/users/{name}/reset-password',
      operationId: 'resetPassword',
      tag: 'admin',
      summary: 'Give an account a new generated one-time password (shown once) and end its sessions',
      access: ['admin'],
      params: nameParams,
      responses: { 200: { description: 'reset', schema: z.object({ password: z.string().describe('the one-time password, shown only now') }) } },
      errors: [404],
      async handle({ params, principal, res }) {
        const user = await loadUser(params.name);
        const reset = await kdf(() => resetPassword(store, user));
        await revokeUserSessions(store, user.name);
        await trail.append({ actor: actorOf(principal), action: 'user.reset-password', target: principalIdOf(user.name) });
        sendJson(res, 200, { password: reset.password }, NO_STORE);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/keys',
      operationId: 'listKeys',
      tag: 'admin',
      summary: 'Every API key: id, role, label, dates (never a secret or its hash)',
      access: ['admin'],
      responses: { 200: { description: 'the keys', schema: z.object({ keys: z.array(keyViewSchema) }) } },
      async handle({ res }) {
        const keys = (await store.listApiKeys()).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
        sendJson(res, 200, { keys: keys.map(keyView) }, NO_STORE);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/keys',
      operationId: 'createKey',
      tag: 'admin',
      summary: 'Create an API key; its secret is in this answer only (stored as a hash)',
      access: ['admin'],
      body: { kind: 'json', schema: createKeyBody, limitBytes: 8192 },
      responses: { 201: { description: 'created', schema: z.object({ key: keyViewSchema, secret: z.string().describe('gzk_…: shown only now') }) } },
      async handle({ body, principal, res }) {
        const { record, secret } = await createApiKey(store, body.role, body.label !== undefined ? { label: body.label } : {});
        await trail.append({ actor: actorOf(principal), action: 'key.create', target: record.id, detail: `role ${record.role}` });
        sendJson(res, 201, { key: keyView(record), secret }, NO_STORE);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/keys/{id}/revoke',
      operationId: 'revokeKey',
      tag: 'admin',
      summary: 'Revoke an API key: it stops working at the next request',
      access: ['admin'],
      params: keyParams,
      responses: { 204: { description: 'revoked (also when it already was)' } },
      errors: [404],
      async handle({ params, principal, res }) {
        const before = (await store.listApiKeys()).find((k) => k.id === params.id);
        if (before === undefined || !(await revokeApiKey(store, params.id))) throw notFound(`API key ${params.id}`);
        if (before.revokedAt === undefined) await trail.append({ actor: actorOf(principal), action: 'key.revoke', target: params.id });
        res.status(204).end();
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/admin/trail',
      operationId: 'adminTrail',
      tag: 'admin',
      summary: 'The admin audit trail, newest first: accounts and keys created, changed, revoked; sign-ins refused by the throttle',
      access: ['admin'],
      query: trailQuery,
      responses: { 200: { description: 'a page of events', schema: z.object({ events: z.array(trailEventSchema), next: z.string().optional().describe('pass as before= for the next (older) page') }) } },
      async handle({ query, res }) {
        const page = await trail.list({ limit: query.limit ?? 50, ...(query.before !== undefined ? { before: query.before } : {}) });
        // Sequence numbers are decimal strings, like every index and height of the API.
        const events = page.events.map((e) => ({ ...e, seq: String(e.seq) }));
        sendJson(res, 200, page.next === undefined ? { events } : { events, next: String(page.next) }, NO_STORE);
      },
    }),
  ];
}
