/**
 * Inclusion and consistency probes (transparency-dev/merkle `testdata`, Go tlog probes): for
 * every tree size 1..64, sizes around powers of two, and one synthetic tree above 2^32, a happy
 * path plus one vector per mutation. File names say which corruption they apply.
 */
import { formatDecimal, toHex } from '../../src/core/bytes.js';
import { sha256 } from '../../src/core/crypto.js';
import {
  CompactRange,
  buildProof,
  emptyRoot,
  hashLeaf,
  planConsistency,
  planInclusion,
  rightEdge,
  verifyConsistency,
  verifyInclusion,
  type NodeId,
} from '../../src/core/merkle/index.js';
import { outcomeOf, type VectorSet } from './write.js';

/** A node store: real leaves appended after an optional synthetic perfect left subtree. */
class VectorTree {
  readonly nodes = new Map<string, Uint8Array>();
  readonly range: CompactRange;
  readonly leafHashes = new Map<bigint, Uint8Array>();
  readonly roots = new Map<bigint, Uint8Array>();

  constructor(syntheticLevel?: number) {
    if (syntheticLevel === undefined) {
      this.range = CompactRange.empty();
    } else {
      // A stand-in for 2^level leaves we do not materialise: its root is a fixed hash.
      const h = sha256(new TextEncoder().encode(`guzheng synthetic subtree 2^${syntheticLevel}`));
      this.nodes.set(`${syntheticLevel}/0`, h);
      this.range = CompactRange.fromRightEdge(1n << BigInt(syntheticLevel), [h]);
    }
    this.roots.set(this.range.size, this.range.root());
  }

  append(data: Uint8Array): void {
    const index = this.range.size;
    const leaf = hashLeaf(data);
    this.leafHashes.set(index, leaf);
    for (const n of this.range.append(leaf)) this.nodes.set(`${n.level}/${n.index}`, n.hash);
    this.roots.set(this.range.size, this.range.root());
  }

  read(ids: readonly NodeId[]): Uint8Array[] {
    return ids.map((id) => {
      const h = this.nodes.get(`${id.level}/${id.index}`);
      if (!h) throw new Error(`vector tree: node ${id.level}/${id.index} not available`);
      return h;
    });
  }

  root(size: bigint): Uint8Array {
    const r = this.roots.get(size);
    if (r) return r;
    if (size === 0n) return emptyRoot();
    return CompactRange.fromRightEdge(size, this.read(rightEdge(size))).root();
  }
}

/**
 * A proof is checked against a root, and for some shapes a neighbouring size yields the same
 * computation: the root does not bind the size on its own. Sizes are trusted only from a signed
 * checkpoint (SPEC.md#proofs), so these vectors record whatever the RFC algorithm gives.
 */
const SIZE_NOTE = ' (expectation is whatever RFC 9162 gives: only a signed checkpoint binds size to root)';

const leafData = (i: bigint) => new TextEncoder().encode(`guzheng vector leaf ${i}`);

function flip(h: Uint8Array, bit: number): Uint8Array {
  const c = h.slice();
  c[bit >> 3]! ^= 1 << (7 - (bit & 7));
  return c;
}


interface InclusionProbe {
  leafIndex: bigint;
  treeSize: bigint;
  leafHash: Uint8Array;
  proof: Uint8Array[];
  root: Uint8Array;
}

function inclusionVector(desc: string, p: InclusionProbe, mustFail: boolean | undefined) {
  const got = outcomeOf(() => verifyInclusion(p.leafIndex, p.treeSize, p.leafHash, p.proof, p.root));
  if (mustFail !== undefined && got.wantErr !== mustFail) throw new Error(`inclusion vector "${desc}" (${p.leafIndex}/${p.treeSize}): verifier disagrees with the generator`);
  return {
    desc,
    leafIndex: formatDecimal(p.leafIndex),
    treeSize: formatDecimal(p.treeSize),
    leafHash: toHex(p.leafHash),
    proof: p.proof.map(toHex),
    root: toHex(p.root),
    ...got,
  };
}

