/**
 * Tree nodes of a layout-2 data directory for the local audit (local.ts): the complete node tiles
 * `T ‖ u8(L) ‖ u64be(N)` and the pieces `U ‖ u8(L) ‖ u64be(N) ‖ u64be(start)` of the incomplete
 * ones (src/storage/node-tiles.ts, layout2.ts: 510 slots of 32 bytes, a zero slot = a node not
 * complete; contracts-free-ledger/SPEC.md#layout-2, docs/storage-v2.md) read as the
 * {@link StoredNodes} a replay compares with the nodes it recomputes, and the checks only tiles
 * need: no tile beyond the tree, and no hash in a slot whose node the tree's size leaves
 * incomplete. Every complete slot of every tile is compared by the replay (levels 0–11 inside a
 * chunk, the levels above as the engine completes them), a zero one is `node-missing`.
 *
 * A tile that is missing or malformed is one problem (reported once: a level-0 tile by its chunk,
 * a level-1 tile by the first chunk under it, higher tiles by the main thread), and its nodes are
 * left unchecked rather than each reported.
 */
import { toHex } from '../core/bytes.js';
import { HASH_SIZE } from '../core/merkle/hash.js';
import { PREFIX2, TILE_BYTES, tailTiles, tileComplete, tileKey, tilePiecePrefix } from '../storage/layout2.js';
import { TILE_HEIGHT, TILE_SLOTS, TILE_WIDTH, nodeComplete, tileSlot } from '../storage/node-tiles.js';
import { FINISH_LIMIT, isZero, type Db } from './local-db.js';
import type { StoredNodes } from './reads.js';
import type { Problem } from './report.js';

/** A stored tile as read: its bytes, or the problem that keeps its nodes from being compared. */
export type TileRead = { readonly bytes: Uint8Array } | { readonly problem: Problem };

/** The first entry under tile (level, index): the first leaf of its first base node. */
function tileFirstEntry(level: number, index: bigint): bigint {
  return (index * BigInt(TILE_WIDTH)) << BigInt(TILE_HEIGHT * level);
}

/** checkTile tells what a stored value of tile (level, index) is good for. */
export function checkTile(level: number, index: bigint, v: Uint8Array | undefined): TileRead {
  const where = { level: TILE_HEIGHT * level, node: index * BigInt(TILE_WIDTH), index: tileFirstEntry(level, index) };
  if (v === undefined) {
    return { problem: { kind: 'node-missing', ...where, message: `tile ${level}/${index} (tree levels ${8 * level}–${8 * level + 7}) is not stored: none of its nodes can be compared`, expected: `tile ${level}/${index}`, found: 'nothing' } };
  }
  if (v.length !== TILE_BYTES) {
    return { problem: { kind: 'node-mismatch', ...where, message: `tile ${level}/${index} is ${v.length} bytes, want ${TILE_BYTES} (${TILE_SLOTS} slots of 32): none of its nodes can be compared`, expected: `${TILE_BYTES} bytes`, found: `${v.length} bytes` } };
  }
  return { bytes: v };
}

/** The exclusive end of the piece keys of tile (level, index). */
function piecesEnd(level: number, index: bigint): Uint8Array {
  const p = tilePiecePrefix(level, index);
  const out = new Uint8Array(p.length + 9).fill(0xff);
  out.set(p);
  return out;
}

/**
 * readIncomplete assembles incomplete tile (level, index) from its pieces (each u16be(slot) ‖ 32
 * bytes per node, applied in key order as the store applies them).
 */
