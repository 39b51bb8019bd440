/**
 * Bearer-token authentication (DESIGN.md §4, docs/api.md#authentication). `Authorization: Bearer
 * <key>`; the key is checked with src/auth/api-keys.ts on every request, against the store's key
 * table (LevelStore keeps it in memory, in step with every key write, so a revoked key stops
 * working at the very next request). Answers 401 with `WWW-Authenticate: Bearer` (RFC 6750) for a missing,
 * malformed, unknown or revoked key and 403 for a key lacking the role, then applies the per-key
 * rate limit.
 */
import type { RequestHandler, Response } from 'express';
import { authenticate, hasRole, type Role } from '../auth/api-keys.js';
import type { ApiKeyRecord, LedgerStore } from '../storage/store.js';
import { HttpProblem } from './errors.js';
import type { RateLimiter } from './rate-limit.js';

const REALM = 'Bearer realm="guzheng"';
const BEARER = /^Bearer +([^\s]+) *$/i;

/** The authenticated key of this request, set by {@link requireRole}. */
export function keyOf(res: Response): ApiKeyRecord | undefined {
  return (res.locals as { key?: ApiKeyRecord }).key;
}

/**
 * requireRole authenticates the bearer key against `store` and checks it has one of `roles`
 * (admin implies all), then takes a token from `limiter` (if any) for the key id.
 * Requires: `roles` non-empty.
 */
export function requireRole(store: LedgerStore, roles: readonly Role[], limiter: RateLimiter | undefined): RequestHandler {
  const wanted = roles.join(' or ');
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (header === undefined || header === '') {
      throw new HttpProblem(401, 'UNAUTHORIZED', 'this route needs an API key: send Authorization: Bearer <key>', { field: 'Authorization', headers: { 'WWW-Authenticate': REALM } });
    }
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
    if (!hasRole(key.role, roles)) {
      throw new HttpProblem(403, 'FORBIDDEN', `API key ${key.id} has role ${key.role}, this route needs ${wanted}`, {
        headers: { 'WWW-Authenticate': `${REALM}, error="insufficient_scope"` },
      });
    }
    (res.locals as { key?: ApiKeyRecord }).key = key;
    const wait = limiter?.take(key.id) ?? 0;
    if (wait > 0) {
      throw new HttpProblem(429, 'RATE_LIMITED', `API key ${key.id} exceeded its request rate; retry in ${wait} s`, { headers: { 'Retry-After': String(wait) } });
    }
    next();
  };
}
