import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { sha256, sha256Pure, useSha256 } from '../../src/core/crypto.js';
import { toHex } from '../../src/core/bytes.js';
import { installNodeCrypto, nodeSha256 } from '../../src/platform/node-crypto.js';

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