async function readIncomplete(db: Db, level: number, index: bigint): Promise<TileRead> {
  const rows = await db.iterator({ gte: tilePiecePrefix(level, index), lt: piecesEnd(level, index) }).all();
  const where = { level: TILE_HEIGHT * level, node: index * BigInt(TILE_WIDTH), index: tileFirstEntry(level, index) };
  if (rows.length === 0) {
    return { problem: { kind: 'node-missing', ...where, message: `tile ${level}/${index} (tree levels ${8 * level}–${8 * level + 7}) is incomplete and none of its pieces is stored: none of its nodes can be compared`, expected: `pieces of tile ${level}/${index}`, found: 'nothing' } };
  }
  const tile = new Uint8Array(TILE_BYTES);
  for (const [k, v] of rows) {
    const bad = v.length % 34 !== 0 ? `${v.length} bytes, not whole records of 34` : undefined;
    for (let at = 0; bad === undefined && at < v.length; at += 34) {
      const slot = ((v[at] as number) << 8) | (v[at + 1] as number);
      if (slot >= TILE_SLOTS) return { problem: { kind: 'node-mismatch', ...where, message: `a piece of tile ${level}/${index} (key ${toHex(k)}) names slot ${slot}, outside the tile's ${TILE_SLOTS}: none of its nodes can be compared`, found: `slot ${slot}` } };
      tile.set(v.subarray(at + 2, at + 34), 32 * slot);
    }
    if (bad !== undefined) return { problem: { kind: 'node-mismatch', ...where, message: `a piece of tile ${level}/${index} (key ${toHex(k)}) is ${bad}: none of its nodes can be compared`, found: bad } };
  }
  return { bytes: tile };
}

/** readTile reads tile (level, index) of a store of `size` entries: whole when complete, else from its pieces. */
export async function readTile(db: Db, level: number, index: bigint, size: bigint): Promise<TileRead> {
  if (!tileComplete(level, index, size)) return readIncomplete(db, level, index);
  const [v] = await db.getMany([tileKey(level, index)]);
  return checkTile(level, index, v);
}

/**
 * nodesFromTiles returns the stored hashes of nodes [start, start + count) at `level`, taken from
 * their tiles (`tileOf`); a zero slot is missing, a slot of an unreadable tile unchecked, whose
 * problem is listed when `report(tile)` says so.
 */
export function nodesFromTiles(level: number, start: bigint, count: number, tileOf: (tileLevel: number, tileIndex: bigint) => TileRead, report: (tileLevel: number, tileIndex: bigint) => boolean): StoredNodes {
  const hashes = new Uint8Array(count * HASH_SIZE);
  const missing: number[] = [];
  const unchecked: number[] = [];
  const problems: Problem[] = [];
  const width = TILE_WIDTH >> (level % TILE_HEIGHT);
  let tile: TileRead | undefined;
  let slot = 0;
  let left = 0;
  for (let j = 0; j < count; j++) {
    if (left === 0) {
      // Nodes of one level are consecutive slots of a tile: place the first, then count on.
      const index = start + BigInt(j);
      const at = tileSlot({ level, index });
      tile = tileOf(at.tileLevel, at.tileIndex);
      if ('problem' in tile && report(at.tileLevel, at.tileIndex)) problems.push(tile.problem);
      slot = at.slot;
      left = width - Number(index % BigInt(width));
    }
    const t = tile as TileRead;
    if (!('bytes' in t)) unchecked.push(j);
    else if (isZero(t.bytes, slot * HASH_SIZE)) missing.push(j);
    else hashes.set(t.bytes.subarray(slot * HASH_SIZE, (slot + 1) * HASH_SIZE), j * HASH_SIZE);
    slot++;
    left--;
  }
  return { hashes, missing, ...(unchecked.length > 0 ? { unchecked } : {}), ...(problems.length > 0 ? { problems } : {}) };
}

/**
 * readChunkTiles reads the tiles of the aligned chunk [start, start + count) of a store of `size`
 * entries once (its level-0 tiles and, from 256 entries, the level-1 tile above) and returns its
 * stored nodes per level, 0 … floor(log2(count)). Requires: start a multiple of 4,096,
 * 1 ≤ count ≤ 4,096.
 */