function addInclusion(set: VectorSet, tree: VectorTree, index: bigint, size: bigint): void {
  const plan = planInclusion(index, size);
  const proof = buildProof(plan, tree.read(plan.ids));
  const leafHash = tree.leafHashes.get(index)!;
  const root = tree.root(size);
  const base: InclusionProbe = { leafIndex: index, treeSize: size, leafHash, proof, root };
  const dir = `inclusion/${size}/${index}`;
  const other = tree.root(size === 1n ? 0n : size - 1n);
  set.add(`${dir}/happy-path`, inclusionVector(`leaf ${index} in a tree of ${size}: valid`, base, false));
  proof.forEach((_, k) => {
    const bad = proof.slice();
    bad[k] = flip(bad[k]!, (k * 37) % 256);
    set.add(`${dir}/modified-proof@${k}-bit`, inclusionVector(`one bit of proof[${k}] flipped`, { ...base, proof: bad }, true));
  });
  set.add(`${dir}/wrong-leaf`, inclusionVector('leaf hash of different data', { ...base, leafHash: hashLeaf(leafData(index + 1000n)) }, true));
  set.add(`${dir}/leaf-not-hashed`, inclusionVector('leaf hash computed without the 0x00 prefix', { ...base, leafHash: sha256(leafData(index)) }, true));
  if (index > 0n) set.add(`${dir}/index-minus-1`, inclusionVector('leaf index decremented', { ...base, leafIndex: index - 1n }, true));
  set.add(`${dir}/index-plus-1`, inclusionVector('leaf index incremented', { ...base, leafIndex: index + 1n }, true));
  set.add(`${dir}/treeSize-minus-1`, inclusionVector(`tree size decremented${SIZE_NOTE}`, { ...base, treeSize: size - 1n }, undefined));
  set.add(`${dir}/treeSize-plus-1`, inclusionVector(`tree size incremented${SIZE_NOTE}`, { ...base, treeSize: size + 1n }, undefined));
  set.add(`${dir}/treeSize-mul-2`, inclusionVector(`tree size doubled${SIZE_NOTE}`, { ...base, treeSize: size * 2n }, undefined));
  set.add(`${dir}/wrong-root`, inclusionVector('root of another tree size', { ...base, root: other }, true));
  if (proof.length > 0) {
    set.add(`${dir}/truncated-proof`, inclusionVector('last proof hash removed', { ...base, proof: proof.slice(0, -1) }, true));
    set.add(`${dir}/empty-proof`, inclusionVector('proof emptied', { ...base, proof: [] }, true));
  }
  const garbage = sha256(new TextEncoder().encode('garbage'));
  set.add(`${dir}/extended-proof`, inclusionVector('the root appended to the proof', { ...base, proof: [...proof, root] }, true));
  set.add(`${dir}/preceding-garbage`, inclusionVector('a hash prepended to the proof', { ...base, proof: [garbage, ...proof] }, true));
  set.add(`${dir}/trailing-garbage`, inclusionVector('a hash appended to the proof', { ...base, proof: [...proof, garbage] }, true));
}

interface ConsistencyProbe {
  size1: bigint;
  size2: bigint;
  root1: Uint8Array;
  root2: Uint8Array;
  proof: Uint8Array[];
}

function consistencyVector(desc: string, p: ConsistencyProbe, mustFail: boolean | undefined) {
  const got = outcomeOf(() => verifyConsistency(p.size1, p.size2, p.proof, p.root1, p.root2));
  if (mustFail !== undefined && got.wantErr !== mustFail) throw new Error(`consistency vector "${desc}": verifier disagrees with the generator`);
  return {
    desc,
    size1: formatDecimal(p.size1),
    size2: formatDecimal(p.size2),
    root1: toHex(p.root1),
    root2: toHex(p.root2),
    proof: p.proof.map(toHex),
    ...got,
  };
}

