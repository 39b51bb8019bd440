/**
 * A second, deliberately naive implementation of RFC 9162 §2.1 written straight from the RFC's
 * recursive definitions (MTH, PATH, PROOF/SUBPROOF). It shares no code with src/core/merkle
 * except the two hash primitives, so differential tests against it are meaningful.
 */
import { hashChildren, emptyRoot } from '../../src/core/merkle/hash.js';

/** Largest power of two strictly less than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes (RFC 9162 §2.1.1). */
export function refRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return hashChildren(refRoot(leaves.slice(0, k)), refRoot(leaves.slice(k)));
}

/** PATH(m, D[n]) (RFC 9162 §2.1.3.1). */
export function refInclusion(m: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  const n = leaves.length;
  if (n <= 1) return [];
  const k = split(n);
  if (m < k) return [...refInclusion(m, leaves.slice(0, k)), refRoot(leaves.slice(k))];
  return [...refInclusion(m - k, leaves.slice(k)), refRoot(leaves.slice(0, k))];
}

function subproof(m: number, leaves: readonly Uint8Array[], b: boolean): Uint8Array[] {
  const n = leaves.length;
  if (m === n) return b ? [] : [refRoot(leaves)];
  const k = split(n);
  if (m <= k) return [...subproof(m, leaves.slice(0, k), b), refRoot(leaves.slice(k))];
  return [...subproof(m - k, leaves.slice(k), false), refRoot(leaves.slice(0, k))];
}

/** PROOF(m, D[n]) (RFC 9162 §2.1.4.1), for 0 < m < n; empty otherwise. */
export function refConsistency(m: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  if (m === 0 || m >= leaves.length) return [];
  return subproof(m, leaves, true);
}
