/**
 * Proof PLANNING: which stored nodes an inclusion or consistency proof needs, computed from sizes
 * and indexes alone (transparency-dev/merkle `proof.Inclusion`/`proof.Consistency`). The caller
 * fetches `ids` from storage in one batch and calls {@link buildProof}; verification
 * (verify.ts) never sees storage. Every proof costs O(log n) reads and no tree is rebuilt.
 *
 * At most one proof element is "ephemeral": the sibling on the right edge that is not a perfect
 * subtree at this tree size. It is recomputed from the perfect subtrees covering it, which sit at
 * `ids[begin:end]`. See contracts-free-ledger/SPEC.md#proofs.
 */
import { badInput } from '../errors.js';
import { MAX_UINT64 } from '../bytes.js';
import { foldRight } from './compact.js';
import { HASH_SIZE, SHA256_TREE, type TreeHasher } from './hash.js';
import { rangeNodes, trailingZeros, type NodeId } from './node.js';

/** The nodes to read for one proof, in proof order, with the ephemeral group marked. */
export interface ProofPlan {
  /** Stored node ids to read, in order. */
  readonly ids: readonly NodeId[];
  /** `ids[begin:end]` fold into one proof element; begin === end when there is none. */
  readonly begin: number;
  readonly end: number;
}

function checkSize(n: bigint, what: string): void {
  if (typeof n !== 'bigint' || n < 0n || n > MAX_UINT64) badInput(`${what}: got ${String(n)}, want a uint64`);
}

/**
 * pathPlan lists the nodes proving that perfect node (level, index) is in the tree of `size`
 * leaves: its siblings bottom-up, skipping levels where the node is a promoted right edge.
 */
function pathPlan(level: number, index: bigint, size: bigint): { ids: NodeId[]; begin: number; end: number } {
  const ids: NodeId[] = [];
  let begin = 0;
  let end = 0;
  for (let l = level, i = index; ; l++, i >>= 1n) {
    const shift = BigInt(l);
    const last = (size - 1n) >> shift; // index of the rightmost (maybe partial) node at level l
    if (last === 0n) break; // reached the root
    const sibling = i ^ 1n;
    if (sibling < last || (sibling === last && (sibling + 1n) << shift <= size)) {
      ids.push({ level: l, index: sibling });
    } else if (sibling === last) {
      begin = ids.length;
      ids.push(...rangeNodes(sibling << shift, size));
      end = ids.length;
    }
    // sibling > last: this node is the right edge and is promoted unchanged (RFC 9162 §2.1.3.1).
  }
  return { ids, begin, end };
}

/**
 * planInclusion plans the inclusion proof of leaf `index` in the tree of `size` leaves
 * (RFC 9162 §2.1.3.1). Requires: 0 <= index < size.
 */
export function planInclusion(index: bigint, size: bigint): ProofPlan {
  checkSize(index, 'planInclusion index');
  checkSize(size, 'planInclusion size');
  if (index >= size) badInput(`planInclusion: index ${index} out of range for size ${size}`);
  return pathPlan(0, index, size);
}

/**
 * planConsistency plans the consistency proof between trees of `size1` and `size2` leaves
 * (RFC 9162 §2.1.4.1). Requires: 0 <= size1 <= size2. Empty when size1 is 0 or equals size2.
 *
 * The proof is the inclusion path, in the larger tree, of the largest perfect subtree ending at
 * size1, preceded by that subtree's own hash unless size1 is a power of two (the verifier then
 * already holds it as the old root).
 */
export function planConsistency(size1: bigint, size2: bigint): ProofPlan {
  checkSize(size1, 'planConsistency size1');
  checkSize(size2, 'planConsistency size2');
  if (size1 > size2) badInput(`planConsistency: size1 ${size1} > size2 ${size2}`);
  if (size1 === 0n || size1 === size2) return { ids: [], begin: 0, end: 0 };
  const level = trailingZeros(size1);
  const index = (size1 - 1n) >> BigInt(level);
  const path = pathPlan(level, index, size2);
  if (index === 0n) return path; // size1 is a power of two
  const shifted = path.begin === path.end ? 0 : 1;
  return { ids: [{ level, index }, ...path.ids], begin: path.begin + shifted, end: path.end + shifted };
}

/**
 * buildProof turns the fetched hashes of `plan.ids` (same order) into the proof: the ephemeral
 * group folded into one hash with the log's tree hashing `h` (SHA-256 when omitted;
 * SPEC.md#crypto-suites). Requires: one 32-byte hash per id.
 */
export function buildProof(plan: ProofPlan, hashes: readonly Uint8Array[], h: TreeHasher = SHA256_TREE): Uint8Array[] {
  if (hashes.length !== plan.ids.length) badInput(`buildProof: got ${hashes.length} hashes, want ${plan.ids.length}`);
  for (const h of hashes) {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) badInput('buildProof: hashes must be 32 bytes');
  }
  if (plan.begin === plan.end) return hashes.slice();
  const folded = foldRight(hashes.slice(plan.begin, plan.end), h);
  if (folded === undefined) throw new Error('core: bad math in buildProof');
  return [...hashes.slice(0, plan.begin), folded, ...hashes.slice(plan.end)];
}
