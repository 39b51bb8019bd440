/**
 * Storage layout 2 (contracts-free-ledger/SPEC.md#storage, "Layout 2"; docs/storage-v2.md; issue
 * 17): what changes against layout 1 (keys.ts), and the pure planning of one flush's writes.
 *
 * | key | value |
 * |---|---|
 * | `s:layout` | one byte: 2 |
 * | `E` ‖ u64be(N) | the C2SP tlog-tiles entry bundle of entries 256·N … 256·N+255, once complete |
 * | `T` ‖ u8(L) ‖ u64be(N) | node tile, once complete: 510 slots of 32 bytes (node-tiles.ts) |
 * | `G` ‖ u64be(N) | the content digests of bundle N's entries, once complete: per digest u8(slot) ‖ u8(len) ‖ alg ‖ 32 bytes, in slot order |
 * | `F` ‖ u64be(start) | a piece of the partial bundle: the entries one flush added from `start` (entry-bundle encoding) |
 * | `H` ‖ u64be(start) | the digests of that piece (digest records, slots relative to the bundle) |
 * | `U` ‖ u8(L) ‖ u64be(N) ‖ u64be(start) | a piece of incomplete tile (L, N): the nodes the flush from `start` added, u16be(slot) ‖ 32 bytes each |
 * | `i` ‖ `l` ‖ … | leaf-hash index as sorted runs (run-index.ts), written lagging behind the appends |
 * | `i` ‖ `d` ‖ … | content-digest index as sorted runs (run-index.ts), the same |
 *
 * Attachments (`a`), secondary indexes (`x`), blocks, evidence, meta, API keys and records keep
 * their layout-1 keys; `e`, `n`, `l` and `d` are not written. A flush writes what it adds to the
 * partial bundle and tiles as pieces (bytes in proportion to the flush, however small), and the
 * flush that completes a bundle or tile writes it whole and deletes its pieces: a log of n entries
 * holds about n/256 keys for entries and tree.
 */
import { concatBytes } from '../core/bytes.js';
import { decodeEntryBundle, encodeEntryBundle } from '../core/tiles.js';
import type { NodeHash, NodeId } from '../core/merkle/node.js';
import { TILE_SLOTS, TILE_WIDTH, tileName, tileSlot } from './node-tiles.js';

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
export const PREFIX2 = { bundle: 0x45, tile: 0x54, digests: 0x47, bundlePiece: 0x46, digestPiece: 0x48, tilePiece: 0x55 } as const;

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

/** bundlePieceKey returns `F ‖ u64be(start)`. */
export function bundlePieceKey(start: bigint | number): Uint8Array {
  return u64Key(PREFIX2.bundlePiece, [], start);
}

/** digestPieceKey returns `H ‖ u64be(start)`. */
export function digestPieceKey(start: bigint | number): Uint8Array {
  return u64Key(PREFIX2.digestPiece, [], start);
}

/** tilePiecePrefix returns `U ‖ u8(level) ‖ u64be(n)`, the prefix of tile (level, n)'s pieces. */
export function tilePiecePrefix(level: number, n: bigint | number): Uint8Array {
  if (!Number.isInteger(level) || level < 0 || level > 7) throw new RangeError(`storage: tile level ${level}, want 0..7`);
  return u64Key(PREFIX2.tilePiece, [level], n);
}

/** tilePieceKey returns `U ‖ u8(level) ‖ u64be(n) ‖ u64be(start)`. */
export function tilePieceKey(level: number, n: bigint | number, start: bigint | number): Uint8Array {
  const p = tilePiecePrefix(level, n);
  const out = new Uint8Array(p.length + 8);
  out.set(p);
  new DataView(out.buffer).setBigUint64(p.length, BigInt(start), false);
  return out;
}

/** encodeTilePiece returns the records u16be(slot) ‖ hash of `nodes` (slot, hash). */
export function encodeTilePiece(nodes: ReadonlyArray<{ readonly slot: number; readonly hash: Uint8Array }>): Uint8Array {
  const out = new Uint8Array(34 * nodes.length);
  nodes.forEach((n, i) => {
    out[34 * i] = n.slot >>> 8;
    out[34 * i + 1] = n.slot & 0xff;
    out.set(n.hash, 34 * i + 2);
  });
  return out;
}

/** applyTilePiece writes a piece's nodes into `tile`. Requires: whole records, slots inside the tile. */
export function applyTilePiece(tile: Uint8Array, piece: Uint8Array): void {
  if (piece.length % 34 !== 0) throw new Error(`storage: tile piece of ${piece.length} bytes is not whole records`);
  for (let at = 0; at < piece.length; at += 34) {
    const slot = ((piece[at] as number) << 8) | (piece[at + 1] as number);
    if (slot >= TILE_SLOTS) throw new Error(`storage: tile piece slot ${slot} is outside the tile`);
    tile.set(piece.subarray(at + 2, at + 34), 32 * slot);
  }
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
  /** The starts of the partial bundle's pieces (`F`, and `H` where it has digests). */
  readonly pieces: readonly bigint[];
  /** The starts of each incomplete tile's pieces (`U`), by tileName. */
  readonly tilePieces: ReadonlyMap<string, readonly bigint[]>;
}