export async function readChunkTiles(db: Db, start: bigint, count: number, size: bigint): Promise<StoredNodes[]> {
  const first = start >> 8n;
  const n = Number((start + BigInt(count) - 1n) >> 8n) - Number(first) + 1;
  const wanted = Array.from({ length: n }, (_, j) => ({ level: 0, index: first + BigInt(j) }));
  if (count >= TILE_WIDTH) wanted.push({ level: 1, index: start >> 16n });
  // The complete tiles in one read, the incomplete ones (at most one per level) from their pieces.
  const whole = wanted.filter((t) => tileComplete(t.level, t.index, size));
  const values = whole.length === 0 ? [] : await db.getMany(whole.map((t) => tileKey(t.level, t.index)));
  const tiles = new Map<string, TileRead>();
  whole.forEach((t, j) => tiles.set(`${t.level}/${t.index}`, checkTile(t.level, t.index, values[j])));
  for (const t of wanted) if (!tiles.has(`${t.level}/${t.index}`)) tiles.set(`${t.level}/${t.index}`, await readIncomplete(db, t.level, t.index));
  const tileOf = (l: number, i: bigint): TileRead => {
    const t = tiles.get(`${l}/${i}`);
    if (t === undefined) throw new Error(`audit: bad math: chunk at ${start} needs tile ${l}/${i}`);
    return t;
  };
  // Each tile's problem once (its nodes are at several levels); a level-1 tile lies under 16
  // chunks: its problem is the first one's to report.
  const reported = new Set<string>();
  const report = (l: number, i: bigint) => {
    if (reported.has(`${l}/${i}`) || (l > 0 && start % (1n << 16n) !== 0n)) return false;
    reported.add(`${l}/${i}`);
    return true;
  };
  return Array.from({ length: 32 - Math.clz32(count) }, (_, l) => nodesFromTiles(l, start >> BigInt(l), count >> l, tileOf, report));
}

/**
 * TileCache reads nodes above the chunks for the main thread, one tile per tile level kept (the
 * engine asks for them in order), and reports each unreadable tile of level 2 or more once
 * (level-0 and level-1 tiles are the chunks' to report).
 */
export class TileCache {
  readonly #db: Db;
  readonly #size: () => bigint;
  readonly #last = new Map<number, { index: bigint; read: TileRead }>();
  readonly #reported = new Set<string>();

  /** `size`: the stored size, which tells complete tiles from incomplete ones. */
  constructor(db: Db, size: () => bigint) {
    this.#db = db;
    this.#size = size;
  }

  async #tile(level: number, index: bigint): Promise<TileRead> {
    const hit = this.#last.get(level);
    if (hit !== undefined && hit.index === index) return hit.read;
    const read = await readTile(this.#db, level, index, this.#size());
    this.#last.set(level, { index, read });
    return read;
  }

