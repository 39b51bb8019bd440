import { describe, expect, it } from 'vitest';
import { CompactRange } from '../../src/core/merkle/compact.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import type { NodeHash, NodeId } from '../../src/core/merkle/node.js';
import { CACHED_FROM_LEVEL, NodeCache } from '../../src/log/node-cache.js';
import { MemoryStore } from '../../src/storage/memory.js';
import type { LedgerStore } from '../../src/storage/store.js';

/** A store holding a tree of `n` leaves, and a view of it that records every readNodes call. */
async function countingStore(n: number): Promise<{ store: MemoryStore; counting: LedgerStore; reads: NodeId[][] }> {
  const store = new MemoryStore();
  const range = CompactRange.empty();
  const entries: Uint8Array[] = [];
  const leafHashes: Uint8Array[] = [];
  const nodes: NodeHash[] = [];
  for (let i = 0; i < n; i++) {
    const e = new TextEncoder().encode(`entry ${i}`);
    entries.push(e);
    leafHashes.push(hashLeaf(e));
    nodes.push(...range.append(hashLeaf(e)));
  }
  await store.appendBatch({ first: 0n, entries, leafHashes, nodes, digests: [], attachments: [] });
  const reads: NodeId[][] = [];
  const counting = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'readNodes') return (ids: readonly NodeId[]) => (reads.push([...ids]), target.readNodes(ids));
      return Reflect.get(target, prop, receiver) as unknown;
    },
  }) as LedgerStore;
  return { store, counting, reads };
}

describe('NodeCache', () => {
  it('returns exactly what the store holds, reading upper nodes from storage once', async () => {
    const { store, counting, reads } = await countingStore(1 << (CACHED_FROM_LEVEL + 2));
    const cache = new NodeCache();
    const ids: NodeId[] = [
      { level: 0, index: 5n },
      { level: CACHED_FROM_LEVEL, index: 1n },
      { level: CACHED_FROM_LEVEL + 1, index: 0n },
      { level: 3, index: 7n },
    ];
    const want = await store.readNodes(ids);
    expect(await cache.readNodes(counting, ids)).toEqual(want);
    expect(await cache.readNodes(counting, ids)).toEqual(want);
    // The second read asked storage only for the levels below the cached ones.
    expect(reads).toEqual([ids, [ids[0], ids[3]]]);
    // A missing node is still an error, as from the store itself.
    await expect(cache.readNodes(counting, [{ level: CACHED_FROM_LEVEL + 5, index: 0n }])).rejects.toThrow(/missing/);
  });

  it('merges the reads of one event-loop turn into one store read, and one bad request fails alone', async () => {
    const { store, counting, reads } = await countingStore(64);
    const cache = new NodeCache();
    // 40 concurrent proofs-like reads (overlapping ids): one store read of the distinct ids.
    const asks = Array.from({ length: 40 }, (_, i): NodeId[] => [{ level: 0, index: BigInt(i) }, { level: 1, index: BigInt(i >> 1) }, { level: 3, index: 2n }]);
    const got = await Promise.all(asks.map((ids) => cache.readNodes(counting, ids)));
    for (let i = 0; i < asks.length; i++) expect(got[i]).toEqual(await store.readNodes(asks[i] as NodeId[]));
    expect(reads).toHaveLength(1);
    expect(new Set(reads[0]?.map((id) => `${id.level}/${id.index}`)).size).toBe(reads[0]?.length);
    expect(reads[0]).toHaveLength(40 + 20 + 1);
    // A request for a node never written fails; the others merged with it still get their nodes.
    reads.length = 0;
    const bad = cache.readNodes(counting, [{ level: 2, index: 999n }]);
    const good = cache.readNodes(counting, [{ level: 0, index: 63n }]);
    await expect(bad).rejects.toThrow(/missing/);
    expect(await good).toEqual(await store.readNodes([{ level: 0, index: 63n }]));
  });
});
