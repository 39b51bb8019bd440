import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSIONS_TABLE, SESSION_SEEN_TABLE, createSession, csrfTokenMatches, findSession, hashSessionId, revokeSession, revokeUserSessions, sessionCookie, sessionIdFromCookies, sweepSessions } from '../../src/auth/sessions.js';
import { LevelStore } from '../../src/storage/level.js';

const HOUR = 3600_000;
let dir: string;
let store: LevelStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'guzheng-sessions-'));
  store = await LevelStore.open(dir);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function clock(start = Date.parse('2026-03-01T08:00:00Z')) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('sessions', () => {
  it('stores only the hash of a 256-bit id; finds it by the id', async () => {
    const c = clock();
    const { id, session } = await createSession(store, 'alice', { now: c.now });
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    expect(session.idHash).toBe(hashSessionId(id));
    expect(await store.getRecord(SESSIONS_TABLE, id)).toBeUndefined();
    const stored = JSON.parse((await store.getRecord(SESSIONS_TABLE, session.idHash)) as string);
    expect(stored).toEqual({ user: 'alice', csrfToken: session.record.csrfToken, createdAt: '2026-03-01T08:00:00.000Z', expiresAt: '2026-03-02T08:00:00.000Z' });
    const found = await findSession(store, id, { now: c.now });
    expect(found?.record.user).toBe('alice');
    expect(await findSession(store, id.slice(1) + 'A', { now: c.now })).toBeUndefined();
    expect(await findSession(store, 'short', { now: c.now })).toBeUndefined();
    expect(await findSession(store, session.idHash, { now: c.now })).toBeUndefined();
    // The id itself is in no LevelDB file.
    await store.close();
    const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)));
    expect(files.some((b) => b.includes(Buffer.from(id)))).toBe(false);
    store = await LevelStore.open(dir);
  });

  it('ends after 8 h idle; use refreshes it (at most once a minute)', async () => {
    const c = clock();
    const { id, session } = await createSession(store, 'idle', { now: c.now });
    c.advance(7 * HOUR);
    expect((await findSession(store, id, { now: c.now }))?.lastSeenAt).toBe(new Date(c.now()).toISOString());
    c.advance(30_000);
    // Within the minute: not written again.
    expect((await findSession(store, id, { now: c.now }))?.lastSeenAt).toBe(new Date(c.now() - 30_000).toISOString());
    c.advance(8 * HOUR - 30_001);
    expect(await findSession(store, id, { now: c.now })).toBeDefined();
    c.advance(8 * HOUR);
    expect(await findSession(store, id, { now: c.now })).toBeUndefined();
    // An ended session is deleted, with its last-use row.
    expect(await store.getRecord(SESSIONS_TABLE, session.idHash)).toBeUndefined();
    expect(await store.getRecord(SESSION_SEEN_TABLE, session.idHash)).toBeUndefined();
  });

  it('ends 24 h after sign-in however busy', async () => {
    const c = clock();
    const { id } = await createSession(store, 'busy', { now: c.now });
    for (let h = 0; h < 23; h++) {
      c.advance(HOUR);
      expect(await findSession(store, id, { now: c.now }), `hour ${h + 1}`).toBeDefined();
    }
    c.advance(HOUR - 1);
    expect(await findSession(store, id, { now: c.now })).toBeDefined();
    c.advance(1);
    expect(await findSession(store, id, { now: c.now })).toBeUndefined();
  });

  it('revokes one session, or all of a user but one; a revoked session is not brought back by a late use', async () => {
    const c = clock();
    const a = await createSession(store, 'bob', { now: c.now });
    const b = await createSession(store, 'bob', { now: c.now });
    const d = await createSession(store, 'bob', { now: c.now });
    const other = await createSession(store, 'carol', { now: c.now });
    await revokeSession(store, a.session.idHash);
    expect(await findSession(store, a.id, { now: c.now })).toBeUndefined();
    expect(await revokeUserSessions(store, 'bob', d.session.idHash)).toBe(1);
    expect(await findSession(store, b.id, { now: c.now })).toBeUndefined();
    expect(await findSession(store, d.id, { now: c.now })).toBeDefined();
    expect(await findSession(store, other.id, { now: c.now })).toBeDefined();
    // A use that read the session before the revocation writes only its last-use row.
    c.advance(120_000);
    const live = findSession(store, d.id, { now: c.now });
    await revokeUserSessions(store, 'bob');
    await live;
    expect(await findSession(store, d.id, { now: c.now })).toBeUndefined();
    expect(await revokeUserSessions(store, 'bob')).toBe(0);
  });

  it('keeps at most maxPerUser sessions: the oldest ends; sweeps ended ones and stray rows', async () => {
    const c = clock();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push((await createSession(store, 'dave', { now: c.now, policy: { maxPerUser: 3 } })).id);
      c.advance(1000);
    }
    const alive = await Promise.all(ids.map((id) => findSession(store, id, { now: c.now })));
    expect(alive.map((s) => s !== undefined)).toEqual([false, true, true, true]);
    await store.putRecords(SESSION_SEEN_TABLE, [{ key: 'f'.repeat(64), value: new Date(c.now()).toISOString() }]);
    c.advance(25 * HOUR);
    const live = await sweepSessions(store, { now: c.now });
    expect(live.get('dave')).toBeUndefined();
    expect(await store.listRecords(SESSIONS_TABLE, { limit: 100 })).toEqual([]);
    expect(await store.listRecords(SESSION_SEEN_TABLE, { limit: 100 })).toEqual([]);
  });

  it('compares CSRF tokens in constant time, refusing near misses', async () => {
    const { session } = await createSession(store, 'erin');
    const t = session.record.csrfToken;
    expect(csrfTokenMatches(session, t)).toBe(true);
    expect(csrfTokenMatches(session, undefined)).toBe(false);
    expect(csrfTokenMatches(session, '')).toBe(false);
    expect(csrfTokenMatches(session, t.slice(1))).toBe(false);
    expect(csrfTokenMatches(session, t + 'x')).toBe(false);
    for (let i = 0; i < t.length; i++) expect(csrfTokenMatches(session, t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1))).toBe(false);
  });

  it('parses and renders the cookie', () => {
    expect(sessionIdFromCookies('a=1; guzheng_session=abc; b=2')).toBe('abc');
    expect(sessionIdFromCookies('guzheng_session_x=1')).toBeUndefined();
    expect(sessionIdFromCookies(undefined)).toBeUndefined();
    expect(sessionCookie('abc', false)).toBe('guzheng_session=abc; Path=/; HttpOnly; SameSite=Strict');
    expect(sessionCookie('abc', true)).toBe('guzheng_session=abc; Path=/; HttpOnly; SameSite=Strict; Secure');
    expect(sessionCookie('', false, 0)).toBe('guzheng_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
  });
});
