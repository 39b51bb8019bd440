/**
 * RFC 6962 / RFC 9162 §2.1.1 Merkle tree hashing with domain separation, over the hash function
 * of the log's crypto suite (SPEC.md#crypto-suites): SHA-256 for `c2sp` logs, SM3 for `gm` logs.
 *
 *     MTH({})      = H()
 *     leaf hash    = H(0x00 || entry)
 *     node hash    = H(0x01 || left || right)
 *
 * A {@link TreeHasher} is a value handed to the tree code (like tlog's `HashReader`), never a
 * process-wide switch: one verifier checks logs of both suites. The bare `hashLeaf`,
 * `hashChildren` and `emptyRoot` exports are the SHA-256 ones.
 * See contracts-free-ledger/SPEC.md#tree.
 */
import { sha256 } from '../crypto.js';
import { badInput } from '../errors.js';

/** Size of every tree hash in bytes (SHA-256 and SM3 both give 32). */
export const HASH_SIZE = 32;

/** The tree hash functions of one crypto suite. */
export interface TreeHasher {
  /** The hash function's name as content digests spell it (`sha256`, `sm3`). */
  readonly alg: 'sha256' | 'sm3';
  /** MTH({}) = H() (RFC 9162 §2.1.1). */
  emptyRoot(): Uint8Array;
  /** H(0x00 || data), the leaf hash of an entry. */
  hashLeaf(data: Uint8Array): Uint8Array;
  /** H(0x01 || left || right), an interior node. Requires: both are 32-byte hashes. */
  hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * treeHasher builds the RFC 9162 tree hashing over a one-shot 32-byte hash function `h` (which
 * must not keep its input). Hashing is synchronous, so one scratch buffer per hasher serves
 * every call and a hash costs no allocation besides its output: a fresh array per call would be
 * a separate backing store above V8's 64-byte on-heap limit, for the garbage collector to track.
 */
export function treeHasher(alg: TreeHasher['alg'], h: (data: Uint8Array) => Uint8Array): TreeHasher {
  let leafScratch = new Uint8Array(1024);
  const nodeScratch = new Uint8Array(1 + 2 * HASH_SIZE);
  nodeScratch[0] = 0x01;
  return {
    alg,
    emptyRoot: () => h(EMPTY),
    hashLeaf(data: Uint8Array): Uint8Array {
      const n = 1 + data.length;
      if (n > leafScratch.length) {
        // Entries are at most 65,535 bytes; anything larger is hashed in a buffer of its own.
        if (n > 65_536) {
          const buf = new Uint8Array(n);
          buf.set(data, 1);
          return h(buf);
        }
        leafScratch = new Uint8Array(Math.min(65_536, Math.max(n, 2 * leafScratch.length)));
      }
      const buf = leafScratch;
      buf[0] = 0x00;
      buf.set(data, 1);
      return h(buf.subarray(0, n));
    },
    hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
      if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
        badInput(`hashChildren: got ${left.length}- and ${right.length}-byte hashes, want ${HASH_SIZE}`);
      }
      nodeScratch.set(left, 1);
      nodeScratch.set(right, 1 + HASH_SIZE);
      return h(nodeScratch);
    },
  };
}

/** The SHA-256 tree of `c2sp` logs (RFC 6962), over the installed SHA-256 (see crypto.ts `useSha256`). */
export const SHA256_TREE: TreeHasher = treeHasher('sha256', sha256);

/** emptyRoot returns MTH({}) = SHA-256() (RFC 9162 §2.1.1). */
export function emptyRoot(): Uint8Array {
  return SHA256_TREE.emptyRoot();
}

/** hashLeaf returns SHA-256(0x00 || data), the leaf hash of an entry (RFC 9162 §2.1.1). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  return SHA256_TREE.hashLeaf(data);
}

/**
 * hashChildren returns SHA-256(0x01 || left || right), an interior node (RFC 9162 §2.1.1).
 * Requires: both are 32-byte hashes.
 */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return SHA256_TREE.hashChildren(left, right);
}
