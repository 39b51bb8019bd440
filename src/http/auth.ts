/**
 * Authentication (DESIGN.md §4, docs/api.md#authentication, docs/console-api.md#people-sessions-and-csrf).
 * Two kinds of callers:
 *
 * - machines: `Authorization: Bearer <key>`; the key is checked with src/auth/api-keys.ts on every
 *   request, against the store's key table (LevelStore keeps it in memory, in step with every key
 *   write, so a revoked key stops working at the very next request);
 * - people: the `guzheng_session` cookie of a sign-in (src/auth/sessions.ts), with the user's
 *   role; the session and the account are read from the store on every request, so a sign-out,
 *   a password change or a disabled account takes effect at the very next request. A
 *   cookie-authenticated request that may change state (any method but GET, HEAD, OPTIONS) must
 *   carry the session's `X-CSRF-Token`, no foreign `Origin` and no `Sec-Fetch-Site: cross-site`.
 *
 * A bearer key on a request wins over a cookie (a browser cannot add one cross-site, so no CSRF
 * check applies to it). Answers 401 (with `WWW-Authenticate: Bearer`, RFC 6750) for a missing,
 * malformed, unknown or revoked key or an ended session, 403 for a caller lacking the role, then
 * applies the per-caller rate limit (keyed by the principal's id).
 */
import type { Request, RequestHandler, Response } from 'express';
import { authenticate, hasRole, type Role } from '../auth/api-keys.js';
import { csrfTokenMatches, findSession, sessionIdFromCookies, type LiveSession, type SessionOptions } from '../auth/sessions.js';
import { getUser, principalIdOf, type UserRecord } from '../auth/users.js';
import type { ApiKeyRecord, LedgerStore } from '../storage/store.js';
import { HttpProblem } from './errors.js';
import type { RateLimiter } from './rate-limit.js';

const REALM = 'Bearer realm="guzheng"';
const BEARER = /^Bearer +([^\s]+) *$/i;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Who is calling: an API key, or a signed-in user. `id` is what the log records as `submitter`
 * (`key-…` or `user:<name>`) and what the rate limiter counts by.
 */
export type Principal =
  | { readonly kind: 'key'; readonly id: string; readonly role: Role; readonly key: ApiKeyRecord }
  | { readonly kind: 'user'; readonly id: string; readonly role: Role; readonly user: UserRecord; readonly session: LiveSession };

/** A signed-in user principal. */
export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

/** What authentication needs besides the store. */
export interface AuthOptions {
  /** Session clock and timeouts (default: the wall clock, 8 h idle, 24 h absolute). */
  readonly sessions?: SessionOptions;
}

/** The authenticated caller of this request, set by {@link requireRole} / {@link requireSession}. */
export function principalOf(res: Response): Principal | undefined {
  return (res.locals as { principal?: Principal }).principal;
}

function setPrincipal(res: Response, p: Principal): void {
  (res.locals as { principal?: Principal }).principal = p;
}

/** The request's own origin, as a browser would send it in `Origin`. */
function ownOrigin(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? ''}`;
}

/**
 * checkCsrf refuses (403 CSRF_REJECTED) a cookie-authenticated request that may change state
 * unless it carries the session's X-CSRF-Token (compared in constant time), has no Origin or its
 * own, and is not marked `Sec-Fetch-Site: cross-site`. GET, HEAD and OPTIONS pass.
 */
export function checkCsrf(req: Request, session: LiveSession): void {
  if (SAFE_METHODS.has(req.method)) return;
  const refuse = (why: string) => new HttpProblem(403, 'CSRF_REJECTED', `${why}; a signed-in request that changes state must come from this site with the session's X-CSRF-Token`, { field: 'X-CSRF-Token' });
  if (req.get('sec-fetch-site') === 'cross-site') throw refuse('cross-site request (Sec-Fetch-Site)');
  const origin = req.get('origin');
  if (origin !== undefined && origin !== ownOrigin(req)) throw refuse(`foreign Origin ${JSON.stringify(origin.slice(0, 200))}`);
  if (!csrfTokenMatches(session, req.get('x-csrf-token'))) throw refuse('missing or wrong X-CSRF-Token');
}

/**
 * sessionPrincipal returns the signed-in user of the request's session cookie: undefined when
 * there is no cookie, 401 when the session has ended or the account is gone or disabled.
 */
