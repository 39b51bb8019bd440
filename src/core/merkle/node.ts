/**
 * Node addressing for the stored tree. Node (level, index) is the root of the perfect subtree
 * over leaves [index·2^level, (index+1)·2^level). Only perfect subtrees are ever stored; a
 * right-edge subtree that is not yet full ("ephemeral") is recomputed from the perfect subtrees
 * that cover it. See contracts-free-ledger/SPEC.md#tree (same scheme as transparency-dev/merkle
 * `compact.NodeID` and the C2SP tlog-tiles hash layout).
 */
import { badInput } from '../errors.js';

/** Identifies a perfect subtree. `level` is 0 for leaves, at most 63. */
export interface NodeId {
  readonly level: number;
  readonly index: bigint;
}

/** A node together with its hash, as emitted by a compact range for the caller to store. */
export interface NodeHash extends NodeId {
  readonly hash: Uint8Array;
}

/** nodeId builds a NodeId. Requires: 0 <= level <= 63, index >= 0. */
export function nodeId(level: number, index: bigint): NodeId {
  if (!Number.isInteger(level) || level < 0 || level > 63 || index < 0n) {
    badInput(`nodeId: got level ${level} index ${index}, want 0<=level<=63, index>=0`);
  }
  return { level, index };
}

/** nodeCoverage returns the leaf range [begin, end) a node covers. */
export function nodeCoverage(id: NodeId): { begin: bigint; end: bigint } {
  const begin = id.index << BigInt(id.level);
  return { begin, end: begin + (1n << BigInt(id.level)) };
}

/**
 * rangeNodes lists the perfect subtrees that exactly cover leaves [begin, end), left to right,
 * each as large as alignment allows. Requires: 0 <= begin <= end. For [0, n) this is one node per
 * set bit of n, largest first (the "right edge" of a tree of size n).
 */
export function rangeNodes(begin: bigint, end: bigint): NodeId[] {
  if (begin < 0n || end < begin) badInput(`rangeNodes: got [${begin}, ${end}), want 0 <= begin <= end`);
  const out: NodeId[] = [];
  while (begin < end) {
    let level = 0;
    // Grow while begin stays aligned and the subtree still fits in the range.
    while (((begin >> BigInt(level)) & 1n) === 0n && begin + (1n << BigInt(level + 1)) <= end && level < 63) {
      level++;
    }
    out.push({ level, index: begin >> BigInt(level) });
    begin += 1n << BigInt(level);
  }
  return out;
}

/** trailingZeros returns the number of trailing zero bits of n > 0. */
export function trailingZeros(n: bigint): number {
  if (n <= 0n) throw new Error('core: bad math: trailingZeros of non-positive');
  let z = 0;
  while ((n & 1n) === 0n) {
    n >>= 1n;
    z++;
  }
  return z;
}
