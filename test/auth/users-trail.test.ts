import { describe, expect, it } from 'vitest';
import { AdminTrail, TRAIL_TABLE } from '../../src/auth/admin-trail.js';
import { verifyPassword } from '../../src/auth/passwords.js';
import { createUser, getUser, isUserName, listUsers, resetPassword, setDisabled, setPassword, userView } from '../../src/auth/users.js';
import { MemoryStore } from '../../src/storage/memory.js';

describe('users', () => {
  it('names: [a-z0-9][a-z0-9._-]{1,31}', () => {
    for (const ok of ['ab', 'alice', 'a.b_c-d', '0perator', 'x'.repeat(32)]) expect(isUserName(ok), ok).toBe(true);
    for (const bad of ['a', 'Alice', '.alice', '-a', '_a', 'x'.repeat(33), 'al ice', 'al/ice', 'ali\u00e7e', '', 'a:b']) expect(isUserName(bad), bad).toBe(false);
  });

  it('creates with a one-time password, refuses a taken name, never shows the hash', async () => {
    const store = new MemoryStore();
    const made = await createUser(store, 'alice', 'submit', { now: new Date('2026-03-01T00:00:00Z') });
    if (made === undefined) throw new Error('not created');
    expect(made.user).toMatchObject({ name: 'alice', role: 'submit', mustChangePassword: true, createdAt: '2026-03-01T00:00:00.000Z' });
    expect(await verifyPassword(made.password, made.user.passwordHash)).toBe(true);
    expect(await createUser(store, 'alice', 'admin')).toBeUndefined();
    expect((await getUser(store, 'alice'))?.role).toBe('submit');
    expect(Object.keys(userView(made.user)).sort()).toEqual(['createdAt', 'mustChangePassword', 'name', 'role']);
    await expect(createUser(store, 'Bad', 'submit')).rejects.toThrow(/user name/);
    await expect(createUser(store, 'bob', 'root' as 'admin')).rejects.toThrow(/role/);
    expect(await getUser(store, '../x')).toBeUndefined();
  });

  it('changes, resets, disables and enables', async () => {
    const store = new MemoryStore();
    const made = await createUser(store, 'bob', 'audit');
    if (made === undefined) throw new Error('not created');
    const changed = await setPassword(store, made.user, 'a new long password', false);
    expect(changed.mustChangePassword).toBe(false);
    expect(await verifyPassword('a new long password', (await getUser(store, 'bob'))!.passwordHash)).toBe(true);
    const reset = await resetPassword(store, changed);
    expect(reset.user.mustChangePassword).toBe(true);
    expect(await verifyPassword(reset.password, (await getUser(store, 'bob'))!.passwordHash)).toBe(true);
    const off = await setDisabled(store, reset.user, true, new Date('2026-03-02T00:00:00Z'));
    expect(off.disabledAt).toBe('2026-03-02T00:00:00.000Z');
    expect(userView(off, true).disabledAt).toBe('2026-03-02T00:00:00.000Z');
    expect(userView(off).disabledAt).toBeUndefined();
    const on = await setDisabled(store, off, false);
    expect(on.disabledAt).toBeUndefined();
    expect((await getUser(store, 'bob'))?.disabledAt).toBeUndefined();
    expect((await listUsers(store)).map((u) => u.name)).toEqual(['bob']);
  });
});

describe('admin trail', () => {
  it('appends in sequence (also when appends race) and lists newest first, page by page', async () => {
    const store = new MemoryStore();
    const trail = new AdminTrail(store, () => new Date('2026-03-01T00:00:00Z'));
    await Promise.all(Array.from({ length: 25 }, (_, i) => trail.append({ actor: 'cli', action: 'user.create', target: `user:u${i}` })));
    const keys = (await store.listRecords(TRAIL_TABLE, { limit: 100 })).map((r) => r.key);
    expect(keys[0]).toBe('0000000000000001');
    expect(keys).toHaveLength(25);
    const seen: number[] = [];
    let before: number | undefined;
    for (;;) {
      const page: { events: Array<{ seq: number }>; next?: number } = await trail.list({ limit: 10, ...(before !== undefined ? { before } : {}) });
      seen.push(...page.events.map((e) => e.seq));
      if (page.next === undefined) break;
      before = page.next;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => 25 - i));
    const first = await trail.list({ limit: 1 });
    expect(first).toEqual({ events: [{ seq: 25, at: '2026-03-01T00:00:00.000Z', actor: 'cli', action: 'user.create', target: expect.stringMatching(/^user:u/) }], next: 25 });
    expect(await trail.list({ limit: 5, before: 1 })).toEqual({ events: [] });
    expect((await trail.list({ limit: 5, before: 3 })).events.map((e) => e.seq)).toEqual([2, 1]);
    // A second writer on the same store continues the sequence.
    expect((await new AdminTrail(store).append({ actor: 'cli', action: 'key.revoke', target: 'key-000000000000', detail: 'x' })).seq).toBe(26);
    await expect(trail.list({ limit: 0 })).rejects.toThrow(/limit/);
  });
});
