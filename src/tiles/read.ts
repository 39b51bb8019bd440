/**
 * Reading C2SP tlog-tiles straight out of a {@link LedgerStore}: a hash tile is one batched
 * `readNodes` of the level-8L nodes it holds, an entry bundle one `getEntries` range. Nothing is
 * rebuilt or cached: every stored node is already a complete subtree hash, so a tile of any width
 * up to the published checkpoint size is just a slice of stored nodes.
 * See contracts-free-ledger/SPEC.md#tiles.
 */
import { concatBytes } from '../core/bytes.js';
import { encodeEntryBundle, planTile, tileWidth, TILE_WIDTH, type Tile } from '../core/tiles.js';
import type { LedgerStore } from '../storage/store.js';

/**
 * tileAvailable says whether `tile` exists in the tree of `publishedSize` leaves: every node (or
 * entry) it holds is complete at that size, and a full tile (width 256) is full at that size.
 * A partial tile of any width up to the rightmost one is available: its bytes never change.
 */
export function tileAvailable(tile: Tile, publishedSize: bigint): boolean {
  const have = tileWidth(tile.kind === 'hash' ? tile.level : 0, tile.index, publishedSize);
  return tile.width === TILE_WIDTH ? have === TILE_WIDTH : have >= tile.width;
}

/**
 * readTile returns the bytes of hash tile (level, index, width): the 32-byte hashes of nodes at
 * tree level 8·level, indexes [256·index, 256·index + width), concatenated; or undefined if the
 * tile is not available at `publishedSize` (see {@link tileAvailable}).
 * Requires: a valid hash tile; the store holds every node below its size (a missing node is
 * storage corruption and throws).
 */
export async function readTile(store: LedgerStore, tile: Tile & { kind: 'hash' }, publishedSize: bigint): Promise<Uint8Array | undefined> {
  if (!tileAvailable(tile, publishedSize)) return undefined;
  const hashes = await store.readNodes(planTile(tile.level, tile.index, tile.width));
  if (hashes.length !== tile.width) throw new Error(`tiles: got ${hashes.length} hashes for a tile of width ${tile.width}`);
  return concatBytes(...hashes);
}

/**
 * readEntryBundle returns entry bundle (index, width): entries [256·index, 256·index + width),
 * each as a big-endian uint16 length and its bytes; or undefined if not available at
 * `publishedSize`. Requires: the store holds those entries (a short read throws).
 */
export async function readEntryBundle(store: LedgerStore, tile: Tile & { kind: 'entries' }, publishedSize: bigint): Promise<Uint8Array | undefined> {
  if (!tileAvailable(tile, publishedSize)) return undefined;
  const entries = await store.getEntries(tile.index * BigInt(TILE_WIDTH), tile.width);
  if (entries.length !== tile.width) throw new Error(`tiles: got ${entries.length} entries for bundle ${tile.index} of width ${tile.width}`);
  return encodeEntryBundle(entries);
}

/** readTileBytes reads either kind of tile (see {@link readTile} and {@link readEntryBundle}). */
export function readTileBytes(store: LedgerStore, tile: Tile, publishedSize: bigint): Promise<Uint8Array | undefined> {
  return tile.kind === 'hash' ? readTile(store, tile, publishedSize) : readEntryBundle(store, tile, publishedSize);
}
