/**
 * Tree nodes of a layout-2 data directory for the local audit (local.ts): the stored node tiles
 * `T ‖ u8(L) ‖ u64be(N)` (src/storage/node-tiles.ts: 510 slots of 32 bytes, a zero slot = a node
 * not complete; contracts-free-ledger/SPEC.md#storage, docs/storage-v2.md) read as the
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
import { PREFIX2, TILE_BYTES, tailTiles, tileKey } from '../storage/layout2.js';
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
 * readChunkTiles reads the tiles of the aligned chunk [start, start + count) once (its level-0
 * tiles and, from 256 entries, the level-1 tile above) and returns its stored nodes per level,
 * 0 … floor(log2(count)). Requires: start a multiple of 4,096, 1 ≤ count ≤ 4,096.
 */
export async function readChunkTiles(db: Db, start: bigint, count: number): Promise<StoredNodes[]> {
  const first = start >> 8n;
  const n = Number((start + BigInt(count) - 1n) >> 8n) - Number(first) + 1;
  const keys: Uint8Array[] = Array.from({ length: n }, (_, j) => tileKey(0, first + BigInt(j)));
  if (count >= TILE_WIDTH) keys.push(tileKey(1, start >> 16n));
  const values = await db.getMany(keys);
  const tiles = new Map<string, TileRead>();
  for (let j = 0; j < n; j++) tiles.set(`0/${first + BigInt(j)}`, checkTile(0, first + BigInt(j), values[j]));
  if (count >= TILE_WIDTH) tiles.set(`1/${start >> 16n}`, checkTile(1, start >> 16n, values[n]));
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
  readonly #last = new Map<number, { index: bigint; read: TileRead }>();
  readonly #reported = new Set<string>();

  constructor(db: Db) {
    this.#db = db;
  }

  async #tile(level: number, index: bigint): Promise<TileRead> {
    const hit = this.#last.get(level);
    if (hit !== undefined && hit.index === index) return hit.read;
    const [v] = await this.#db.getMany([tileKey(level, index)]);
    const read = checkTile(level, index, v);
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
 * finishTiles checks what only the tree's size decides: no tile at or beyond the first one that
 * holds no complete node (per tile level), no tile of a level above 7, and in each tile the size
 * leaves incomplete (tailTiles), every slot of an incomplete node zero.
 */
export async function finishTiles(db: Db, size: bigint): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (let level = 0; level < TILE_HEIGHT; level++) {
    const nodes = size >> BigInt(TILE_HEIGHT * level);
    const from = (nodes + BigInt(TILE_WIDTH) - 1n) / BigInt(TILE_WIDTH);
    const [k] = await db.keys({ gte: tileKey(level, from), lt: Uint8Array.of(PREFIX2.tile, level + 1), limit: 1 }).all();
    if (k === undefined) continue;
    const index = k.length === 10 ? new DataView(k.buffer, k.byteOffset + 2, 8).getBigUint64(0) : from;
    problems.push({
      kind: 'node-extra',
      level: TILE_HEIGHT * level,
      node: index * BigInt(TILE_WIDTH),
      message: `tile ${level}/${index} is stored, but a tree of ${size} entries has only ${nodes} complete nodes at level ${TILE_HEIGHT * level} (tiles ${level}/0..${from - 1n})`,
      expected: `no tile ${level}/N with N ≥ ${from}`,
      found: `tile ${level}/${index}`,
    });
  }
  const [high] = await db.keys({ gte: Uint8Array.of(PREFIX2.tile, TILE_HEIGHT), lt: Uint8Array.of(PREFIX2.tile + 1), limit: 1 }).all();
  if (high !== undefined) problems.push({ kind: 'node-extra', message: `a tile of level ${high[1]} is stored: tiles have levels 0..7`, found: toHex(high) });
  const tail = tailTiles(size);
  const values = tail.length === 0 ? [] : await db.getMany(tail.map((t) => tileKey(t.level, t.index)));
  tail.forEach((t, i) => {
    const v = values[i];
    if (v === undefined || v.length !== TILE_BYTES) return; // reported where its nodes are compared
    for (let slot = 0; slot < TILE_SLOTS && problems.length < FINISH_LIMIT; slot++) {
      const node = nodeOfSlot(t.level, t.index, slot);
      if (nodeComplete(node, size) || isZero(v, slot * HASH_SIZE)) continue;
      problems.push({
        kind: 'node-extra',
        level: node.level,
        node: node.index,
        message: `tree node ${node.level}/${node.index} is stored (slot ${slot} of tile ${t.level}/${t.index}), but it is not complete in a tree of ${size} entries`,
        expected: 'a zero slot',
        found: toHex(v.subarray(slot * HASH_SIZE, (slot + 1) * HASH_SIZE)),
      });
    }
  });
  return problems;
}
