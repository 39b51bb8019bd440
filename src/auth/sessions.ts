/**
 * Sign-in sessions of people (docs/console-api.md#people-sessions-and-csrf, docs/security.md#people).
 *
 * A session id is 256 random bits, sent only as the `guzheng_session` cookie; like an API key, only
 * its SHA-256 is stored (record table `sessions`, keyed by the hash), so the store yields no usable
 * session. A session row holds the user name, the session's CSRF token, when it was made and when
 * it ends (absolute timeout, 24 h). It is written once and deleted on revocation; it is never
 * rewritten, so a request that read it just before a revocation cannot bring it back. When it was
 * last used (idle timeout, 8 h) is kept beside it in the table `session-seen`, refreshed at most
 * once a minute. Every request reads the store, so a revocation (sign-out, password change,
 * disabled account) takes effect at the very next request.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { LedgerStore, RecordRow } from '../storage/store.js';

/** The cookie carrying the session id. */
export const SESSION_COOKIE = 'guzheng_session';
/** The record table of sessions (keyed by SHA-256 of the id, hex). */
export const SESSIONS_TABLE = 'sessions';
/** The record table of last-use times (same keys). */
export const SESSION_SEEN_TABLE = 'session-seen';

/** Timeouts and limits. */
export interface SessionPolicy {
  /** A session unused this long ends (ms). Default 8 h. */
  readonly idleMs: number;
  /** A session ends this long after sign-in, used or not (ms). Default 24 h. */
  readonly absoluteMs: number;
  /** Last-use times are written at most this often per session (ms). Default 60 s. */
  readonly touchEveryMs: number;
  /** Live sessions a user may hold; signing in once more ends the oldest. Default 20. */
  readonly maxPerUser: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMs: 8 * 3600_000, absoluteMs: 24 * 3600_000, touchEveryMs: 60_000, maxPerUser: 20 };

/** What sessions need besides the store: a wall clock (ms since the epoch) and the policy. */
export interface SessionOptions {
  readonly now?: () => number;
  readonly policy?: Partial<SessionPolicy>;
}

/** A stored session. */
export interface SessionRecord {
  readonly user: string;
  readonly csrfToken: string;
  readonly createdAt: string;
  /** The absolute end. */
  readonly expiresAt: string;
}

/** A session found live by {@link findSession}. */
export interface LiveSession {
  /** SHA-256 of the id, hex: the record key, safe to log. */
  readonly idHash: string;
  readonly record: SessionRecord;
  readonly lastSeenAt: string;
}

const ID_RE = /^[A-Za-z0-9_-]{43}$/;

function policyOf(o: SessionOptions): SessionPolicy {
  return { ...DEFAULT_SESSION_POLICY, ...o.policy };
}

/** hashSessionId returns SHA-256 of the id's ASCII bytes, lowercase hex. */
export function hashSessionId(id: string): string {
  return hash('sha256', id, 'hex');
}

function decodeSession(text: string): SessionRecord {
  const v = JSON.parse(text) as Partial<SessionRecord>;
  if (typeof v.user !== 'string' || typeof v.csrfToken !== 'string' || typeof v.createdAt !== 'string' || typeof v.expiresAt !== 'string') throw new Error('sessions: malformed stored session');
  return v as SessionRecord;
}

/** Every stored session row, in key order (the table is small: sessions end within a day). */
async function allSessions(store: LedgerStore): Promise<RecordRow[]> {
  const out: RecordRow[] = [];
  let gte: string | undefined;
  for (;;) {
    const rows = await store.listRecords(SESSIONS_TABLE, { limit: 1000, ...(gte !== undefined ? { gte } : {}) });
    for (const r of rows) if (r.key !== gte) out.push(r);
    const last = rows.at(-1);
    if (rows.length < 1000 || last === undefined) return out;
    gte = last.key;
  }
}

async function lastSeen(store: LedgerStore, idHash: string, record: SessionRecord): Promise<number> {
  const seen = await store.getRecord(SESSION_SEEN_TABLE, idHash);
  const t = Date.parse(seen ?? record.createdAt);
  return Number.isNaN(t) ? Date.parse(record.createdAt) : t;
}

function isExpired(record: SessionRecord, seenAt: number, now: number, policy: SessionPolicy): boolean {
  return now >= Date.parse(record.expiresAt) || now - seenAt >= policy.idleMs;
}

async function deleteSessions(store: LedgerStore, idHashes: readonly string[]): Promise<void> {
  if (idHashes.length === 0) return;
  // The session rows first: once they are gone nothing accepts the ids; a last-use row left
  // behind by a crash in between is harmless and is swept with the next sign-in.
  await store.putRecords(SESSIONS_TABLE, idHashes.map((key) => ({ key, value: undefined })));
  await store.putRecords(SESSION_SEEN_TABLE, idHashes.map((key) => ({ key, value: undefined })));
}

/**
 * createSession signs `user` in: a new random id (returned once, for the cookie) and CSRF token.
 * On the way it deletes ended sessions of everyone and, past {@link SessionPolicy.maxPerUser},
 * the user's oldest. Requires: `user` is an existing, enabled account (checked by the caller).
 */