/** The empty tail of an empty log. */
export const EMPTY_TAIL: Tail = { size: 0n, entries: [], digests: new Uint8Array(0), tiles: new Map(), pieces: [], tilePieces: new Map() };

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

/** One write of a flush. */
export type LayoutOp = { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array } | { readonly type: 'del'; readonly key: Uint8Array };

/** The writes of one flush in layout 2, and the tail after it. */
export interface FlushPlan {
  readonly ops: LayoutOp[];
  readonly tail: Tail;
}

/**
 * planFlush returns the bundle, digest, tile and piece writes of the flush [first, end) over
 * `tail` (first = tail.size): complete bundles and tiles whole (deleting their pieces), what the
 * flush adds to the partial ones as pieces. `digests` are the flush's, in index order. Pure.
 */
export function planFlush(
  tail: Tail,
  entries: readonly Uint8Array[],
  nodes: readonly NodeHash[],
  digests: ReadonlyArray<{ readonly alg: string; readonly digest: Uint8Array; readonly index: bigint }>,
): FlushPlan {
  const first = tail.size;
  const end = first + BigInt(entries.length);
  const ops: LayoutOp[] = [];
  const put = (key: Uint8Array, value: Uint8Array) => ops.push({ type: 'put', key, value });
  const del = (key: Uint8Array) => ops.push({ type: 'del', key });
  const B = BigInt(BUNDLE);
  let next: Pick<Tail, 'entries' | 'digests' | 'pieces'> = tail;
  let d = 0;
  for (let b = first / B; b * B < end; b++) {
    const lo = b * B;
    const hi = lo + B < end ? lo + B : end;
    const carried = lo < first;
    const start = carried ? first : lo;
    const added = entries.slice(Number(start - first), Number(hi - first));
    const records: Uint8Array[] = [];
    for (; d < digests.length && (digests[d] as { index: bigint }).index < hi; d++) {
      const x = digests[d] as { alg: string; digest: Uint8Array; index: bigint };
      if (x.index < start) throw new RangeError(`storage: digest of entry ${x.index} out of order`);
      records.push(encodeDigestRecord({ slot: Number(x.index - lo), alg: x.alg, digest: x.digest }));
    }
    const allDigests = concatBytes(...(carried && tail.digests.length > 0 ? [tail.digests] : []), ...records);
    if (hi - lo === B) {
      put(bundleKey(b), encodeEntryBundle(carried ? [...tail.entries, ...added] : added));
      if (allDigests.length > 0) put(digestBundleKey(b), allDigests);
      if (carried) for (const p of tail.pieces) del(bundlePieceKey(p)), del(digestPieceKey(p));
      next = { entries: [], digests: new Uint8Array(0), pieces: [] };
    } else {
      const piece = encodeEntryBundle(added);
      put(bundlePieceKey(start), piece);
      if (records.length > 0) put(digestPieceKey(start), concatBytes(...records));
      // Views of the piece as encoded (a copy): the caller's arrays may change after the flush.
      next = { entries: [...(carried ? tail.entries : []), ...decodeEntryBundle(piece)], digests: allDigests, pieces: [...(carried ? tail.pieces : []), start] };
    }
  }
  if (d !== digests.length) throw new RangeError('storage: a digest outside the flush');
  const { tiles, tilePieces } = planTiles(tail, nodes, first, end, put, del);
  return { ops, tail: { size: end, ...next, tiles, tilePieces } };
}

/** planTiles adds the tile writes of a flush: complete tiles whole (their pieces deleted), pieces for the others. */
function planTiles(
  tail: Tail,
  nodes: readonly NodeHash[],
  first: bigint,
  end: bigint,
  put: (key: Uint8Array, value: Uint8Array) => void,
  del: (key: Uint8Array) => void,
): { tiles: Map<string, Uint8Array>; tilePieces: Map<string, readonly bigint[]> } {
  const byTile = new Map<string, { level: number; index: bigint; nodes: Array<{ slot: number; hash: Uint8Array }> }>();
  for (const node of nodes) {
    if (!(node.hash instanceof Uint8Array) || node.hash.length !== 32) throw new RangeError(`node tiles: hash of ${node.level}/${node.index} is not 32 bytes`);
    const at = nodeLocation(node);
    let t = byTile.get(at.name);
    if (t === undefined) byTile.set(at.name, (t = { level: at.level, index: at.index, nodes: [] }));
    t.nodes.push({ slot: at.slot, hash: node.hash });
  }
  const tiles = new Map(tail.tiles);
  const tilePieces = new Map(tail.tilePieces);
  for (const [name, t] of byTile) {
    const had = tail.tiles.get(name);
    const tile = new Uint8Array(TILE_SLOTS * 32);
    if (had !== undefined) tile.set(had);
    for (const n of t.nodes) tile.set(n.hash, 32 * n.slot);
    if (tileComplete(t.level, t.index, end)) {
      put(tileKey(t.level, t.index), tile);
      for (const p of tail.tilePieces.get(name) ?? []) del(tilePieceKey(t.level, t.index, p));
      tiles.delete(name);
      tilePieces.delete(name);
    } else {
      put(tilePieceKey(t.level, t.index, first), encodeTilePiece(t.nodes));
      tiles.set(name, tile);
      tilePieces.set(name, [...(tail.tilePieces.get(name) ?? []), first]);
    }
  }
  return { tiles, tilePieces };
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