  /** nodes returns the stored hashes of nodes [start, start + count) at `level`. */
  async nodes(level: number, start: bigint, count: number): Promise<StoredNodes> {
    const tiles = new Map<string, TileRead>();
    for (let j = 0; j < count; j++) {
      const at = tileSlot({ level, index: start + BigInt(j) });
      const name = `${at.tileLevel}/${at.tileIndex}`;
      if (!tiles.has(name)) tiles.set(name, await this.#tile(at.tileLevel, at.tileIndex));
    }
    const report = (l: number, i: bigint) => {
      if (l < 2 || this.#reported.has(`${l}/${i}`)) return false;
      this.#reported.add(`${l}/${i}`);
      return true;
    };
    return nodesFromTiles(level, start, count, (l, i) => tiles.get(`${l}/${i}`) as TileRead, report);
  }
}

/** The node in slot `slot` of tile (tileLevel, tileIndex): the inverse of tileSlot. */
function nodeOfSlot(tileLevel: number, tileIndex: bigint, slot: number): { level: number; index: bigint } {
  let k = 0;
  while (k < TILE_HEIGHT - 1 && slot >= 512 - 2 ** (8 - k)) k++;
  const width = TILE_WIDTH >> k;
  return { level: TILE_HEIGHT * tileLevel + k, index: tileIndex * BigInt(width) + BigInt(slot - (512 - 2 ** (9 - k))) };
}

/**
 * finishTiles checks what only the tree's size decides: no whole tile (`T`) but for complete
 * tiles, no tile of a level above 7, no piece (`U`) but of the tiles the size leaves incomplete
 * (tailTiles), and in each of those, assembled from its pieces, every slot of an incomplete node zero.
 */
export async function finishTiles(db: Db, size: bigint): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (let level = 0; level < TILE_HEIGHT; level++) {
    const from = size >> BigInt(TILE_HEIGHT * (level + 1)); // complete tiles of this level
    const [k] = await db.keys({ gte: tileKey(level, from), lt: Uint8Array.of(PREFIX2.tile, level + 1), limit: 1 }).all();
    if (k === undefined) continue;
    const index = k.length === 10 ? new DataView(k.buffer, k.byteOffset + 2, 8).getBigUint64(0) : from;
    problems.push({
      kind: 'node-extra',
      level: TILE_HEIGHT * level,
      node: index * BigInt(TILE_WIDTH),
      message: `tile ${level}/${index} is stored whole, but a tree of ${size} entries has ${from} complete tiles at tile level ${level} (an incomplete tile is stored as pieces)`,
      expected: `no tile ${level}/N with N ≥ ${from}`,
      found: `tile ${level}/${index}`,
    });
  }
  const [high] = await db.keys({ gte: Uint8Array.of(PREFIX2.tile, TILE_HEIGHT), lt: Uint8Array.of(PREFIX2.tile + 1), limit: 1 }).all();
  if (high !== undefined) problems.push({ kind: 'node-extra', message: `a tile of level ${high[1]} is stored: tiles have levels 0..7`, found: toHex(high) });
  const tail = tailTiles(size);
  const open = new Set(tail.map((t) => `${t.level}/${t.index}`));
  const it = db.keys({ gte: Uint8Array.of(PREFIX2.tilePiece), lt: Uint8Array.of(PREFIX2.tilePiece + 1) });
  try {
    for (let k = await it.next(); k !== undefined && problems.length < FINISH_LIMIT; k = await it.next()) {
      const level = k[1] as number;
      const index = k.length === 18 ? new DataView(k.buffer, k.byteOffset + 2, 8).getBigUint64(0) : -1n;
      if (open.has(`${level}/${index}`)) continue;
      problems.push({
        kind: 'node-extra',
        level: TILE_HEIGHT * level,
        ...(index >= 0n ? { node: index * BigInt(TILE_WIDTH) } : {}),
        message: `a piece of tile ${level}/${index} is stored, but a tree of ${size} entries ${index >= 0n && tileComplete(level, index, size) ? 'has that tile complete (stored whole)' : 'has no incomplete tile there'}`,
        expected: 'pieces of the incomplete tiles only',
        found: toHex(k),
      });
    }
  } finally {
    await it.close();
  }
  for (const t of tail) {
    const read = await readIncomplete(db, t.level, t.index);
    if (!('bytes' in read)) continue; // reported where its nodes are compared
    for (let slot = 0; slot < TILE_SLOTS && problems.length < FINISH_LIMIT; slot++) {
      const node = nodeOfSlot(t.level, t.index, slot);
      if (nodeComplete(node, size) || isZero(read.bytes, slot * HASH_SIZE)) continue;
      problems.push({
        kind: 'node-extra',
        level: node.level,
        node: node.index,
        message: `tree node ${node.level}/${node.index} is stored (slot ${slot} of tile ${t.level}/${t.index}), but it is not complete in a tree of ${size} entries`,
        expected: 'a zero slot',
        found: toHex(read.bytes.subarray(slot * HASH_SIZE, (slot + 1) * HASH_SIZE)),
      });
    }
  }
  return problems;
}
