/**
 * A compact range over leaves [0, size): the hashes of the perfect subtrees on the tree's right
 * edge, one per set bit of size, largest first. Appending a leaf returns every node hash it
 * creates so the CALLER persists them (transparency-dev/merkle `compact.Range.Append(hash,
 * visitor)`; tessera `Integrate` returning its tiles). The range itself never does I/O.
 * See contracts-free-ledger/SPEC.md#tree.
 */
import { badInput } from '../errors.js';
import { HASH_SIZE, SHA256_TREE, type TreeHasher } from './hash.js';
import { rangeNodes, type NodeHash, type NodeId } from './node.js';
import { MAX_SAFE_BIGINT, MAX_UINT64 } from '../bytes.js';

/** rightEdge lists the node ids whose hashes a compact range of `size` leaves holds. */
export function rightEdge(size: bigint): NodeId[] {
  return rangeNodes(0n, size);
}

/** The right edge of a Merkle tree, extendable by appending leaf hashes. */
export class CompactRange {
  #size: bigint;
  /** Hashes of the perfect subtrees covering [0, size), largest (leftmost) first. */
  #hashes: Uint8Array[];
  /** The tree hashing of the log's crypto suite (SPEC.md#crypto-suites). */
  readonly #h: TreeHasher;

  private constructor(size: bigint, hashes: Uint8Array[], h: TreeHasher) {
    this.#size = size;
    this.#hashes = hashes;
    this.#h = h;
  }

  /** empty returns the compact range of the empty tree, hashed with `h` (SHA-256 by default). */
  static empty(h: TreeHasher = SHA256_TREE): CompactRange {
    return new CompactRange(0n, [], h);
  }

  /**
   * fromRightEdge rebuilds a range from stored hashes. Requires: `hashes[i]` is the hash of node
   * `rightEdge(size)[i]`, each 32 bytes; the count must match.
   */
  static fromRightEdge(size: bigint, hashes: readonly Uint8Array[], h: TreeHasher = SHA256_TREE): CompactRange {
    if (size < 0n || size > MAX_UINT64) badInput(`CompactRange: size ${size} out of range`);
    const want = rightEdge(size).length;
    if (hashes.length !== want) badInput(`CompactRange: got ${hashes.length} hashes, want ${want} for size ${size}`);
    for (const h of hashes) {
      if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) badInput('CompactRange: hashes must be 32 bytes');
    }
    return new CompactRange(size, hashes.map((x) => x.slice()), h);
  }

  /** The number of leaves covered. */
  get size(): bigint {
    return this.#size;
  }

  /** The right-edge hashes, largest subtree first (copies). */
  hashes(): Uint8Array[] {
    return this.#hashes.map((h) => h.slice());
  }

  /** A deep copy, so a caller can compute ahead and discard on a failed write. */
  clone(): CompactRange {
    return new CompactRange(this.#size, this.hashes(), this.#h);
  }

  /**
   * append adds one leaf hash at index `size` and returns the nodes it creates: the leaf itself
   * (level 0) and every interior node completed by it, bottom-up. Requires: a 32-byte hash.
   */
  append(leafHash: Uint8Array): NodeHash[] {
    const created: NodeHash[] = [];
    this.appendTo(leafHash, created);
    return created;
  }

  /**
   * appendTo is {@link append} pushing the created nodes onto `out` (no array per leaf), and
   * returns the leaf's index (the size before the append).
   */
  appendTo(leafHash: Uint8Array, out: NodeHash[]): bigint {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_SIZE) badInput('append: leaf hash must be 32 bytes');
    const size = this.#size;
    if (size === MAX_UINT64) badInput('append: tree is full');
    out.push({ level: 0, index: size, hash: leafHash });
    // Each trailing 1 bit of the old size is a completed sibling subtree on the stack: merge it.
    // Count them on a number while the size is a safe integer (no bigint per bit test).
    let merges = 0;
    if (size <= MAX_SAFE_BIGINT) {
      for (let x = Number(size); x % 2 === 1; x = (x - 1) / 2) merges++;
    } else {
      for (let x = size; (x & 1n) === 1n; x >>= 1n) merges++;
    }
    let hash = leafHash;
    let index = size;
    for (let level = 1; level <= merges; level++) {
      const left = this.#hashes.pop();
      if (left === undefined) throw new Error('core: bad math in CompactRange.append');
      hash = this.#h.hashChildren(left, hash);
      index >>= 1n;
      out.push({ level, index, hash });
    }
    this.#hashes.push(hash);
    this.#size = size + 1n;
    return size;
  }

  /** appendAll appends leaf hashes in order and returns all nodes created, in creation order. */
  appendAll(leafHashes: readonly Uint8Array[]): NodeHash[] {
    const out: NodeHash[] = [];
    for (const h of leafHashes) this.appendTo(h, out);
    return out;
  }

  /** root returns MTH(D[0:size]) (RFC 9162 §2.1.1): the right-edge hashes folded right to left. */
  root(): Uint8Array {
    return foldRight(this.#hashes, this.#h) ?? this.#h.emptyRoot();
  }
}

/**
 * foldRight combines the hashes of consecutive perfect subtrees, largest first, into the hash of
 * the (possibly imperfect) subtree they cover: h[0..k] → H(h0, H(h1, … H(h(k-1), hk))). This is
 * MTH of their leaves because RFC 9162 splits at the largest power of two first. Returns
 * undefined for an empty list.
 */
export function foldRight(hashes: readonly Uint8Array[], h: TreeHasher = SHA256_TREE): Uint8Array | undefined {
  let acc: Uint8Array | undefined;
  for (let i = hashes.length - 1; i >= 0; i--) {
    const x = hashes[i] as Uint8Array;
    acc = acc === undefined ? x : h.hashChildren(x, acc);
  }
  return acc;
}
