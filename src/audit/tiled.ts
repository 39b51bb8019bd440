/**
 * Reading a log's entries and stored hashes out of C2SP tlog-tiles (https://c2sp.org/tlog-tiles)
 * for the replay engine: the part the two tiled sources share, the live service's read API
 * (remote.ts) and the mirror's bucket (bucket.ts). They differ only in how one tile is fetched.
 *
 * Entry bundles are decoded strictly (decodeEntryBundle: exactly the width the size implies); hash
 * tiles must be exactly 32 bytes per hash. A tile that cannot be had or is malformed is a
 * `tile-invalid` problem, never an exception: an entry bundle stops the replay there, a hash tile
 * leaves its nodes missing.
 */
import { HASH_SIZE } from '../core/merkle/hash.js';
import { decodeEntryBundle, formatTilePath, tileWidth, TILE_HEIGHT, TILE_WIDTH, type Tile } from '../core/tiles.js';
import type { Problem } from './report.js';
import type { EntryRead, StoredNodes } from './reads.js';

/** One tile as fetched: its bytes, or why there are none. */
export interface FetchedTile {
  readonly bytes?: Uint8Array;
  readonly problem?: Problem;
}

/** Runs `f` over `items` with at most `limit` in flight, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

/** firstLeaf: the first entry index a tile covers (for locating its problems). */
export function firstLeaf(tile: Tile): bigint {
  return (tile.index * BigInt(TILE_WIDTH)) << BigInt(tile.kind === 'hash' ? TILE_HEIGHT * tile.level : 0);
}

/**
 * checkTileBytes: a hash tile must hold exactly `width` hashes; else a `tile-invalid` problem
 * naming `name` (the tile's path or object).
 */
export function checkTileBytes(tile: Tile, bytes: Uint8Array, name: string): FetchedTile {
  if (tile.kind === 'hash' && bytes.length !== tile.width * HASH_SIZE) {
    return { problem: { kind: 'tile-invalid', index: firstLeaf(tile), message: `${name} is ${bytes.length} bytes`, expected: `${tile.width * HASH_SIZE} bytes`, found: `${bytes.length} bytes` } };
  }
  return { bytes };
}

/** Reads entries and hashes of the tree of `size` leaves through `fetchTile`. */
export class TileReads {
  size = 0n;
  readonly #fetch: (tile: Tile) => Promise<FetchedTile>;
  readonly #concurrency: number;
  readonly #name: (tile: Tile) => string;
  /** The last hash tile fetched per tile level (levels above 0 are read 16 nodes at a time). */
  readonly #tileCache = new Map<number, { index: bigint; width: number; bytes: Uint8Array | undefined; problem?: Problem }>();

  /**
   * Requires: `fetchTile` answers a problem (not an exception) for a tile it cannot give, and
   * throws only when the audit cannot go on (AuditAbort); `name` names a tile in messages.
   */
  constructor(fetchTile: (tile: Tile) => Promise<FetchedTile>, concurrency: number, name: (tile: Tile) => string = formatTilePath) {
    this.#fetch = fetchTile;
    this.#concurrency = concurrency;
    this.#name = name;
  }

  /** readEntries: entries [start, start + count) from their bundles, stopping at the first bundle that fails. */
  async readEntries(start: bigint, count: number): Promise<EntryRead> {
    const first = start / BigInt(TILE_WIDTH);
    const last = (start + BigInt(count) - 1n) / BigInt(TILE_WIDTH);
    const tiles: Array<Tile & { kind: 'entries' }> = [];
    for (let n = first; n <= last; n++) tiles.push({ kind: 'entries', index: n, width: tileWidth(0, n, this.size) });
    const got = await mapLimit(tiles, this.#concurrency, async (t) => {
      const r = await this.#fetch(t);
      if (r.bytes === undefined) return { problem: r.problem as Problem };
      try {
        return { entries: decodeEntryBundle(r.bytes, t.width) };
      } catch (err) {
        const p: Problem = { kind: 'tile-invalid', index: t.index * BigInt(TILE_WIDTH), message: `${this.#name(t)} is not a valid entry bundle of ${t.width} entries: ${(err as Error).message}` };
        return { problem: p };
      }
    });
    const parts: Uint8Array[] = [];
    let gap: Problem | undefined;
    for (const g of got) {
      if ('problem' in g) {
        gap = g.problem;
        break;
      }
      // Entries before `start` in the first bundle are not asked for.
      parts.push(...(parts.length === 0 && start % BigInt(TILE_WIDTH) !== 0n ? g.entries.slice(Number(start % BigInt(TILE_WIDTH))) : g.entries));
    }
    const n = Math.min(parts.length, count);
    let total = 0;
    for (let i = 0; i < n; i++) total += (parts[i] as Uint8Array).length;
    const data = new Uint8Array(total);
    const lengths = new Uint32Array(n);
    let off = 0;
    for (let i = 0; i < n; i++) {
      const e = parts[i] as Uint8Array;
      data.set(e, off);
      lengths[i] = e.length;
      off += e.length;
    }
    return { data, lengths, ...(gap ? { gap } : {}) };
  }

  /** readNodes: the hashes tiles hold at `level` (0, 8, 16, …), nodes [start, start + count); undefined at other levels. */
  async readNodes(level: number, start: bigint, count: number): Promise<StoredNodes | undefined> {
    if (level % TILE_HEIGHT !== 0) return undefined;
    const L = level / TILE_HEIGHT;
    const hashes = new Uint8Array(count * HASH_SIZE);
    const missing: number[] = [];
    const problems: Problem[] = [];
    const first = start / BigInt(TILE_WIDTH);
    const last = (start + BigInt(count) - 1n) / BigInt(TILE_WIDTH);
    const indexes: bigint[] = [];
    for (let n = first; n <= last; n++) indexes.push(n);
    const tiles = await mapLimit(indexes, this.#concurrency, async (n) => {
      const width = tileWidth(L, n, this.size);
      const cached = this.#tileCache.get(L);
      if (cached !== undefined && cached.index === n && cached.width === width) return cached;
      const r = await this.#fetch({ kind: 'hash', level: L, index: n, width });
      const entry = { index: n, width, bytes: r.bytes, ...(r.problem ? { problem: r.problem } : {}) };
      if (L > 0) this.#tileCache.set(L, entry);
      return entry;
    });
    for (const t of tiles) {
      const tileStart = t.index * BigInt(TILE_WIDTH);
      const from = tileStart > start ? tileStart : start;
      const to = tileStart + BigInt(t.width) < start + BigInt(count) ? tileStart + BigInt(t.width) : start + BigInt(count);
      if (t.bytes === undefined) {
        if (t.problem !== undefined && !problems.includes(t.problem)) problems.push(t.problem);
        for (let i = from; i < to; i++) missing.push(Number(i - start));
        continue;
      }
      hashes.set(t.bytes.subarray(Number(from - tileStart) * HASH_SIZE, Number(to - tileStart) * HASH_SIZE), Number(from - start) * HASH_SIZE);
    }
    return { hashes, missing, problems };
  }
}
