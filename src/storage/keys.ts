/**
 * The LevelDB key layout of a Guzheng data directory (DESIGN.md §3; contracts-free-ledger/SPEC.md#storage).
 * This table is part of the operator documentation: it is what `ldb scan` shows and what a
 * recovery tool must read. Keys and values are raw bytes (`keyEncoding: 'view'`,
 * `valueEncoding: 'view'`). Every integer in a key is a fixed-width unsigned big-endian number, so
 * LevelDB's bytewise key order is numeric order and a range scan walks indexes in ascending order.
 * Each key family starts with its own ASCII byte, so no family is a prefix of another.
 *
 * | key (bytes)                                          | value                                  |
 * |------------------------------------------------------|----------------------------------------|
 * | `s:size`                                             | u64be: number of entries integrated    |
 * | `s:blocks`                                           | u64be: number of blocks (next height)  |
 * | `e` ‖ u64be(index)                                   | entry bytes (the leaf data, ≤ 65,535)  |
 * | `a` ‖ u64be(index)                                   | attachment bytes of entry `index`      |
 * | `n` ‖ u8(level) ‖ u64be(index)                       | 32-byte hash of tree node level/index  |
 * | `d` ‖ alg ‖ 0x00 ‖ digest (32 bytes) ‖ u64be(index)  | empty: entry `index` has this digest   |
 * | `l` ‖ leaf hash (32 bytes) ‖ u64be(index)            | empty: entry `index` has this leaf hash|
 * | `b` ‖ u64be(height)                                  | UTF-8 JSON of the BlockJson            |
 * | `v` ‖ kind ‖ 0x00 ‖ u64be(height)                    | evidence of kind `kind` for that block |
 * | `m:` ‖ UTF-8(name)                                   | UTF-8 value (small named settings)     |
 * | `k:` ‖ ASCII(secretHash, 64 lowercase hex)           | UTF-8 JSON of the ApiKeyRecord         |
 *
 * - Tree node (level, index) is the perfect subtree over leaves [index·2^level, (index+1)·2^level)
 *   (src/core/merkle/node.ts). Only perfect subtrees are stored; level 0 is the leaf hashes.
 * - The digest and leaf-hash indexes hold one key per (value, entry) pair; looking a value up is a
 *   prefix scan over `d ‖ alg ‖ 0x00 ‖ digest` (or `l ‖ hash`), which yields the indexes in
 *   ascending order. `alg` is lowercase ASCII (`[a-z0-9-]`, at most 32 bytes) and never contains
 *   0x00, so one algorithm's keys are never a prefix of another's.
 * - Everything one sequencer flush writes (entries, attachments, nodes, both indexes and
 *   `s:size`) goes into ONE LevelDB write batch with `sync: true`: it is all on disk, or none of it.
 *   Likewise a block and `s:blocks`.
 * - Block evidence (`v`) is what arrives after a block is sealed and is kept with it: an RFC 3161
 *   time-stamp token of its checkpoint (kind `tsa`), later witness cosignatures. Each is verified
 *   before it is written, and written on its own (`sync: true`), never in the append batch.
 */
import { MAX_SAFE_BIGINT, MAX_UINT64, concatBytes } from '../core/bytes.js';
import { badInput } from '../core/errors.js';
import { checkDigestAlg, checkEvidenceKind, checkHash, checkIndex, checkMetaKey, checkSecondary, checkSecretHash } from './checks.js';

/** Size in bytes of a u64be field. */
export const U64_SIZE = 8;

const encoder = new TextEncoder();