export async function sessionPrincipal(store: LedgerStore, req: Request, options: AuthOptions = {}): Promise<UserPrincipal | undefined> {
  const id = sessionIdFromCookies(req.get('cookie'));
  if (id === undefined) return undefined;
  const session = await findSession(store, id, options.sessions);
  const user = session === undefined ? undefined : await getUser(store, session.record.user);
  if (session === undefined || user === undefined || user.disabledAt !== undefined) {
    throw new HttpProblem(401, 'UNAUTHORIZED', 'the session has ended (signed out, expired, or the account was disabled); sign in again: POST /v1/session', { headers: { 'WWW-Authenticate': REALM } });
  }
  return { kind: 'user', id: principalIdOf(user.name), role: user.role, user, session };
}

function rateLimit(limiter: RateLimiter | undefined, p: Principal): void {
  const wait = limiter?.take(p.id) ?? 0;
  if (wait > 0) {
    const who = p.kind === 'key' ? `API key ${p.id}` : `user ${p.user.name}`;
    throw new HttpProblem(429, 'RATE_LIMITED', `${who} exceeded its request rate; retry in ${wait} s`, { headers: { 'Retry-After': String(wait) } });
  }
}

async function bearerPrincipal(store: LedgerStore, header: string): Promise<Principal> {
  const m = BEARER.exec(header);
  if (m?.[1] === undefined) {
    throw new HttpProblem(401, 'UNAUTHORIZED', 'malformed Authorization header, want "Bearer <key>"', {
      field: 'Authorization',
      headers: { 'WWW-Authenticate': `${REALM}, error="invalid_request"` },
    });
  }
  const key = await authenticate(store, m[1]);
  if (key === undefined) {
    throw new HttpProblem(401, 'UNAUTHORIZED', 'unknown or revoked API key', {
      field: 'Authorization',
      headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token"` },
    });
  }
  return { kind: 'key', id: key.id, role: key.role, key };
}

/**
 * requireRole authenticates the caller (a bearer key, else a session cookie) against `store` and
 * checks it has one of `roles` (admin implies all), then takes a token from `limiter` (if any)
 * for the principal's id. A session must also pass {@link checkCsrf} and must not be waiting for
 * a forced password change (403 PASSWORD_CHANGE_REQUIRED).
 * Requires: `roles` non-empty.
 */
export function requireRole(store: LedgerStore, roles: readonly Role[], limiter: RateLimiter | undefined, options: AuthOptions = {}): RequestHandler {
  const wanted = roles.join(' or ');
  return async (req, res, next) => {
    const header = req.get('authorization');
    let p: Principal;
    if (header !== undefined && header !== '') {
      p = await bearerPrincipal(store, header);
      if (!hasRole(p.role, roles)) {
        throw new HttpProblem(403, 'FORBIDDEN', `API key ${p.id} has role ${p.role}, this route needs ${wanted}`, {
          headers: { 'WWW-Authenticate': `${REALM}, error="insufficient_scope"` },
        });
      }
    } else {
      const u = await sessionPrincipal(store, req, options);
      if (u === undefined) {
        throw new HttpProblem(401, 'UNAUTHORIZED', 'this route needs an API key (send Authorization: Bearer <key>) or a signed-in session', { field: 'Authorization', headers: { 'WWW-Authenticate': REALM } });
      }
      checkCsrf(req, u.session);
      if (u.user.mustChangePassword) {
        throw new HttpProblem(403, 'PASSWORD_CHANGE_REQUIRED', `user ${u.user.name} must change the password first: POST /v1/session/password`);
      }
      if (!hasRole(u.role, roles)) throw new HttpProblem(403, 'FORBIDDEN', `user ${u.user.name} has role ${u.role}, this route needs ${wanted}`);
      p = u;
    }
    setPrincipal(res, p);
    rateLimit(limiter, p);
    next();
  };
}

/**
 * requireSession admits only a signed-in user (the session cookie; an API key is no session), of
 * any role and even while a password change is pending: the session routes themselves. State
 * changes need the CSRF token ({@link checkCsrf}). Rate limited per user.
 */
export function requireSession(store: LedgerStore, limiter: RateLimiter | undefined, options: AuthOptions = {}): RequestHandler {
  return async (req, res, next) => {
    const u = await sessionPrincipal(store, req, options);
    if (u === undefined) throw new HttpProblem(401, 'UNAUTHORIZED', 'not signed in: POST /v1/session first (this route takes the session cookie, not an API key)', { headers: { 'WWW-Authenticate': REALM } });
    checkCsrf(req, u.session);
    setPrincipal(res, u);
    rateLimit(limiter, u);
    next();
  };
}
