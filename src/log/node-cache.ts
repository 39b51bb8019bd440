/**
 * A read-through cache of upper tree nodes for proofs. A stored node is the hash of a PERFECT
 * subtree, so it never changes once written (src/storage/keys.ts): caching it can never serve a
 * stale value. Only nodes at level >= {@link CACHED_FROM_LEVEL} are kept: there are at most
 * n / 2^(level-1) of them (2.5 MB of hashes for 10M entries), and they are the ones every proof
 * shares, so after warm-up a proof reads only its bottom levels from LevelDB.
 */
import type { NodeId } from '../core/merkle/node.js';
import type { LedgerStore } from '../storage/store.js';

/** Lowest level kept. A proof reads this many levels (at most) from storage. */
export const CACHED_FROM_LEVEL = 8;

/** Most nodes kept; beyond it nothing more is cached (the upper levels fill it first in use). */
const MAX_NODES = 1 << 20;

export class NodeCache {
  readonly #levels: Array<Map<number, Uint8Array>> = [];
  #count = 0;

  /**
   * readNodes returns the hashes of `ids`, same order, reading what is not cached in one batched
   * store read. Requires: every node was written (as LedgerStore.readNodes).
   */
  async readNodes(store: LedgerStore, ids: readonly NodeId[]): Promise<Uint8Array[]> {
    const out = new Array<Uint8Array | undefined>(ids.length);
    const missing: NodeId[] = [];
    const at: number[] = [];
    ids.forEach((id, i) => {
      const hit = id.level >= CACHED_FROM_LEVEL && id.index <= 9_007_199_254_740_991n ? this.#levels[id.level]?.get(Number(id.index)) : undefined;
      if (hit !== undefined) out[i] = hit;
      else {
        missing.push(id);
        at.push(i);
      }
    });
    if (missing.length > 0) {
      const read = await store.readNodes(missing);
      if (read.length !== missing.length) throw new Error(`storage: bad math: read ${read.length} nodes for ${missing.length} ids`);
      read.forEach((h, j) => {
        const i = at[j] as number;
        out[i] = h;
        const id = ids[i] as NodeId;
        if (id.level >= CACHED_FROM_LEVEL && id.index <= 9_007_199_254_740_991n && this.#count < MAX_NODES) {
          const level = (this.#levels[id.level] ??= new Map());
          if (!level.has(Number(id.index))) {
            level.set(Number(id.index), h);
            this.#count++;
          }
        }
      });
    }
    return out as Uint8Array[];
  }
}
