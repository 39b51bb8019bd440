import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MerkleTree } from 'merkletreejs';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { sha256 } from '../../src/core/crypto.js';
import { isLedgerError } from '../../src/core/errors.js';
import {
  CompactRange,
  buildProof,
  emptyRoot,
  hashChildren,
  hashLeaf,
  planConsistency,
  planInclusion,
  rangeNodes,
  rightEdge,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from '../../src/core/merkle/index.js';
import { refConsistency, refInclusion, refRoot } from '../support/reference-merkle.js';
import { MemoryNodes, testLeafData } from '../support/memory-nodes.js';

// RFC 6962 / certificate-transparency reference leaves and tree heads.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

function treeOf(n: number): MemoryNodes {
  const t = new MemoryNodes();
  for (let i = 0; i < n; i++) t.appendData(testLeafData(i));
  return t;
}

function proveInclusion(t: MemoryNodes, index: number, size: number): Uint8Array[] {
  const plan = planInclusion(BigInt(index), BigInt(size));
  return buildProof(plan, t.read(plan.ids));
}

function proveConsistency(t: MemoryNodes, size1: number, size2: number): Uint8Array[] {
  const plan = planConsistency(BigInt(size1), BigInt(size2));
  return buildProof(plan, t.read(plan.ids));
}

const hexes = (hs: readonly Uint8Array[]) => hs.map(toHex);

function flipBit(h: Uint8Array, bit: number): Uint8Array {
  const c = h.slice();
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
}

describe('hashing (RFC 9162 §2.1.1)', () => {
  it('reproduces the RFC 6962 reference roots for sizes 0..8', () => {
    const t = new MemoryNodes();
    expect(toHex(t.range.root())).toBe(CT_ROOTS[0]);
    CT_LEAVES.forEach((l, i) => {
      t.appendData(fromHex(l));
      expect(toHex(t.range.root()), `size ${i + 1}`).toBe(CT_ROOTS[i + 1]);
    });
  });

  it('uses domain-separated leaf and node hashes', () => {
    expect(toHex(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(hashLeaf(fromHex('00')))).toBe('96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7');
    const l = hashLeaf(new Uint8Array());
    const r = hashLeaf(fromHex('00'));
    expect(toHex(hashChildren(l, r))).toBe(CT_ROOTS[2]);
    expect(toHex(hashChildren(l, r))).toBe(toHex(sha256(new Uint8Array([1, ...l, ...r]))));
  });

  it('reproduces the CT reference audit paths in the 8-leaf tree', () => {
    const t = new MemoryNodes();
    CT_LEAVES.forEach((l) => t.appendData(fromHex(l)));
    expect(hexes(proveInclusion(t, 0, 8))).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(hexes(proveInclusion(t, 5, 8))).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
  });
});

describe('compact range', () => {
  it('matches the recursive MTH and emits every perfect subtree exactly once', () => {
    const t = new MemoryNodes(); // MemoryNodes throws on a node written twice
    for (let n = 1; n <= 300; n++) {
      t.appendData(testLeafData(n - 1));
      expect(toHex(t.range.root())).toBe(toHex(refRoot(t.leaves)));
    }
    // 300 leaves have 300 + 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1 perfect subtrees.
    expect(t.nodes.size).toBe(300 + 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1);
  });

  it('rebuilds from its stored right edge and continues identically', () => {
    const t = treeOf(77);
    const edge = rightEdge(77n);
    expect(edge.map((id) => `${id.level}/${id.index}`)).toEqual(['6/0', '3/8', '2/18', '0/76']);
    const again = CompactRange.fromRightEdge(77n, t.read(edge));
    expect(toHex(again.root())).toBe(toHex(t.range.root()));
    const next = hashLeaf(testLeafData(77));
    again.append(next);
    t.appendLeafHash(next);
    expect(toHex(again.root())).toBe(toHex(t.range.root()));
  });

  it('rejects a right edge of the wrong shape', () => {
    expect(() => CompactRange.fromRightEdge(3n, [new Uint8Array(32)])).toThrow(/want 2/);
    expect(() => CompactRange.fromRightEdge(1n, [new Uint8Array(31)])).toThrow(/32 bytes/);
  });

  it('decomposes ranges into maximal aligned subtrees', () => {
    expect(rangeNodes(0n, 0n)).toEqual([]);
    expect(rangeNodes(4n, 7n)).toEqual([
      { level: 1, index: 2n },
      { level: 0, index: 6n },
    ]);
    expect(rangeNodes(3n, 13n).map((n) => `${n.level}/${n.index}`)).toEqual(['0/3', '2/1', '2/2', '0/12']);
  });
});

describe('proof planning and building', () => {
  const t = treeOf(70);

  it('gives RFC 9162 PATH(m, D[n]) for every m < n <= 70', () => {
    for (let n = 1; n <= 70; n++) {
      const leaves = t.leaves.slice(0, n);
      for (let m = 0; m < n; m++) {
        expect(hexes(proveInclusion(t, m, n)), `PATH(${m}, ${n})`).toEqual(hexes(refInclusion(m, leaves)));
      }
    }
  });

  it('gives RFC 9162 PROOF(m, D[n]) for every m <= n <= 70', () => {
    for (let n = 0; n <= 70; n++) {
      const leaves = t.leaves.slice(0, n);
      for (let m = 0; m <= n; m++) {
        expect(hexes(proveConsistency(t, m, n)), `PROOF(${m}, ${n})`).toEqual(hexes(refConsistency(m, leaves)));
      }
    }
  });

  it('reads O(log n) nodes and never an imperfect subtree', () => {
    const big = treeOf(1000);
    big.reads = 0;
    proveInclusion(big, 999, 1000);
    expect(big.reads).toBeLessThanOrEqual(2 * 10);
    big.reads = 0;
    proveConsistency(big, 513, 1000);
    expect(big.reads).toBeLessThanOrEqual(3 * 10);
  });

  it('rejects impossible requests as input errors', () => {
    expect(() => planInclusion(5n, 5n)).toThrow(/out of range/);
    expect(() => planConsistency(6n, 5n)).toThrow(/size1 6 > size2 5/);
    expect(() => planInclusion(-1n, 5n)).toThrow(/uint64/);
    expect(() => planInclusion(0n, 1n << 64n)).toThrow(/uint64/);
    const plan = planInclusion(0n, 5n);
    expect(() => buildProof(plan, [])).toThrow(/got 0 hashes, want 3/);
  });

  it('plans proofs in trees beyond 2^32 and 2^53 without truncation', () => {
    const size = (1n << 40n) + 5n;
    const p = planInclusion((1n << 40n) + 4n, size);
    // siblings: the 4-leaf subtree [2^40, 2^40+4) and the perfect 2^40 subtree on the left.
    expect(p.ids.map((n) => `${n.level}/${n.index}`)).toEqual(['2/' + String((1n << 40n) >> 2n), '40/0']);
    const c = planConsistency((1n << 53n) + 1n, (1n << 60n) + 3n);
    expect(c.ids[0]).toEqual({ level: 0, index: 1n << 53n });
  });
});

describe('verification (RFC 9162 §2.1.3.2, §2.1.4.2)', () => {
  const t = treeOf(40);
  const roots = [emptyRoot(), ...t.leaves.map((_, i) => refRoot(t.leaves.slice(0, i + 1)))];

  it('accepts every valid proof and rejects every single-bit change', () => {
    for (let n = 1; n <= 40; n++) {
      for (let m = 0; m < n; m++) {
        const proof = proveInclusion(t, m, n);
        verifyInclusion(BigInt(m), BigInt(n), t.leaves[m]!, proof, roots[n]!);
        for (let k = 0; k < proof.length; k++) {
          const bad = proof.slice();
          bad[k] = flipBit(bad[k]!, (m * 7 + k) % 256);
          expect(() => verifyInclusion(BigInt(m), BigInt(n), t.leaves[m]!, bad, roots[n]!)).toThrow(/invalid proof/);
        }
        expect(() => verifyInclusion(BigInt(m), BigInt(n), flipBit(t.leaves[m]!, 0), proof, roots[n]!)).toThrow();
      }
    }
  });

  it('accepts every valid consistency proof and rejects corrupted ones', () => {
    for (let n = 0; n <= 40; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = proveConsistency(t, m, n);
        verifyConsistency(BigInt(m), BigInt(n), proof, roots[m]!, roots[n]!);
        for (let k = 0; k < proof.length; k++) {
          const bad = proof.slice();
          bad[k] = flipBit(bad[k]!, 255);
          expect(() => verifyConsistency(BigInt(m), BigInt(n), bad, roots[m]!, roots[n]!)).toThrow(/invalid proof/);
        }
        if (m > 0 && m < n) {
          expect(() => verifyConsistency(BigInt(m), BigInt(n), proof.slice(1), roots[m]!, roots[n]!)).toThrow();
          expect(() => verifyConsistency(BigInt(m), BigInt(n), [...proof, roots[1]!], roots[m]!, roots[n]!)).toThrow();
          expect(() => verifyConsistency(BigInt(m), BigInt(n), proof, roots[n]!, roots[m]!)).toThrow();
        }
      }
    }
  });

  it('applies the documented policy at size 0 and equal sizes', () => {
    verifyConsistency(0n, 0n, [], emptyRoot(), emptyRoot());
    expect(() => verifyConsistency(0n, 0n, [], roots[1]!, roots[1]!)).toThrow(/invalid proof/);
    expect(() => verifyConsistency(0n, 0n, [], emptyRoot(), roots[1]!)).toThrow(/invalid proof/);
    verifyConsistency(0n, 5n, [], emptyRoot(), roots[5]!);
    expect(() => verifyConsistency(0n, 5n, [], roots[1]!, roots[5]!)).toThrow(/invalid proof/);
    expect(() => verifyConsistency(0n, 5n, [roots[1]!], emptyRoot(), roots[5]!)).toThrow(/invalid proof/);
    expect(() => verifyConsistency(5n, 5n, [roots[5]!], roots[5]!, roots[5]!)).toThrow(/invalid proof/);
    expect(() => verifyConsistency(5n, 5n, [], roots[5]!, roots[4]!)).toThrow(/invalid proof/);
    expect(() => verifyConsistency(6n, 5n, [], roots[5]!, roots[5]!)).toThrow(/size1 6 > size2 5/);
  });

  it('reports a failed proof with one opaque code and malformed input with another', () => {
    try {
      verifyInclusion(0n, 2n, t.leaves[0]!, [t.leaves[0]!], roots[2]!);
      expect.unreachable();
    } catch (err) {
      expect(isLedgerError(err, 'PROOF_INVALID')).toBe(true);
    }
    try {
      verifyInclusion(0n, 2n, t.leaves[0]!, [new Uint8Array(31)], roots[2]!);
      expect.unreachable();
    } catch (err) {
      expect(isLedgerError(err, 'INPUT_INVALID')).toBe(true);
    }
    expect(() => rootFromInclusionProof(2n, 2n, t.leaves[0]!, [])).toThrow(/invalid proof/);
  });
});

describe('properties (fast-check)', () => {
  const big = treeOf(3000);
  const rootAt = (n: number) => CompactRange.fromRightEdge(BigInt(n), big.read(rightEdge(BigInt(n)))).root();

  it('every inclusion proof verifies and any bit flip breaks it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.nat(), fc.nat(), (n, mSeed, bitSeed) => {
        const m = mSeed % n;
        const root = rootAt(n);
        const proof = proveInclusion(big, m, n);
        verifyInclusion(BigInt(m), BigInt(n), big.leaves[m]!, proof, root);
        if (proof.length === 0) return;
        const k = bitSeed % proof.length;
        const bad = proof.slice();
        bad[k] = flipBit(bad[k]!, bitSeed % 256);
        expect(() => verifyInclusion(BigInt(m), BigInt(n), big.leaves[m]!, bad, root)).toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it('every consistency proof verifies and any bit flip breaks it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.nat(), fc.nat(), (n, mSeed, bitSeed) => {
        const m = mSeed % (n + 1);
        const proof = proveConsistency(big, m, n);
        const r1 = rootAt(m);
        const r2 = rootAt(n);
        verifyConsistency(BigInt(m), BigInt(n), proof, r1, r2);
        if (proof.length === 0) return;
        const k = bitSeed % proof.length;
        const bad = proof.slice();
        bad[k] = flipBit(bad[k]!, bitSeed % 256);
        expect(() => verifyConsistency(BigInt(m), BigInt(n), bad, r1, r2)).toThrow();
      }),
      { numRuns: 300 },
    );
  });
});

describe('differential: merkletreejs with RFC 6962 settings', () => {
  // Pre-hashed leaves (0x00 prefix applied by us), node hash SHA-256(0x01 || l || r), default
  // options (no sorting, odd node promoted): merkletreejs then builds the RFC 6962 tree.
  const nodeHash = (data: Buffer) => Buffer.from(sha256(new Uint8Array([1, ...data])));

  it('agrees on roots and audit paths for sizes 1..130', () => {
    const t = treeOf(130);
    for (let n = 1; n <= 130; n++) {
      const leaves = t.leaves.slice(0, n).map((l) => Buffer.from(l));
      const other = new MerkleTree(leaves, nodeHash);
      const root = CompactRange.fromRightEdge(BigInt(n), t.read(rightEdge(BigInt(n)))).root();
      expect(toHex(root), `root ${n}`).toBe(other.getRoot().toString('hex'));
      for (const m of new Set([0, n >> 1, n - 1])) {
        const theirs = other.getProof(leaves[m]!, m).map((p: { data: Buffer }) => p.data.toString('hex'));
        expect(hexes(proveInclusion(t, m, n)), `path ${m}/${n}`).toEqual(theirs);
      }
    }
  });
});
