import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { SMALL_ORDER_ENCODINGS, ed25519PublicKey, ed25519Pure, ed25519Verify, sha256, sha256Pure, useEd25519, useSha256 } from '../../src/core/crypto.js';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { installNodeCrypto, nodeEd25519, nodeSha256 } from '../../src/platform/node-crypto.js';

describe('SHA-256 implementations (differential)', () => {
  afterAll(() => useSha256());

  it('node:crypto one-shot and @noble/hashes agree on random inputs of every small length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 4096 }), (data) => {
        expect(toHex(nodeSha256(data))).toBe(toHex(sha256Pure(data)));
      }),
      { numRuns: 2000 },
    );
    for (let n = 0; n <= 200; n++) {
      const data = new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff);
      expect(toHex(nodeSha256(data))).toBe(toHex(sha256Pure(data)));
      expect(toHex(nodeSha256(data))).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });

  it('agrees on FIPS 180-4 known answers', () => {
    const abc = new TextEncoder().encode('abc');
    const two = new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    for (const f of [nodeSha256, sha256Pure]) {
      expect(toHex(f(abc))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      expect(toHex(f(two))).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    }
  });

  it('is installed into the core, and a wrong implementation is refused', () => {
    installNodeCrypto();
    expect(toHex(sha256(new Uint8Array()))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(() => useSha256(() => new Uint8Array(32))).toThrow(/want ba7816bf/);
    useSha256();
  });

  it('returns a plain Uint8Array view, not a pooled Buffer slice that could be overwritten', () => {
    const a = nodeSha256(new Uint8Array([1]));
    const b = nodeSha256(new Uint8Array([2]));
    expect(toHex(a)).not.toBe(toHex(b));
    expect(a.length).toBe(32);
  });
});

describe('Ed25519 implementations (differential)', () => {
  afterAll(() => useEd25519());
  const sign = (seed: Uint8Array, m: Uint8Array) => ed25519Pure.sign(seed, m);

  it('OpenSSL signs byte for byte as @noble/curves (RFC 8032 signing is deterministic)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 600 }), (seed, message) => {
        expect(toHex(nodeEd25519.sign(seed, message))).toBe(toHex(sign(seed, message)));
      }),
      { numRuns: 300 },
    );
  });

  it('the installed verifier answers as the pure one on valid, mutated and crafted signatures', () => {
    installNodeCrypto();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), fc.nat(511), (seed, message, bit) => {
        const pub = ed25519PublicKey(seed);
        const sig = sign(seed, message);
        expect(ed25519Verify(pub, message, sig)).toBe(true);
        const bad = sig.slice();
        bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(ed25519Verify(pub, message, bad)).toBe(ed25519Pure.verify(pub, message, bad));
        const badKey = pub.slice();
        badKey[bit & 31] = (badKey[bit & 31] as number) ^ 1;
        expect(ed25519Verify(badKey, message, sig)).toBe(ed25519Pure.verify(badKey, message, sig));
      }),
      { numRuns: 300 },
    );
    useEd25519();
  });

  it('refuses the crafted cases the strict verifier refuses, where OpenSSL alone may not', () => {
    installNodeCrypto();
    const seed = new Uint8Array(32).fill(7);
    const pub = ed25519PublicKey(seed);
    const message = new TextEncoder().encode('crafted');
    const sig = sign(seed, message);
    // S + L: the same signature with a non-canonical S (RFC 8032 §5.1.7 requires S < L).
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i] as number);
    const big = sig.slice();
    let t = s + L;
    for (let i = 32; i < 64; i++) (big[i] = Number(t & 0xffn)), (t >>= 8n);
    expect(ed25519Verify(pub, message, big)).toBe(false);
    expect(ed25519Pure.verify(pub, message, big)).toBe(false);
    // A small-order key with a signature (R = identity, S = 0) that satisfies the cofactorless
    // equation for every message: OpenSSL may take it; the strict verifier must not.
    const identityR = new Uint8Array(64);
    identityR[0] = 1;
    // OpenSSL does take some of them (so the strict checks before it are what refuses them).
    expect(SMALL_ORDER_ENCODINGS.filter((hex) => nodeEd25519.verify(fromHex(hex), message, identityR)).length).toBeGreaterThan(0);
    for (const hex of SMALL_ORDER_ENCODINGS) {
      const a = fromHex(hex);
      const forged = identityR;
      expect(ed25519Verify(a, message, forged)).toBe(false);
      expect(ed25519Pure.verify(a, message, forged)).toBe(false);
    }
    // A non-canonical key encoding (y = p + 1, which reduces to the identity's y).
    const nonCanonical = fromHex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    expect(ed25519Verify(nonCanonical, message, sig)).toBe(false);
    useEd25519();
  });

  it('the small-order list is exactly the encodings of the curve\'s 8-torsion points', () => {
    const P = ed25519.Point;
    // Any point of order 8 generates the torsion subgroup; its multiples 0..7 are all of it.
    const t8 = P.fromHex(SMALL_ORDER_ENCODINGS[4] as string);
    const all = new Set<string>();
    for (let k = 0n; k < 8n; k++) all.add(toHex((k === 0n ? P.ZERO : t8.multiplyUnsafe(k)).toBytes()));
    expect([...all].sort()).toEqual([...SMALL_ORDER_ENCODINGS].sort());
    expect(t8.multiplyUnsafe(4n).equals(P.ZERO)).toBe(false);
  });

  it('a wrong implementation is refused at install', () => {
    expect(() => useEd25519({ sign: () => new Uint8Array(64), verify: () => true })).toThrow(/RFC 8032 TEST 2/);
    expect(() => useEd25519({ sign: nodeEd25519.sign, verify: () => true })).toThrow(/does not verify/);
    useEd25519();
  });
});
