/**
 * A signed-in browser, for the HTTP tests of sessions and admin routes: signs in with
 * POST /v1/session, keeps the cookie and the CSRF token, and sends them (with the page's own
 * Origin, as a browser would) on every request.
 */
import { createUser } from '../../src/auth/users.js';
import type { Role } from '../../src/auth/api-keys.js';
import type { LedgerStore } from '../../src/storage/store.js';

/** A signed-in session. */
export interface Browser {
  readonly name: string;
  readonly cookie: string;
  readonly csrfToken: string;
  /** The raw Set-Cookie of the sign-in. */
  readonly setCookie: string;
  /** fetch with the cookie, the CSRF token (unless `csrf: false`) and the page's Origin. */
  fetch(path: string, init?: RequestInit & { csrf?: boolean; json?: unknown }): Promise<Response>;
}

/** signIn posts the credentials; it throws unless the answer is 200. */
export async function signIn(url: string, name: string, password: string): Promise<Browser> {
  const res = await fetch(`${url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: name, password }) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`sign-in of ${name}: ${res.status} ${text}`);
  const setCookie = res.headers.getSetCookie()[0] ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  const { csrfToken } = JSON.parse(text) as { csrfToken: string };
  return {
    name,
    cookie,
    csrfToken,
    setCookie,
    fetch(path, init = {}) {
      const { csrf = true, json, ...rest } = init;
      const headers: Record<string, string> = { cookie, origin: url, ...(csrf ? { 'x-csrf-token': csrfToken } : {}), ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...(rest.headers as Record<string, string> | undefined) };
      return fetch(url + path, { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
    },
  };
}

/**
 * newUser creates an account on the (served) store and, unless `keepOneTime`, signs in once to
 * replace the one-time password with `password`. Returns the password in force.
 */
export async function newUser(url: string, store: LedgerStore, name: string, role: Role, options: { keepOneTime?: boolean; password?: string } = {}): Promise<string> {
  const made = await createUser(store, name, role);
  if (made === undefined) throw new Error(`user ${name} exists`);
  if (options.keepOneTime) return made.password;
  const next = options.password ?? `${name}-long-password`;
  const b = await signIn(url, name, made.password);
  const res = await b.fetch('/v1/session/password', { method: 'POST', json: { current: made.password, next } });
  if (res.status !== 204) throw new Error(`password change of ${name}: ${res.status} ${await res.text()}`);
  return next;
}
