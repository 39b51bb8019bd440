/**
 * Tree nodes stored as tiles (docs/storage-v2.md, issue 17): the planned replacement of layout 1's
 * one key per node. Not used by the store yet.
 *
 * A stored tile is the C2SP tlog-tiles tile (c2sp.org/tlog-tiles: tile level L, index N, the 256
 * node hashes of tree level 8·L from 256·N on) together with the nodes ABOVE those 256 inside it,
 * up to tree level 8·L + 7: 256 + 128 + … + 2 = 510 slots of 32 bytes. (The node at 8·L + 8 is
 * the base of the tile one level up.) So any node is one read of its tile, and a proof at 100M
 * entries reads 4 tiles instead of ~27 keys; the tiles served at `/tile/L/N` are the first 256
 * slots as they are.
 *
 * Slot of node (level h, index i) with h = 8·L + k, 0 ≤ k < 8: the tile N = i >> (8 − k), and
 * slot OFFSET[k] + (i mod 2^(8−k)), OFFSET[k] = 512 − 2^(9−k) (0, 256, 384, …, 508).
 *
 * Only complete nodes are ever stored (perfect subtrees, as in layout 1), so a slot holds a node
 * exactly when the tree's size says the node is complete ({@link nodeComplete}); an empty slot is
 * zero bytes, never read.
 */
import type { NodeHash, NodeId } from '../core/merkle/node.js';

/** Tree levels per tile (C2SP tlog-tiles). */
export const TILE_HEIGHT = 8;
/** Node hashes per tile level's base (C2SP tlog-tiles). */
export const TILE_WIDTH = 256;
/** Slots in a stored tile: the base and the 7 levels above it inside the tile. */
export const TILE_SLOTS = 510;
/** Bytes of a node hash. */
const HASH = 32;

/** OFFSET[k]: the first slot of sub-level k. */
const OFFSET: readonly number[] = Array.from({ length: TILE_HEIGHT }, (_, k) => 512 - 2 ** (9 - k));

/** Where a node lives: tile level and index, and its slot in the tile. */
export interface TileSlot {
  readonly tileLevel: number;
  readonly tileIndex: bigint;
  readonly slot: number;
}

/** tileSlot places node `id`. Requires: level 0 … 63, index ≥ 0. */
export function tileSlot(id: NodeId): TileSlot {
  if (!Number.isInteger(id.level) || id.level < 0 || id.level > 63 || id.index < 0n) throw new RangeError(`node tiles: no node ${id.level}/${id.index}`);
  const k = id.level % TILE_HEIGHT;
  const width = BigInt(TILE_WIDTH >> k);
  return { tileLevel: (id.level - k) / TILE_HEIGHT, tileIndex: id.index / width, slot: (OFFSET[k] as number) + Number(id.index % width) };
}

/** nodeComplete tells whether node `id` covers only leaves below `size` (only those are stored). */
export function nodeComplete(id: NodeId, size: bigint): boolean {
  return (id.index + 1n) << BigInt(id.level) <= size;
}

/** A tile's bytes as the store keeps them, by "tileLevel/tileIndex". */
export type TileBytes = Map<string, Uint8Array>;

export function tileName(tileLevel: number, tileIndex: bigint): string {
  return `${tileLevel}/${tileIndex}`;
}

/**
 * placeNodes writes `nodes` (a flush's, as the compact range emitted them) into their tiles and
 * returns the tiles it changed, by name: each one's bytes from `current` (what the store holds,
 * for the partial tail tiles a flush extends; absent: a new tile), with the new nodes set. The
 * caller puts each returned tile in the flush's batch. Pure: `current` is not modified.
 */
export function placeNodes(nodes: readonly NodeHash[], current: (name: string) => Uint8Array | undefined): TileBytes {
  const out: TileBytes = new Map();
  for (const node of nodes) {
    if (!(node.hash instanceof Uint8Array) || node.hash.length !== HASH) throw new RangeError(`node tiles: hash of ${node.level}/${node.index} is not 32 bytes`);
    const at = tileSlot(node);
    const name = tileName(at.tileLevel, at.tileIndex);
    let tile = out.get(name);
    if (tile === undefined) {
      tile = new Uint8Array(TILE_SLOTS * HASH);
      const had = current(name);
      if (had !== undefined) {
        if (had.length !== TILE_SLOTS * HASH) throw new Error(`storage: tile ${name} is ${had.length} bytes, want ${TILE_SLOTS * HASH}`);
        tile.set(had);
      }
      out.set(name, tile);
    }
    tile.set(node.hash, at.slot * HASH);
  }
  return out;
}

/** nodeFromTile reads the node at `slot` of a stored tile (a copy). Requires: the node is complete. */
export function nodeFromTile(tile: Uint8Array, slot: number): Uint8Array {
  if (tile.length !== TILE_SLOTS * HASH) throw new Error(`storage: tile is ${tile.length} bytes, want ${TILE_SLOTS * HASH}`);
  if (!Number.isInteger(slot) || slot < 0 || slot >= TILE_SLOTS) throw new RangeError(`node tiles: no slot ${slot}`);
  return tile.slice(slot * HASH, (slot + 1) * HASH);
}

/** baseHashes returns the C2SP tile's bytes: the first `width` base hashes (what `/tile/L/N[.p/W]` serves). */
export function baseHashes(tile: Uint8Array, width: number): Uint8Array {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new RangeError(`node tiles: width ${width}`);
  return tile.subarray(0, width * HASH);
}