export async function createSession(store: LedgerStore, user: string, options: SessionOptions = {}): Promise<{ id: string; session: LiveSession }> {
  const policy = policyOf(options);
  const now = (options.now ?? Date.now)();
  await sweepSessions(store, { ...options, keepFor: { user, live: policy.maxPerUser - 1 } });
  const id = randomBytes(32).toString('base64url');
  const idHash = hashSessionId(id);
  const createdAt = new Date(now).toISOString();
  const record: SessionRecord = { user, csrfToken: randomBytes(32).toString('base64url'), createdAt, expiresAt: new Date(now + policy.absoluteMs).toISOString() };
  await store.putRecords(SESSIONS_TABLE, [{ key: idHash, value: JSON.stringify(record) }]);
  return { id, session: { idHash, record, lastSeenAt: createdAt } };
}

/**
 * findSession returns the live session with this id (from the cookie), or undefined: malformed,
 * unknown, revoked, or past its idle or absolute timeout (an ended one is deleted). Refreshes the
 * last-use time when it is older than {@link SessionPolicy.touchEveryMs}. Does not look at the
 * account: callers check it exists and is enabled.
 */
export async function findSession(store: LedgerStore, id: string, options: SessionOptions = {}): Promise<LiveSession | undefined> {
  if (!ID_RE.test(id)) return undefined;
  const policy = policyOf(options);
  const now = (options.now ?? Date.now)();
  const idHash = hashSessionId(id);
  const text = await store.getRecord(SESSIONS_TABLE, idHash);
  if (text === undefined) return undefined;
  const record = decodeSession(text);
  const seenAt = await lastSeen(store, idHash, record);
  if (isExpired(record, seenAt, now, policy)) {
    await deleteSessions(store, [idHash]);
    return undefined;
  }
  if (now - seenAt >= policy.touchEveryMs) {
    await store.putRecords(SESSION_SEEN_TABLE, [{ key: idHash, value: new Date(now).toISOString() }]);
    return { idHash, record, lastSeenAt: new Date(now).toISOString() };
  }
  return { idHash, record, lastSeenAt: new Date(seenAt).toISOString() };
}

/** revokeSession ends one session (sign-out). */
export async function revokeSession(store: LedgerStore, idHash: string): Promise<void> {
  await deleteSessions(store, [idHash]);
}

/**
 * revokeUserSessions ends every session of `user` except `except` (an id hash: the session that
 * changed the password stays signed in). Returns how many it ended.
 */
export async function revokeUserSessions(store: LedgerStore, user: string, except?: string): Promise<number> {
  const doomed: string[] = [];
  for (const r of await allSessions(store)) {
    if (r.key !== except && decodeSession(r.value).user === user) doomed.push(r.key);
  }
  await deleteSessions(store, doomed);
  return doomed.length;
}

/**
 * sweepSessions deletes every ended session (and stray last-use rows). With `keepFor`, it also
 * ends the oldest live sessions of that user beyond `live`. Returns the live sessions per user.
 */
export async function sweepSessions(store: LedgerStore, options: SessionOptions & { keepFor?: { user: string; live: number } } = {}): Promise<Map<string, number>> {
  const policy = policyOf(options);
  const now = (options.now ?? Date.now)();
  const doomed: string[] = [];
  const live = new Map<string, number>();
  const mine: Array<{ key: string; createdAt: number }> = [];
  const keys = new Set<string>();
  for (const r of await allSessions(store)) {
    keys.add(r.key);
    const record = decodeSession(r.value);
    if (isExpired(record, await lastSeen(store, r.key, record), now, policy)) {
      doomed.push(r.key);
      continue;
    }
    live.set(record.user, (live.get(record.user) ?? 0) + 1);
    if (record.user === options.keepFor?.user) mine.push({ key: r.key, createdAt: Date.parse(record.createdAt) });
  }
  if (options.keepFor !== undefined && mine.length > options.keepFor.live) {
    mine.sort((a, b) => a.createdAt - b.createdAt);
    const excess = mine.slice(0, mine.length - Math.max(0, options.keepFor.live));
    doomed.push(...excess.map((m) => m.key));
    live.set(options.keepFor.user, mine.length - excess.length);
  }
  await deleteSessions(store, doomed);
  const stray = (await store.listRecords(SESSION_SEEN_TABLE, { limit: 10_000 })).filter((r) => !keys.has(r.key)).map((r) => r.key);
  if (stray.length > 0) await store.putRecords(SESSION_SEEN_TABLE, stray.map((key) => ({ key, value: undefined })));
  return live;
}

/** csrfTokenMatches compares a presented X-CSRF-Token with the session's, in constant time. */
export function csrfTokenMatches(session: LiveSession, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const want = Buffer.from(session.record.csrfToken, 'utf8');
  const got = Buffer.from(presented, 'utf8');
  return got.length === want.length && timingSafeEqual(got, want);
}

/** sessionIdFromCookies returns the `guzheng_session` value of a Cookie header, if any. */
export function sessionIdFromCookies(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * sessionCookie renders the Set-Cookie value for a session id: HttpOnly, SameSite=Strict, Path=/,
 * Secure when the request came over TLS; with `maxAgeSeconds` 0 it clears the cookie.
 */
export function sessionCookie(id: string, secure: boolean, maxAgeSeconds?: number): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}${maxAgeSeconds !== undefined ? `; Max-Age=${maxAgeSeconds}` : ''}`;
}
