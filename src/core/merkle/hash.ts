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

/** hashLeaf returns SHA-256(0x00 || data), the leaf hash of an entry (RFC 9162 §2.1.1). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + data.length);
  buf[0] = 0x00;
  buf.set(data, 1);
  return sha256(buf);
}

/**
 * hashChildren returns SHA-256(0x01 || left || right), an interior node (RFC 9162 §2.1.1).
 * Requires: both are 32-byte hashes.
 */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    badInput(`hashChildren: got ${left.length}- and ${right.length}-byte hashes, want ${HASH_SIZE}`);
  }
  const buf = new Uint8Array(1 + 2 * HASH_SIZE);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + HASH_SIZE);
  return sha256(buf);
}