function ascii(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The key family prefixes (see the table above). */
export const PREFIX = {
  entry: ascii('e'),
  attachment: ascii('a'),
  node: ascii('n'),
  digest: ascii('d'),
  leafHash: ascii('l'),
  secondary: ascii('x'),
  block: ascii('b'),
  evidence: ascii('v'),
  meta: ascii('m:'),
  apiKey: ascii('k:'),
} as const;

/** Key of the stored tree size (`s:size`, value u64be). */
export const SIZE_KEY: Uint8Array = ascii('s:size');
/** Key of the stored block count (`s:blocks`, value u64be). */
export const BLOCK_COUNT_KEY: Uint8Array = ascii('s:blocks');

/**
 * encodeU64 returns `n` as 8 bytes, unsigned big-endian. Requires: 0 <= n < 2^64 (else
 * INPUT_INVALID). See contracts-free-ledger/SPEC.md#storage.
 */
export function encodeU64(n: bigint): Uint8Array {
  checkIndex(n, 'u64');
  const out = new Uint8Array(U64_SIZE);
  new DataView(out.buffer).setBigUint64(0, n, false);
  return out;
}

/**
 * decodeU64 reads the unsigned big-endian u64 at `offset` of `bytes`. Requires: 8 bytes
 * available there (else INPUT_INVALID).
 */
export function decodeU64(bytes: Uint8Array, offset = 0): bigint {
  if (!(bytes instanceof Uint8Array) || !Number.isSafeInteger(offset) || offset < 0 || offset + U64_SIZE > bytes.length) {
    badInput(`storage: u64 at offset ${offset}: got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes} bytes, want ${offset + U64_SIZE}`);
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset, false);
}

/** writeHiLo writes the uint64 hi·2^32 + lo big-endian at `offset` of `out` (hi, lo: uint32). */
function writeHiLo(out: Uint8Array, offset: number, hi: number, lo: number): void {
  out[offset] = hi >>> 24;
  out[offset + 1] = (hi >>> 16) & 0xff;
  out[offset + 2] = (hi >>> 8) & 0xff;
  out[offset + 3] = hi & 0xff;
  out[offset + 4] = lo >>> 24;
  out[offset + 5] = (lo >>> 16) & 0xff;
  out[offset + 6] = (lo >>> 8) & 0xff;
  out[offset + 7] = lo & 0xff;
}

/** writeU64 writes a uint64 big-endian at `offset` of `out`. Requires: index is a uint64 (checked). */
function writeU64(out: Uint8Array, offset: number, index: bigint): void {
  checkIndex(index, 'u64');
  // Safe integers (every real index) split without bigint arithmetic; larger ones with it.
  let hi: number;
  let lo: number;
  if (index <= MAX_SAFE_BIGINT) {
    const n = Number(index);
    lo = n % 4_294_967_296;
    hi = (n - lo) / 4_294_967_296;
  } else {
    hi = Number(index >> 32n);
    lo = Number(index & 0xffff_ffffn);
  }
  writeHiLo(out, offset, hi, lo);
}

/** prefixed returns `prefix ‖ u64be(index)` in one allocation. Requires: index is a uint64. */
export function prefixed(prefix: Uint8Array, index: bigint): Uint8Array {
  const out = new Uint8Array(prefix.length + U64_SIZE);
  writePrefixed(out, 0, prefix, index);
  return out;
}

// The key layouts, each written once: the single-key functions below write into a fresh array,
// KeyArena into its shared buffers. See contracts-free-ledger/SPEC.md#storage.

/** writePrefixed writes `prefix ‖ u64be(index)` at `at` of `out`. */
function writePrefixed(out: Uint8Array, at: number, prefix: Uint8Array, index: bigint | number): void {
  for (let i = 0; i < prefix.length; i++) out[at + i] = prefix[i] as number;
  writeIndex(out, at + prefix.length, index);
}

/** Length of a leaf-hash index key. */
const LEAF_HASH_KEY_SIZE = 1 + 32 + U64_SIZE;

/** writeLeafHashKey writes `l ‖ leafHash ‖ u64be(index)` at `at` of `out`. Requires: a 32-byte hash (checked). */
function writeLeafHashKey(out: Uint8Array, at: number, leafHash: Uint8Array, index: bigint | number): void {
  if (!(leafHash instanceof Uint8Array) || leafHash.length !== 32) checkHash(leafHash, 'leaf hash');
  out[at] = PREFIX.leafHash[0] as number;
  out.set(leafHash, at + 1);
  writeIndex(out, at + 33, index);
}

/** writeDigestKey writes `p ‖ digests[offset, offset + 32) ‖ u64be(index)` at `at` of `out` (p: a checked digestAlgPrefix). */
function writeDigestKey(out: Uint8Array, at: number, p: Uint8Array, digests: Uint8Array, offset: number, index: bigint | number): void {
  for (let i = 0; i < p.length; i++) out[at + i] = p[i] as number;
  for (let i = 0; i < 32; i++) out[at + p.length + i] = digests[offset + i] as number;
  writeIndex(out, at + p.length + 32, index);
}

/** entryKey returns `e ‖ u64be(index)`. Requires: index is a uint64. */
export function entryKey(index: bigint): Uint8Array {
  return prefixed(PREFIX.entry, index);
}

/** attachmentKey returns `a ‖ u64be(index)`. Requires: index is a uint64. */
export function attachmentKey(index: bigint): Uint8Array {
  return prefixed(PREFIX.attachment, index);
}

const NODE_PREFIXES: readonly Uint8Array[] = Array.from({ length: 64 }, (_, level) => Uint8Array.of(PREFIX.node[0] as number, level));

/** nodeKey returns `n ‖ u8(level) ‖ u64be(index)`. Requires: 0 <= level <= 63; index is a uint64. */
export function nodeKey(level: number, index: bigint): Uint8Array {
  const prefix = typeof level === 'number' && Number.isInteger(level) ? NODE_PREFIXES[level] : undefined;
  if (prefix === undefined) badInput(`storage: node level got ${String(level)}, want 0..63`);
  return prefixed(prefix, index);
}

/** blockKey returns `b ‖ u64be(height)`. Requires: height is a uint64. */
export function blockKey(height: bigint): Uint8Array {
  return prefixed(PREFIX.block, height);
}

/**
 * evidencePrefix returns `v ‖ kind ‖ 0x00`, the scan prefix of one kind of block evidence.
 * Requires: `kind` matches `[a-z0-9][a-z0-9-]{0,31}`.
 */
export function evidencePrefix(kind: string): Uint8Array {
  checkEvidenceKind(kind);
  return concatBytes(PREFIX.evidence, ascii(kind), Uint8Array.of(0));
}

/** evidenceKey returns `evidencePrefix(kind) ‖ u64be(height)`. */
export function evidenceKey(kind: string, height: bigint): Uint8Array {
  return prefixed(evidencePrefix(kind), height);
}

/**
 * digestPrefix returns `d ‖ alg ‖ 0x00 ‖ digest`, the scan prefix of one content digest.
 * Requires: `alg` matches `[a-z0-9][a-z0-9-]{0,31}`; `digest` is 32 bytes.
 */
export function digestPrefix(alg: string, digest: Uint8Array): Uint8Array {
  checkDigestAlg(alg, 'digest');
  checkHash(digest, 'digest');
  return concatBytes(PREFIX.digest, ascii(alg), Uint8Array.of(0), digest);
}

/** `d ‖ alg ‖ 0x00` per algorithm, checked once (a handful of algorithms exist). */
const DIGEST_ALG_PREFIXES = new Map<string, Uint8Array>();

function digestAlgPrefix(alg: string): Uint8Array {
  let p = DIGEST_ALG_PREFIXES.get(alg);
  if (p === undefined) {
    checkDigestAlg(alg, 'digest');
    p = concatBytes(PREFIX.digest, ascii(alg), Uint8Array.of(0));
    if (DIGEST_ALG_PREFIXES.size < 64) DIGEST_ALG_PREFIXES.set(alg, p);
  }
  return p;
}

/** digestKey returns `d ‖ alg ‖ 0x00 ‖ digest ‖ u64be(index)`. Requires: as {@link digestPrefix}. */
export function digestKey(alg: string, digest: Uint8Array, index: bigint): Uint8Array {
  const p = digestAlgPrefix(alg);
  checkHash(digest, 'digest');
  const out = new Uint8Array(p.length + 32 + U64_SIZE);
  writeDigestKey(out, 0, p, digest, 0, index);
  return out;
}

/** leafHashPrefix returns `l ‖ leafHash`, the scan prefix of one leaf hash. Requires: 32 bytes. */
export function leafHashPrefix(leafHash: Uint8Array): Uint8Array {
  checkHash(leafHash, 'leaf hash');
  return concatBytes(PREFIX.leafHash, leafHash);
}

/** leafHashKey returns `l ‖ leafHash ‖ u64be(index)`. Requires: 32-byte hash; index is a uint64. */
export function leafHashKey(leafHash: Uint8Array, index: bigint): Uint8Array {
  const out = new Uint8Array(LEAF_HASH_KEY_SIZE);
  writeLeafHashKey(out, 0, leafHash, index);
  return out;
}

/**
 * secondaryPrefix returns `x ‖ name ‖ 0x00 ‖ UTF-8(key) ‖ 0x00`, the scan prefix of one
 * secondary-index key. Requires: as checkSecondary (no 0x00 can occur inside name or key).
 */
export function secondaryPrefix(name: string, key: string): Uint8Array {
  checkSecondary(name, key, 'secondary index');
  return concatBytes(PREFIX.secondary, ascii(name), Uint8Array.of(0), encoder.encode(key), Uint8Array.of(0));
}

/** Recently used secondary prefixes by name, then key (a case id or device MN recurs across many entries). */
const SECONDARY_PREFIXES = new Map<string, Map<string, Uint8Array>>();
let secondaryPrefixCount = 0;

/** cachedSecondaryPrefix is {@link secondaryPrefix}, remembered (checked once per name and key). */
function cachedSecondaryPrefix(name: string, key: string): Uint8Array {
  let byKey = SECONDARY_PREFIXES.get(name);
  let p = byKey?.get(key);
  if (p === undefined) {
    p = secondaryPrefix(name, key);
    if (secondaryPrefixCount >= 4096) {
      SECONDARY_PREFIXES.clear();
      secondaryPrefixCount = 0;
      byKey = undefined;
    }
    if (byKey === undefined) {
      byKey = new Map();
      SECONDARY_PREFIXES.set(name, byKey);
    }
    byKey.set(key, p);
    secondaryPrefixCount++;
  }
  return p;
}

/** secondaryKey returns `secondaryPrefix(name, key) ‖ u64be(index)`. */
export function secondaryKey(name: string, key: string, index: bigint): Uint8Array {
  return prefixed(cachedSecondaryPrefix(name, key), index);
}

/** metaKey returns `m: ‖ UTF-8(name)`. Requires: a non-empty name of at most 256 UTF-8 bytes. */
export function metaKey(name: string): Uint8Array {
  checkMetaKey(name);
  return concatBytes(PREFIX.meta, encoder.encode(name));
}

/** apiKeyKey returns `k: ‖ secretHash`. Requires: `secretHash` is 64 lowercase hex digits. */
export function apiKeyKey(secretHash: string): Uint8Array {
  checkSecretHash(secretHash);
  return concatBytes(PREFIX.apiKey, ascii(secretHash));
}

/**
 * writeIndex writes an index as u64be at `offset` of `out`: a bigint as {@link writeU64}, or a
 * number, which must be a safe non-negative integer (else INPUT_INVALID).
 */
function writeIndex(out: Uint8Array, offset: number, index: bigint | number): void {
  if (typeof index !== 'number') {
    writeU64(out, offset, index);
    return;
  }
  if (!Number.isSafeInteger(index) || index < 0) badInput(`storage: u64 got ${String(index)}, want a safe non-negative integer`);
  const lo = index % 4_294_967_296;
  const hi = (index - lo) / 4_294_967_296;
  writeHiLo(out, offset, hi, lo);
}

/**
 * KeyArena lays out the keys of one write batch in a few large buffers. Each method writes one key,
 * byte for byte what the matching `*Key` function returns and with the same checks, and returns a
 * view of it. A flush's thousands of keys then cost a few allocations instead of one each, and
 * LevelDB's binding reads them straight from the shared backing store (a small array of its own
 * would first be moved off the V8 heap). An index may be given as a number (a safe integer) to
 * spare a bigint per key. The views are never written again: the arena only moves forward.
 */
export class KeyArena {
  #buf: Uint8Array;
  #pos = 0;
  readonly #chunk: number;

  /** `expectedBytes`: about how many bytes of keys will be written (more is fine: a new chunk). */
  constructor(expectedBytes: number) {
    this.#chunk = Math.max(4096, Math.ceil(expectedBytes));
    this.#buf = new Uint8Array(this.#chunk);
  }

  /** #take reserves `n` bytes and returns their offset in (the possibly new) #buf. */
  #take(n: number): number {
    if (this.#pos + n > this.#buf.length) {
      this.#buf = new Uint8Array(Math.max(this.#chunk, n));
      this.#pos = 0;
    }
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  /** #view returns bytes [at, at + n) of #buf (the constructor is cheaper than subarray). */
  #view(at: number, n: number): Uint8Array {
    return new Uint8Array(this.#buf.buffer, this.#buf.byteOffset + at, n);
  }

  /** `prefix ‖ u64be(index)`, as {@link prefixed}. */
  prefixed(prefix: Uint8Array, index: bigint | number): Uint8Array {
    const n = prefix.length + U64_SIZE;
    const at = this.#take(n);
    writePrefixed(this.#buf, at, prefix, index);
    return this.#view(at, n);
  }

  /** As {@link entryKey}. */
  entry(index: bigint | number): Uint8Array {
    return this.prefixed(PREFIX.entry, index);
  }

  /** As {@link attachmentKey}. */
  attachment(index: bigint | number): Uint8Array {
    return this.prefixed(PREFIX.attachment, index);
  }

  /** As {@link nodeKey}. */
  node(level: number, index: bigint | number): Uint8Array {
    const prefix = typeof level === 'number' && Number.isInteger(level) ? NODE_PREFIXES[level] : undefined;
    if (prefix === undefined) badInput(`storage: node level got ${String(level)}, want 0..63`);
    return this.prefixed(prefix, index);
  }

  /** As {@link leafHashKey}. */
  leafHash(leafHash: Uint8Array, index: bigint | number): Uint8Array {
    const at = this.#take(LEAF_HASH_KEY_SIZE);
    writeLeafHashKey(this.#buf, at, leafHash, index);
    return this.#view(at, LEAF_HASH_KEY_SIZE);
  }

  /**
   * As {@link digestKey}, the 32 digest bytes read at `offset` of `digests` (e.g. the packed
   * digests of checkAppendBatch). Requires: 32 bytes there.
   */
  digest(alg: string, digests: Uint8Array, offset: number, index: bigint | number): Uint8Array {
    const p = digestAlgPrefix(alg);
    if (!(digests instanceof Uint8Array) || !Number.isSafeInteger(offset) || offset < 0 || offset + 32 > digests.length) {
      badInput(`storage: digest at offset ${String(offset)}: want 32 bytes there`);
    }
    const n = p.length + 32 + U64_SIZE;
    const at = this.#take(n);
    writeDigestKey(this.#buf, at, p, digests, offset, index);
    return this.#view(at, n);
  }

  /** As {@link secondaryKey}. */
  secondary(name: string, key: string, index: bigint | number): Uint8Array {
    return this.prefixed(cachedSecondaryPrefix(name, key), index);
  }
}

/**
 * indexOfKey returns the u64be index that ends a key (entry, attachment, node, block, digest
 * or leaf-hash index key). Requires: the key is at least 8 bytes long.
 */
export function indexOfKey(key: Uint8Array): bigint {
  return decodeU64(key, key.length - U64_SIZE);
}

/**
 * prefixEnd returns the smallest key greater than every key that starts with `prefix` (the
 * exclusive upper bound of a prefix scan). Requires: `prefix` is not all 0xff bytes.
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const out = prefix.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i] = (out[i] as number) + 1;
      return out.subarray(0, i + 1).slice();
    }
  }
  throw new Error('storage: bad math: prefixEnd of an all-0xff prefix');
}

/** prefixRange returns the `{gte, lt}` bounds of a scan over every key starting with `prefix`. */
export function prefixRange(prefix: Uint8Array): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: prefix, lt: prefixEnd(prefix) };
}

/**
 * indexRange returns the `{gte, lt}` bounds of keys `family ‖ u64be(i)` for start <= i < end.
 * Requires: 0 <= start <= end <= 2^64 (end = 2^64 scans to the end of the family).
 */
export function indexRange(family: Uint8Array, start: bigint, end: bigint): { gte: Uint8Array; lt: Uint8Array } {
  if (end < start || end > MAX_UINT64 + 1n) badInput(`storage: index range got [${start}, ${end}), want 0 <= start <= end <= 2^64`);
  const gte = prefixed(family, start);
  const lt = end > MAX_UINT64 ? prefixEnd(family) : prefixed(family, end);
  return { gte, lt };
}
