/**
 * Storage layout 2 (contracts-free-ledger/SPEC.md#storage, "Layout 2"; docs/storage-v2.md; issue
 * 17): what changes against layout 1 (keys.ts), and the pure planning of one flush's writes.
 *
 * | key | value |
 * |---|---|
 * | `s:layout` | one byte: 2 |
 * | `E` ‖ u64be(N) | the C2SP tlog-tiles entry bundle of entries 256·N … 256·N+255 (partial at the tail: the entries so far) |
 * | `T` ‖ u8(L) ‖ u64be(N) | node tile: 510 slots of 32 bytes (node-tiles.ts); an incomplete node's slot is zero |
 * | `G` ‖ u64be(N) | the content digests of bundle N's entries: per digest u8(slot) ‖ u8(len) ‖ alg ‖ 32 bytes, in slot order |
 * | `i` ‖ `l` ‖ … | leaf-hash index as sorted runs (run-index.ts) |
 * | `i` ‖ `d` ‖ … | content-digest index as sorted runs (run-index.ts) |
 *
 * Attachments (`a`), secondary indexes (`x`), blocks, evidence, meta, API keys and records keep
 * their layout-1 keys; `e`, `n`, `l` and `d` are not written. The partial tail bundle, digest
 * bundle and tiles are rewritten by the next flush in its synced batch, so one flush writes a few
 * keys whatever its size, and a log of n entries holds about n/256 keys for entries and tree.
 */
import { decodeEntryBundle, encodeEntryBundle } from '../core/tiles.js';
import type { NodeHash, NodeId } from '../core/merkle/node.js';
import { TILE_SLOTS, TILE_WIDTH, placeNodes, tileName, tileSlot } from './node-tiles.js';

/** The layout this code writes. */
export const LAYOUT = 2;
/** Entries per bundle (C2SP tlog-tiles). */
export const BUNDLE = TILE_WIDTH;
/** Run index ids (run-index.ts): the leaf-hash and the content-digest index. */
export const LEAF_INDEX = 0x6c;
export const DIGEST_INDEX = 0x64;

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Key of the layout marker. */
export const LAYOUT_KEY: Uint8Array = ascii('s:layout');
/** Family bytes of layout 2's own keys. */
export const PREFIX2 = { bundle: 0x45, tile: 0x54, digests: 0x47 } as const;

function u64Key(family: number, extra: readonly number[], n: bigint | number): Uint8Array {
  const out = new Uint8Array(1 + extra.length + 8);
  out[0] = family;
  out.set(extra, 1);
  const v = typeof n === 'bigint' ? n : BigInt(n);
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new RangeError(`storage: key index ${v} is not a uint64`);
  new DataView(out.buffer).setBigUint64(1 + extra.length, v, false);
  return out;
}

/** bundleKey returns `E ‖ u64be(n)`. */
export function bundleKey(n: bigint | number): Uint8Array {
  return u64Key(PREFIX2.bundle, [], n);
}

/** tileKey returns `T ‖ u8(level) ‖ u64be(n)`. Requires: level 0 … 7 (a tile level). */
export function tileKey(level: number, n: bigint | number): Uint8Array {
  if (!Number.isInteger(level) || level < 0 || level > 7) throw new RangeError(`storage: tile level ${level}, want 0..7`);
  return u64Key(PREFIX2.tile, [level], n);
}

/** digestBundleKey returns `G ‖ u64be(n)`. */
export function digestBundleKey(n: bigint | number): Uint8Array {
  return u64Key(PREFIX2.digests, [], n);
}

/** One content digest of a digest bundle: entry 256·N + slot has digest (alg, bytes). */
export interface DigestRecord {
  readonly slot: number;
  readonly alg: string;
  readonly digest: Uint8Array;
}

/** encodeDigestRecord returns one record's bytes: u8(slot) ‖ u8(len) ‖ alg ‖ 32 bytes. */
export function encodeDigestRecord(r: DigestRecord): Uint8Array {
  const alg = ascii(r.alg);
  if (!Number.isInteger(r.slot) || r.slot < 0 || r.slot >= BUNDLE || alg.length < 1 || alg.length > 32 || r.digest.length !== 32) {
    throw new RangeError(`storage: digest record slot ${r.slot} alg ${r.alg}: malformed`);
  }
  const out = new Uint8Array(2 + alg.length + 32);
  out[0] = r.slot;
  out[1] = alg.length;
  out.set(alg, 2);
  out.set(r.digest, 2 + alg.length);
  return out;
}

/** decodeDigestRecords splits a digest bundle strictly: whole records, slots not decreasing. */
export function decodeDigestRecords(bytes: Uint8Array): DigestRecord[] {
  const out: DigestRecord[] = [];
  const dec = new TextDecoder();
  for (let at = 0; at < bytes.length; ) {
    if (at + 2 > bytes.length) throw new Error(`storage: digest bundle truncated at offset ${at}`);
    const slot = bytes[at] as number;
    const len = bytes[at + 1] as number;
    if (len < 1 || len > 32 || at + 2 + len + 32 > bytes.length) throw new Error(`storage: digest bundle record at offset ${at} malformed`);
    if (out.length > 0 && slot < (out.at(-1) as DigestRecord).slot) throw new Error(`storage: digest bundle slots out of order at offset ${at}`);
    out.push({ slot, alg: dec.decode(bytes.subarray(at + 2, at + 2 + len)), digest: bytes.slice(at + 2 + len, at + 2 + len + 32) });
    at += 2 + len + 32;
  }
  return out;
}

