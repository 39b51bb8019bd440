/**
 * The append path's hashing and compact range (src/core/merkle/hash.ts, compact.ts) reuse scratch
 * buffers and count merges on numbers: they must still give RFC 9162 hashes and emit exactly the
 * nodes of the plain bigint algorithm, at every size class up to 2^64 − 1.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_UINT64, concatBytes, toHex, utf8 } from '../../src/core/bytes.js';
import { sha256, sha256Pure, useSha256 } from '../../src/core/crypto.js';
import { CompactRange, rightEdge } from '../../src/core/merkle/compact.js';
import { hashChildren, hashLeaf } from '../../src/core/merkle/hash.js';
import type { NodeHash } from '../../src/core/merkle/node.js';
import { installNodeCrypto } from '../../src/platform/node-crypto.js';

/** The append of a compact range as first written: bigint bit tests, a fresh array per leaf. */
function referenceAppend(size: bigint, hashes: Uint8Array[], leaf: Uint8Array): NodeHash[] {
  const created: NodeHash[] = [{ level: 0, index: size, hash: leaf }];
  let hash = leaf;
  let index = size;
  let level = 0;
  while ((index & 1n) === 1n) {
    const left = hashes.pop()!;
    hash = sha256Pure(concatBytes(Uint8Array.of(1), left, hash));
    index >>= 1n;
    level++;
    created.push({ level, index, hash });
  }
  hashes.push(hash);
  return created;
}

const show = (nodes: readonly NodeHash[]) => nodes.map((n) => `${n.level}/${n.index}/${toHex(n.hash)}`);

describe.each([
  ['pure SHA-256', () => useSha256()],
  ['node:crypto SHA-256', () => installNodeCrypto()],
])('merkle append path with %s', (_, install) => {
  afterAll(() => useSha256());

  it('hashes leaves of every length (scratch growth, the 65,535-byte limit and past it) and nodes as RFC 9162', () => {
    install();
    const lengths = [0, 1, 31, 32, 63, 64, 65, 1023, 1024, 1025, 3000, 65_535, 65_536, 70_000, 5, 2048];
    for (const n of lengths) {
      const data = new Uint8Array(n).map((_, i) => (i * 7 + n) & 255);
      expect(toHex(hashLeaf(data))).toBe(toHex(sha256Pure(concatBytes(Uint8Array.of(0), data))));
      // A view into a larger buffer hashes only its bytes.
      const big = new Uint8Array(n + 10).fill(9);
      big.set(data, 3);
      expect(toHex(hashLeaf(big.subarray(3, 3 + n)))).toBe(toHex(sha256Pure(concatBytes(Uint8Array.of(0), data))));
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 2000 }), (l, r, d) => {
        const a = hashChildren(l, r);
        const leaf = hashLeaf(d);
        const b = hashChildren(r, l);
        // Outputs are independent arrays: a later call never changes an earlier result.
        expect(toHex(a)).toBe(toHex(sha256Pure(concatBytes(Uint8Array.of(1), l, r))));
        expect(toHex(b)).toBe(toHex(sha256Pure(concatBytes(Uint8Array.of(1), r, l))));
        expect(toHex(leaf)).toBe(toHex(sha256Pure(concatBytes(Uint8Array.of(0), d))));
        expect(a).not.toBe(b);
      }),
      { numRuns: 300 },
    );
    expect(() => hashChildren(new Uint8Array(31), new Uint8Array(32))).toThrow(/want 32/);
  });

  it('emits the reference nodes, appendTo as append, at sizes around 2^32, 2^53 and 2^64', () => {
    install();
    const starts = [0n, 1n, 6n, 2n ** 32n - 5n, 2n ** 53n - 9n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 60n - 3n, MAX_UINT64 - 17n];
    for (const start of starts) {
      const edge = rightEdge(start).map((_, i) => sha256(utf8(`edge ${start} ${i}`)));
      const a = CompactRange.fromRightEdge(start, edge);
      const b = CompactRange.fromRightEdge(start, edge);
      const ref = edge.map((h) => h.slice());
      let size = start;
      for (let i = 0; i < 40 && size < MAX_UINT64; i++, size++) {
        const leaf = sha256(utf8(`leaf ${size}`));
        const want = referenceAppend(size, ref, leaf);
        const out: NodeHash[] = [{ level: 9, index: 9n, hash: new Uint8Array(32) }];
        expect(a.appendTo(leaf, out)).toBe(size);
        expect(show(out.slice(1))).toEqual(show(want));
        expect(show(b.append(leaf))).toEqual(show(want));
        expect(a.size).toBe(size + 1n);
        expect(toHex(a.root())).toBe(toHex(b.root()));
        expect(a.hashes().map(toHex)).toEqual(ref.map(toHex));
      }
      if (size === MAX_UINT64) expect(() => a.append(new Uint8Array(32))).toThrow(/tree is full/);
    }
  });
});
