/**
 * Proof VERIFICATION, exactly RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency). Pure:
 * hashes in, root out or one opaque `PROOF_INVALID`. `rootFrom*` helpers return the computed
 * root(s); `verify*` compare (transparency-dev/merkle `RootFromInclusionProof` + `VerifyInclusion`).
 *
 * Policy at the edges (SPEC.md#consistency-policy):
 * - size1 = size2: the proof must be empty and the roots equal;
 * - size1 = 0: the empty tree is a prefix of every tree; the proof must be empty and root1 must
 *   be MTH({}) = H() — anything else is rejected;
 * - size1 > size2 is a caller error (`INPUT_INVALID`).
 *
 * Every function takes the tree hashing of the log's crypto suite as its last argument, SHA-256
 * (`c2sp`) when omitted (SPEC.md#crypto-suites).
 */
import { badInput, proofFailed } from '../errors.js';
import { equalBytes, MAX_UINT64 } from '../bytes.js';
import { HASH_SIZE, SHA256_TREE, type TreeHasher } from './hash.js';

function checkHash(h: unknown, what: string): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) badInput(`${what}: want a 32-byte hash`);
}

function checkUint64(n: bigint, what: string): void {
  if (typeof n !== 'bigint' || n < 0n || n > MAX_UINT64) badInput(`${what}: got ${String(n)}, want a uint64`);
}

function checkProof(proof: readonly Uint8Array[]): void {
  if (!Array.isArray(proof)) badInput('proof: want an array of 32-byte hashes');
  proof.forEach((h, i) => checkHash(h, `proof[${i}]`));
}

/**
 * rootFromInclusionProof computes the root implied by `leafHash` at `index` in a tree of `size`
 * leaves and its audit path (RFC 9162 §2.1.3.2 steps 1–4). Throws PROOF_INVALID if the path has
 * the wrong length for (index, size) or index >= size.
 */
export function rootFromInclusionProof(
  index: bigint,
  size: bigint,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  h: TreeHasher = SHA256_TREE,
): Uint8Array {
  checkUint64(index, 'index');
  checkUint64(size, 'size');
  checkHash(leafHash, 'leafHash');
  checkProof(proof);
  if (index >= size) proofFailed(); // step 1
  let fn = index; // step 2
  let sn = size - 1n;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0n) proofFailed(); // step 3a: proof too long
    if ((fn & 1n) === 1n || fn === sn) {
      r = h.hashChildren(p, r); // step 3b
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = h.hashChildren(r, p);
    }
    fn >>= 1n; // step 3c
    sn >>= 1n;
  }
  if (sn !== 0n) proofFailed(); // step 4: proof too short
  return r;
}

/**
 * verifyInclusion checks that `leafHash` is at `index` in the tree of `size` leaves with `root`.
 * Requires: `size` and `root` come from a verified checkpoint. Throws PROOF_INVALID on failure.
 *
 * @example
 * verifyInclusion(3n, 7n, hashLeaf(entryBytes), proof, checkpoint.root);
 */
export function verifyInclusion(
  index: bigint,
  size: bigint,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
  h: TreeHasher = SHA256_TREE,
): void {
  checkHash(root, 'root');
  const got = rootFromInclusionProof(index, size, leafHash, proof, h);
  if (!equalBytes(got, root)) proofFailed();
}

/**
 * rootsFromConsistencyProof computes the (old, new) roots implied by a consistency proof between
 * sizes 0 < size1 < size2 and the old root (RFC 9162 §2.1.4.2 steps 1–7). Throws PROOF_INVALID.
 */
export function rootsFromConsistencyProof(
  size1: bigint,
  size2: bigint,
  root1: Uint8Array,
  proof: readonly Uint8Array[],
  h: TreeHasher = SHA256_TREE,
): { root1: Uint8Array; root2: Uint8Array } {
  if (!(size1 > 0n && size1 < size2)) throw new Error('core: bad math: rootsFromConsistencyProof needs 0 < size1 < size2');
  const path = proof.slice();
  if (path.length === 0) proofFailed(); // step 1
  if ((size1 & (size1 - 1n)) === 0n) path.unshift(root1); // step 2: size1 is a power of two
  let fn = size1 - 1n; // step 3
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    // step 4
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0] as Uint8Array; // step 5
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0n) proofFailed(); // step 6a
    if ((fn & 1n) === 1n || fn === sn) {
      fr = h.hashChildren(c, fr); // step 6b
      sr = h.hashChildren(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = h.hashChildren(sr, c);
    }
    fn >>= 1n; // step 6c
    sn >>= 1n;
  }
  if (sn !== 0n) proofFailed(); // step 7
  return { root1: fr, root2: sr };
}

/**
 * verifyConsistency checks that the tree of `size2` leaves with `root2` extends the tree of
 * `size1` leaves with `root1`. Requires: sizes and roots come from verified checkpoints,
 * size1 <= size2. Throws PROOF_INVALID on failure.
 *
 * @example
 * verifyConsistency(old.size, now.size, proof, old.root, now.root);
 */
export function verifyConsistency(
  size1: bigint,
  size2: bigint,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
  h: TreeHasher = SHA256_TREE,
): void {
  checkUint64(size1, 'size1');
  checkUint64(size2, 'size2');
  checkHash(root1, 'root1');
  checkHash(root2, 'root2');
  checkProof(proof);
  if (size1 > size2) badInput(`consistency: size1 ${size1} > size2 ${size2}`);
  if (size1 === 0n) {
    // The empty tree has exactly one root; equal sizes 0 also need root2 to be it.
    if (proof.length !== 0 || !equalBytes(root1, h.emptyRoot()) || (size2 === 0n && !equalBytes(root2, root1))) proofFailed();
    return;
  }
  if (size1 === size2) {
    if (proof.length !== 0 || !equalBytes(root1, root2)) proofFailed();
    return;
  }
  const got = rootsFromConsistencyProof(size1, size2, root1, proof, h);
  if (!equalBytes(got.root1, root1) || !equalBytes(got.root2, root2)) proofFailed();
}
