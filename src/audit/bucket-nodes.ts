/**
 * Tree nodes out of the hash tiles of a mirror's bucket: what a consistency proof needs when there
 * is no service to ask (RFC 9162 §2.1.4; transparency-dev/merkle `proof.Consistency` plans which
 * nodes, src/core/merkle/plan.ts here). A hash tile at tile level L holds the nodes of tree level
 * 8·L; a node of level 8·L + k (k < 8) is rebuilt from the 2^k nodes of that tile under it.
 *
 * Nothing here is trusted: a proof built from tiles is judged against the two signed checkpoints
 * (src/audit/fraud.ts `judgeConsistency`). One that does not reproduce the larger signed root shows
 * that the bucket's tiles are not the log's (an object altered or deleted), not that the log lied.
 */
import { HASH_SIZE, type TreeHasher } from '../core/merkle/hash.js';
import type { NodeId } from '../core/merkle/node.js';
import { buildProof, planConsistency } from '../core/merkle/plan.js';
import { formatTilePath, tileWidth, TILE_HEIGHT, TILE_WIDTH, type Tile } from '../core/tiles.js';
import type { BucketReader } from './bucket-store.js';

/** Why nodes could not be had: the object that is missing, unreadable or malformed. */
export class TileUnavailable extends Error {
  /** The tile's path under the prefix. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = 'TileUnavailable';
    this.path = path;
  }
}

/** Reads node hashes of the tree of one size from hash tiles, each tile fetched once. */
export class TileNodes {
  readonly #reader: BucketReader;
  readonly #size: bigint;
  readonly #tree: TreeHasher;
  readonly #tiles = new Map<string, Promise<Uint8Array>>();

  /** Requires: `size` is a size the bucket has tiles for (a mirrored checkpoint's). */
  constructor(reader: BucketReader, size: bigint, tree: TreeHasher) {
    this.#reader = reader;
    this.#size = size;
    this.#tree = tree;
  }

  /** The tile paths read so far (for naming them when a proof built from them fails). */
  get paths(): string[] {
    return [...this.#tiles.keys()];
  }

  #tile(tile: Tile & { kind: 'hash' }): Promise<Uint8Array> {
    const path = formatTilePath(tile);
    let p = this.#tiles.get(path);
    if (p === undefined) {
      p = this.#reader.read(path).then((r) => {
        const name = this.#reader.name(path);
        if (r.status === 'missing') throw new TileUnavailable(path, `bucket object ${name} is missing`);
        if (r.status === 'denied') throw new TileUnavailable(path, `bucket object ${name} is not readable (${r.detail})`);
        if (r.bytes.length !== tile.width * HASH_SIZE) throw new TileUnavailable(path, `bucket object ${name} is ${r.bytes.length} bytes, want ${tile.width * HASH_SIZE}`);
        return r.bytes;
      });
      p.catch(() => {});
      this.#tiles.set(path, p);
    }
    return p;
  }

  /**
   * node returns the hash of node (level, index), which must be complete in the tree of the size.
   * Throws {@link TileUnavailable} naming the object it needed.
   */
  async node(id: NodeId): Promise<Uint8Array> {
    const L = Math.floor(id.level / TILE_HEIGHT);
    const k = id.level - TILE_HEIGHT * L;
    const first = id.index << BigInt(k);
    const n = first / BigInt(TILE_WIDTH);
    const width = tileWidth(L, n, this.#size);
    const offset = Number(first - n * BigInt(TILE_WIDTH));
    if (offset + (1 << k) > width) throw new Error(`audit: bad math: node ${id.level}/${id.index} is not complete at size ${this.#size}`);
    const bytes = await this.#tile({ kind: 'hash', level: L, index: n, width });
    let layer: Uint8Array[] = [];
    for (let i = 0; i < 1 << k; i++) layer.push(bytes.subarray((offset + i) * HASH_SIZE, (offset + i + 1) * HASH_SIZE));
    while (layer.length > 1) {
      const up: Uint8Array[] = [];
      for (let i = 0; i < layer.length; i += 2) up.push(this.#tree.hashChildren(layer[i] as Uint8Array, layer[i + 1] as Uint8Array));
      layer = up;
    }
    return layer[0] as Uint8Array;
  }

  /**
   * consistencyProof builds the RFC 9162 consistency proof from `from` to `to` out of the tiles
   * (every node it needs is complete in the tree of `to`, so in this size's too). Requires:
   * 0 <= from <= to <= size. Throws {@link TileUnavailable}.
   */
  async consistencyProof(from: bigint, to: bigint = this.#size): Promise<Uint8Array[]> {
    if (to > this.#size) throw new Error(`audit: bad math: a proof to ${to} from the tiles of size ${this.#size}`);
    const plan = planConsistency(from, to);
    const hashes = await Promise.all(plan.ids.map((id) => this.node(id)));
    return buildProof(plan, hashes, this.#tree);
  }
}
