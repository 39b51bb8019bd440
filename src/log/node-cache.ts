/**
 * A read-through cache of upper tree nodes for proofs. A stored node is the hash of a PERFECT
 * subtree, so it never changes once written (src/storage/keys.ts): caching it can never serve a
 * stale value. Only nodes at level >= {@link CACHED_FROM_LEVEL} are kept: there are at most
 * n / 2^(level-1) of them (2.5 MB of hashes for 10M entries), and they are the ones every proof
 * shares, so after warm-up a proof reads only its bottom levels from LevelDB.
 *
 * Reads of uncached nodes requested in the same turn of the event loop are merged into ONE store
 * read (duplicates read once). When a checkpoint is published, every client waiting for a receipt
 * asks for its inclusion proof at the same moment: hundreds of separate `getMany` calls queued on
 * libuv's four threads ahead of the next fsync and the publisher's own reads, and receipt latency
 * grew to seconds (benchmark scenario 4). Merged, they are one round trip.
 */
import { MAX_SAFE_BIGINT } from '../core/bytes.js';
import type { NodeId } from '../core/merkle/node.js';
import type { LedgerStore } from '../storage/store.js';

/** Lowest level kept. A proof reads this many levels (at most) from storage. */
export const CACHED_FROM_LEVEL = 8;

/** Most nodes kept; beyond it nothing more is cached (the upper levels fill it first in use). */
const MAX_NODES = 1 << 20;

/** Reads requested in one turn of the event loop, merged. */
interface PendingRead {
  readonly store: LedgerStore;
  readonly ids: NodeId[];
  readonly requests: Array<{ readonly from: number; readonly count: number; resolve(hashes: Uint8Array[]): void; reject(err: unknown): void }>;
}

export class NodeCache {
  readonly #levels: Array<Map<number, Uint8Array>> = [];
  #count = 0;
  #pending: PendingRead | undefined;

  /** #readStored reads `ids` from `store`, merged with the other reads of this turn of the event loop. */
  #readStored(store: LedgerStore, ids: readonly NodeId[]): Promise<Uint8Array[]> {
    return new Promise((resolve, reject) => {
      let p = this.#pending;
      if (p === undefined || p.store !== store) {
        const started: PendingRead = { store, ids: [], requests: [] };
        p = started;
        this.#pending = started;
        setImmediate(() => void this.#flush(started));
      }
      p.requests.push({ from: p.ids.length, count: ids.length, resolve, reject });
      for (const id of ids) p.ids.push(id);
    });
  }

  async #flush(p: PendingRead): Promise<void> {
    if (this.#pending === p) this.#pending = undefined;
    const slot = new Map<string, number>();
    const unique: NodeId[] = [];
    const at = p.ids.map((id) => {
      const key = `${id.level}/${id.index}`;
      let j = slot.get(key);
      if (j === undefined) {
        j = unique.length;
        slot.set(key, j);
        unique.push(id);
      }
      return j;
    });
    let read: Uint8Array[];
    try {
      read = await p.store.readNodes(unique);
      if (read.length !== unique.length) throw new Error(`storage: bad math: read ${read.length} nodes for ${unique.length} ids`);
    } catch (err) {
      if (p.requests.length === 1) {
        p.requests[0]?.reject(err);
        return;
      }
      // One bad request must not fail the others: each reads again on its own and gets its own answer.
      for (const r of p.requests) p.store.readNodes(p.ids.slice(r.from, r.from + r.count)).then(r.resolve, r.reject);
      return;
    }
    for (const r of p.requests) r.resolve(at.slice(r.from, r.from + r.count).map((j) => read[j] as Uint8Array));
  }

  /**
   * readNodes returns the hashes of `ids`, same order, reading what is not cached in one batched
   * store read. Requires: every node was written (as LedgerStore.readNodes).
   */
  async readNodes(store: LedgerStore, ids: readonly NodeId[]): Promise<Uint8Array[]> {
    const out = new Array<Uint8Array | undefined>(ids.length);
    const missing: NodeId[] = [];
    const at: number[] = [];
    ids.forEach((id, i) => {
      const hit = id.level >= CACHED_FROM_LEVEL && id.index <= MAX_SAFE_BIGINT ? this.#levels[id.level]?.get(Number(id.index)) : undefined;
      if (hit !== undefined) out[i] = hit;
      else {
        missing.push(id);
        at.push(i);
      }
    });
    if (missing.length > 0) {
      const read = await this.#readStored(store, missing);
      if (read.length !== missing.length) throw new Error(`storage: bad math: read ${read.length} nodes for ${missing.length} ids`);
      read.forEach((h, j) => {
        const i = at[j] as number;
        out[i] = h;
        const id = ids[i] as NodeId;
        if (id.level >= CACHED_FROM_LEVEL && id.index <= MAX_SAFE_BIGINT && this.#count < MAX_NODES) {
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
