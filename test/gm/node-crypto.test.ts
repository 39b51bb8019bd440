/**
 * The native SM3 that installNodeCrypto installs for gm logs (node:crypto, i.e. OpenSSL 3) against
 * the pure-JS one (sm-crypto-v2) and GB/T 32905-2016's examples, as test/platform does for SHA-256.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { sm3, sm3Pure, useSm3 } from '../../src/core/crypto-gm.js';
import { useSha256 } from '../../src/core/crypto.js';
import { GM } from '../../src/core/suite.js';
import { installNodeCrypto, nodeSm3 } from '../../src/platform/node-crypto.js';

describe('SM3 implementations (differential)', () => {
  afterAll(() => {
    useSm3();
    useSha256();
  });

  it('node:crypto one-shot and sm-crypto-v2 agree on random inputs of every small length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 4096 }), (data) => {
        expect(toHex(nodeSm3(data))).toBe(toHex(sm3Pure(data)));
      }),
      { numRuns: 1000 },
    );
    // Every length around SM3's 64-byte block and its 9-byte padding boundary (55/56), and more.
    for (let n = 0; n <= 200; n++) {
      const data = new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff);
      expect(toHex(nodeSm3(data))).toBe(toHex(sm3Pure(data)));
      expect(toHex(nodeSm3(data))).toBe(createHash('sm3').update(data).digest('hex'));
    }
  });

  it('agrees on the GB/T 32905-2016 known answers (Appendix A examples 1 and 2)', () => {
    const abc = new TextEncoder().encode('abc');
    const abcd16 = new TextEncoder().encode('abcd'.repeat(16));
    for (const f of [nodeSm3, sm3Pure]) {
      expect(toHex(f(abc))).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
      expect(toHex(f(abcd16))).toBe('debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732');
    }
  });

  it('is installed into the core by installNodeCrypto: the gm suite hashes through it', () => {
    useSm3();
    let calls = 0;
    useSm3((d) => (calls++, sm3Pure(d)));
    installNodeCrypto();
    calls = 0;
    expect(toHex(sm3(new Uint8Array()))).toBe('1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b');
    expect(toHex(GM.tree.hashLeaf(new Uint8Array([1, 2, 3])))).toBe(createHash('sm3').update(Uint8Array.of(0, 1, 2, 3)).digest('hex'));
    // The counting implementation was replaced: the native one answered.
    expect(calls).toBe(0);
    expect(() => useSm3(() => new Uint8Array(32))).toThrow(/want 66c7f0f4/);
  });

  it('returns a plain Uint8Array view, not a pooled Buffer slice that could be overwritten', () => {
    const a = nodeSm3(new Uint8Array([1]));
    const b = nodeSm3(new Uint8Array([2]));
    expect(toHex(a)).not.toBe(toHex(b));
    expect(a.length).toBe(32);
  });
});