/** entryOfBundle returns entry `slot` of an entry bundle (a view), walking the length prefixes only. */
export function entryOfBundle(bundle: Uint8Array, slot: number): Uint8Array | undefined {
  let at = 0;
  for (let i = 0; at + 2 <= bundle.length; i++) {
    const len = ((bundle[at] as number) << 8) | (bundle[at + 1] as number);
    if (at + 2 + len > bundle.length) throw new Error(`storage: entry bundle truncated at entry ${i}`);
    if (i === slot) return bundle.subarray(at + 2, at + 2 + len);
    at += 2 + len;
  }
  if (at !== bundle.length) throw new Error('storage: entry bundle has trailing bytes');
  return undefined;
}

/** The acknowledged tail the next flush extends: the partial bundle's entries and digests, the incomplete tiles. */
export interface Tail {
  readonly size: bigint;
  /** Entries of bundle size/256 so far (size mod 256 of them). */
  readonly entries: readonly Uint8Array[];
  /** Digest records of bundle size/256 so far, encoded. */
  readonly digests: Uint8Array;
  /** Every tile that holds a complete node but is not complete itself, by tileName. */
  readonly tiles: ReadonlyMap<string, Uint8Array>;
}

/** tileComplete tells whether tile (level, n) has all its nodes at `size`. */
export function tileComplete(level: number, n: bigint, size: bigint): boolean {
  return (n + 1n) << BigInt(8 * (level + 1)) <= size;
}

/** tailTiles lists the tiles a store of `size` entries holds incomplete: at most one per tile level. */
export function tailTiles(size: bigint): Array<{ level: number; index: bigint }> {
  const out: Array<{ level: number; index: bigint }> = [];
  for (let level = 0; 1n << BigInt(8 * level) <= size; level++) {
    const index = size >> BigInt(8 * (level + 1));
    // The tile's first base node is complete, and the tile is not.
    if ((index << BigInt(8 * (level + 1))) + (1n << BigInt(8 * level)) <= size && !tileComplete(level, index, size)) out.push({ level, index });
  }
  return out;
}

/** The writes of one flush in layout 2, and the tail after it. */
export interface FlushPlan {
  readonly puts: Array<[Uint8Array, Uint8Array]>;
  readonly tail: Tail;
}

/**
 * planFlush returns the bundle, digest-bundle and tile writes of the flush [first, end) over
 * `tail` (first = tail.size). `digests` are the flush's, in index order. Pure.
 */
export function planFlush(
  tail: Tail,
  entries: readonly Uint8Array[],
  nodes: readonly NodeHash[],
  digests: ReadonlyArray<{ readonly alg: string; readonly digest: Uint8Array; readonly index: bigint }>,
): FlushPlan {
  const first = tail.size;
  const end = first + BigInt(entries.length);
  const puts: Array<[Uint8Array, Uint8Array]> = [];
  const B = BigInt(BUNDLE);
  let nextEntries: readonly Uint8Array[] = tail.entries;
  let nextDigests = tail.digests;
  let d = 0;
  for (let b = first / B; b * B < end; b++) {
    const lo = b * B;
    const hi = lo + B < end ? lo + B : end;
    const carried = lo < first ? tail.entries : [];
    const inBundle = [...carried, ...entries.slice(Number((lo > first ? lo : first) - first), Number(hi - first))];
    const encoded = encodeEntryBundle(inBundle);
    puts.push([bundleKey(b), encoded]);
    // The digests of this bundle: the carried records, then this flush's.
    const parts: Uint8Array[] = lo < first && tail.digests.length > 0 ? [tail.digests] : [];
    let added = false;
    for (; d < digests.length && (digests[d] as { index: bigint }).index < hi; d++) {
      const x = digests[d] as { alg: string; digest: Uint8Array; index: bigint };
      if (x.index < lo) throw new RangeError(`storage: digest of entry ${x.index} out of order`);
      parts.push(encodeDigestRecord({ slot: Number(x.index - lo), alg: x.alg, digest: x.digest }));
      added = true;
    }
    const bundleDigests = concat(parts);
    if (added) puts.push([digestBundleKey(b), bundleDigests]);
    if (hi - lo < B) {
      // Views of the bundle as encoded (a copy): the caller's arrays may change after the flush.
      nextEntries = decodeEntryBundle(encoded);
      nextDigests = bundleDigests;
    } else {
      nextEntries = [];
      nextDigests = new Uint8Array(0);
    }
  }
  if (d !== digests.length) throw new RangeError('storage: a digest outside the flush');
  const changed = placeNodes(nodes, (name) => tail.tiles.get(name));
  const tiles = new Map(tail.tiles);
  for (const [name, bytes] of changed) {
    const [level, index] = name.split('/') as [string, string];
    puts.push([tileKey(Number(level), BigInt(index)), bytes]);
    tiles.set(name, bytes);
  }
  for (const name of tiles.keys()) {
    const [level, index] = name.split('/') as [string, string];
    if (tileComplete(Number(level), BigInt(index), end)) tiles.delete(name);
  }
  return { puts, tail: { size: end, entries: nextEntries, digests: nextDigests, tiles } };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Where node `id` is read: its tile's key name and the slot. */
export function nodeLocation(id: NodeId): { name: string; level: number; index: bigint; slot: number } {
  const at = tileSlot(id);
  return { name: tileName(at.tileLevel, at.tileIndex), level: at.tileLevel, index: at.tileIndex, slot: at.slot };
}

/** decodeBundle splits a stored bundle: at least `atLeast` entries (a partial one may have grown since the caller's size). */
export function decodeBundle(bytes: Uint8Array, atLeast: number): Uint8Array[] {
  const out = decodeEntryBundle(bytes);
  if (out.length < atLeast) throw new Error(`storage: entry bundle holds ${out.length} entries, want at least ${atLeast}`);
  return out;
}

/** Bytes of a stored tile. */
export const TILE_BYTES = TILE_SLOTS * 32;
