import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT, KdfGate, KEY_BYTES, SALT_BYTES, generatePassword, hashPassword, needsRehash, parametersOf, passwordProblem, spendVerifyTime, verifyPassword } from '../../src/auth/passwords.js';

// The cheapest parameters the module admits, so the mangling loop stays fast.
const CHEAP = { N: 2 ** 14, r: 8, p: 1 };

describe('passwords', () => {
  it('hashes with scrypt and the default parameters, recorded in a self-describing string', async () => {
    const stored = await hashPassword('correct horse battery');
    const parts = stored.split('$');
    expect(parts).toHaveLength(6);
    expect(parts.slice(0, 4)).toEqual(['scrypt', String(2 ** 16), '8', '1']);
    expect(Buffer.from(parts[4] as string, 'base64url')).toHaveLength(SALT_BYTES);
    expect(Buffer.from(parts[5] as string, 'base64url')).toHaveLength(KEY_BYTES);
    expect(parametersOf(stored)).toEqual(DEFAULT_SCRYPT);
    expect(needsRehash(stored)).toBe(false);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse batterY', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('salts: the same password twice gives two hashes, both verifying', async () => {
    const a = await hashPassword('same password', CHEAP);
    const b = await hashPassword('same password', CHEAP);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same password', b)).toBe(true);
    expect(needsRehash(a)).toBe(true);
    expect(parametersOf(a)).toEqual(CHEAP);
  });

  it('verifies with the stored parameters; NFC and NFD spellings match', async () => {
    const stored = await hashPassword('caf\u00e9-caf\u00e9-caf\u00e9', CHEAP);
    expect(await verifyPassword('cafe\u0301-cafe\u0301-cafe\u0301', stored)).toBe(true);
  });

  it('refuses malformed stored hashes (every byte mangled, truncations, absurd parameters)', async () => {
    const stored = await hashPassword('mangle me please', CHEAP);
    const bad = new Set<string>();
    for (let i = 0; i < stored.length; i++) {
      bad.add(stored.slice(0, i));
      const c = stored.charCodeAt(i);
      for (const d of [c - 1, c + 1]) bad.add(stored.slice(0, i) + String.fromCharCode(d) + stored.slice(i + 1));
    }
    bad.add(stored + '$');
    bad.add(stored.replace('scrypt$16384', 'scrypt$1048577'));
    bad.add(stored.replace('scrypt$16384', 'scrypt$2097152'));
    bad.add(stored.replace('scrypt$16384', 'scrypt$016384'));
    bad.add(stored.replace('$8$1$', '$99$1$'));
    bad.add(stored.replace('$8$1$', '$8$0$'));
    bad.delete(stored);
    let refused = 0;
    let mismatched = 0;
    for (const s of bad) {
      // A change inside the salt or key that keeps it well-formed is a mismatch; anything else is refused.
      const r = await verifyPassword('mangle me please', s).then(
        (ok) => (ok ? 'accepted' : 'mismatch'),
        () => 'refused',
      );
      expect(r, s).not.toBe('accepted');
      if (r === 'refused') refused++;
      else mismatched++;
    }
    expect(refused).toBeGreaterThan(bad.size / 3);
    expect(mismatched).toBeGreaterThan(0);
    await expect(verifyPassword('x', 'not a hash')).rejects.toThrow(/malformed/);
    await expect(verifyPassword('x', '')).rejects.toThrow(/malformed/);
  }, 120_000);

  it('spends the time of a real verification on an unknown user, and never matches', async () => {
    const stored = await hashPassword('timing twin password');
    const t0 = performance.now();
    await verifyPassword('timing twin password', stored);
    const real = performance.now() - t0;
    const t1 = performance.now();
    expect(await spendVerifyTime('timing twin password')).toBe(false);
    const dummy = performance.now() - t1;
    expect(dummy).toBeGreaterThan(real / 3);
  });

  it('generates one-time passwords of 16 base32 characters that pass the policy', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      expect(p).toMatch(/^[A-Z2-7]{16}$/);
      expect(passwordProblem('alice', p)).toBeUndefined();
      seen.add(p);
    }
    expect(seen.size).toBe(200);
  });

  it('policy: at least 10 characters, not the user name', () => {
    expect(passwordProblem('alice', 'short')).toMatch(/at least 10/);
    expect(passwordProblem('alice', '123456789')).toMatch(/at least 10/);
    expect(passwordProblem('alice', '1234567890')).toBeUndefined();
    expect(passwordProblem('alice.long', 'alice.long')).toMatch(/user name/);
    expect(passwordProblem('alice.long', 'ALICE.LONG')).toMatch(/user name/);
    // Characters, not UTF-16 units: ten CJK characters pass, five astral ones (ten units) do not.
    expect(passwordProblem('alice', '一二三四五六七八九十')).toBeUndefined();
    expect(passwordProblem('alice', '😀😀😀😀😀')).toMatch(/at least 10/);
    expect(passwordProblem('alice', 'x'.repeat(1025))).toMatch(/at most/);
  });

  it('refuses parameters out of bounds when hashing', async () => {
    await expect(hashPassword('p', { N: 1000, r: 8, p: 1 })).rejects.toThrow(/power of two/);
    await expect(hashPassword('p', { N: 2 ** 14, r: 0, p: 1 })).rejects.toThrow(/r 0/);
  });
});

describe('KdfGate', () => {
  it('runs at most `concurrency` at once and refuses past the queue', async () => {
    const gate = new KdfGate({ concurrency: 1, queue: 2 });
    let running = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const job = () =>
      gate.run(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((r) => releases.push(r));
        running--;
        return 1;
      });
    const a = job();
    const b = job();
    const c = job();
    expect(await gate.run(async () => 2)).toBeUndefined();
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 5));
      releases.shift()?.();
    }
    expect(await Promise.all([a, b, c])).toEqual([{ value: 1 }, { value: 1 }, { value: 1 }]);
    expect(most).toBe(1);
    expect(await gate.run(async () => 3)).toEqual({ value: 3 });
  });
});
