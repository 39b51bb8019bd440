/**
 * RFC 6962 / RFC 9162 §2.1.1 Merkle tree hashing with SHA-256 and domain separation:
 *
 *     MTH({})      = SHA-256()
 *     leaf hash    = SHA-256(0x00 || entry)
 *     node hash    = SHA-256(0x01 || left || right)
 *
 * See contracts-free-ledger/SPEC.md#tree.
 */
import { sha256 } from '../crypto.js';
import { badInput } from '../errors.js';

/** Size of every tree hash in bytes. */
export const HASH_SIZE = 32;

const EMPTY = new Uint8Array(0);

/** emptyRoot returns MTH({}) = SHA-256() (RFC 9162 §2.1.1). */
export function emptyRoot(): Uint8Array {
  return sha256(EMPTY);
}

/**
 * Scratch space for the hash inputs (0x00 ‖ entry, 0x01 ‖ left ‖ right): hashing is synchronous
 * and the installed SHA-256 is one-shot (it never keeps its input), so one buffer serves every
 * call and a hash costs no allocation besides its output. A fresh array per call would be a
 * separate backing store above V8's 64-byte on-heap limit, for the garbage collector to track.
 */
let leafScratch = new Uint8Array(1024);
const nodeScratch = new Uint8Array(1 + 2 * HASH_SIZE);
nodeScratch[0] = 0x01;

/** hashLeaf returns SHA-256(0x00 || data), the leaf hash of an entry (RFC 9162 §2.1.1). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  const n = 1 + data.length;
  if (n > leafScratch.length) {
    // Entries are at most 65,535 bytes; anything larger is hashed in a buffer of its own.
    if (n > 65_536) {
      const buf = new Uint8Array(n);
      buf.set(data, 1);
      return sha256(buf);
    }
    leafScratch = new Uint8Array(Math.min(65_536, Math.max(n, 2 * leafScratch.length)));
  }
  const buf = leafScratch;
  buf[0] = 0x00;
  buf.set(data, 1);
  return sha256(buf.subarray(0, n));
}

/**
 * hashChildren returns SHA-256(0x01 || left || right), an interior node (RFC 9162 §2.1.1).
 * Requires: both are 32-byte hashes.
 */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    badInput(`hashChildren: got ${left.length}- and ${right.length}-byte hashes, want ${HASH_SIZE}`);
  }
  const buf = nodeScratch;
  buf.set(left, 1);
  buf.set(right, 1 + HASH_SIZE);
  return sha256(buf);
}