function addConsistency(set: VectorSet, tree: VectorTree, size1: bigint, size2: bigint): void {
  const plan = planConsistency(size1, size2);
  const proof = buildProof(plan, tree.read(plan.ids));
  const base: ConsistencyProbe = { size1, size2, root1: tree.root(size1), root2: tree.root(size2), proof };
  const dir = `consistency/${size2}/${size1}`;
  set.add(`${dir}/happy-path`, consistencyVector(`tree of ${size1} is a prefix of the tree of ${size2}: valid`, base, false));
  proof.forEach((_, k) => {
    const bad = proof.slice();
    bad[k] = flip(bad[k]!, (k * 53) % 256);
    set.add(`${dir}/modified-proof@${k}-bit`, consistencyVector(`one bit of proof[${k}] flipped`, { ...base, proof: bad }, true));
  });
  if (size1 !== size2) {
    set.add(`${dir}/swapped-roots`, consistencyVector('old and new roots swapped', { ...base, root1: base.root2, root2: base.root1 }, true));
    set.add(`${dir}/wrong-root1`, consistencyVector('old root of another size', { ...base, root1: tree.root(size2) }, true));
  }
  if (size1 > 0n || size2 === 0n) {
    // From size 0 any new root is consistent (SPEC.md#consistency-policy): nothing to corrupt.
    set.add(`${dir}/wrong-root2`, consistencyVector('new root bit-flipped', { ...base, root2: flip(base.root2, 3) }, true));
  }
  if (size1 > 0n && size1 < size2) {
    set.add(`${dir}/size1-minus-1`, consistencyVector(`old size decremented${SIZE_NOTE}`, { ...base, size1: size1 - 1n }, undefined));
    set.add(`${dir}/size2-plus-1`, consistencyVector(`new size incremented${SIZE_NOTE}`, { ...base, size2: size2 + 1n }, undefined));
    set.add(`${dir}/size2-mul-2`, consistencyVector(`new size doubled${SIZE_NOTE}`, { ...base, size2: size2 * 2n }, undefined));
    set.add(`${dir}/truncated-proof`, consistencyVector('last proof hash removed', { ...base, proof: proof.slice(0, -1) }, true));
    set.add(`${dir}/empty-proof`, consistencyVector('proof emptied', { ...base, proof: [] }, true));
  }
  const garbage = sha256(new TextEncoder().encode('garbage'));
  set.add(`${dir}/preceding-garbage`, consistencyVector('a hash prepended to the proof', { ...base, proof: [garbage, ...proof] }, true));
  set.add(`${dir}/trailing-garbage`, consistencyVector('a hash appended to the proof', { ...base, proof: [...proof, garbage] }, true));
}

function pick(n: bigint): bigint[] {
  return [...new Set([0n, n / 2n, n - 1n])].filter((i) => i >= 0n && i < n);
}

/** generateMerkleVectors adds every inclusion and consistency probe to `set`. */
export function generateMerkleVectors(set: VectorSet): void {
  const tree = new VectorTree();
  const around = [127n, 128n, 129n, 255n, 256n, 257n, 1023n, 1024n, 1025n];
  for (let i = 0n; i < 1025n; i++) tree.append(leafData(i));
  const sizes = [...Array.from({ length: 64 }, (_, i) => BigInt(i + 1)), ...around];
  for (const n of sizes) {
    for (const m of pick(n)) addInclusion(set, tree, m, n);
    let pow2 = 1n;
    while (pow2 * 2n < n) pow2 *= 2n;
    // Old sizes: empty, one leaf, the largest power of two below n, half, n-1 and n itself.
    for (const m of new Set([0n, 1n, pow2, n / 2n, n - 1n, n])) addConsistency(set, tree, m, n);
  }
  // Above 2^32: a synthetic perfect subtree of 2^32 leaves, then 9 real leaves.
  const big = new VectorTree(32);
  const base = 1n << 32n;
  for (let i = 0n; i < 9n; i++) big.append(leafData(base + i));
  for (const m of [base, base + 4n, base + 8n]) addInclusion(set, big, m, base + 9n);
  for (const m of [base, base + 1n, base + 5n]) addConsistency(set, big, m, base + 9n);
}
