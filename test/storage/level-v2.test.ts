/**
 * LevelStore in layout 2 (src/storage/layout2.ts, contracts-free-ledger/SPEC.md#layout-2): reads
 * across bundle and tile edges, the tail reloaded at open, lookups confirmed against the stored
 * leaf and digest (8-byte prefixes that collide), and a layout-1 directory refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { CompactRange } from '../../src/core/merkle/compact.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import type { NodeHash, NodeId } from '../../src/core/merkle/node.js';
import { encodeU64, entryKey, SIZE_KEY } from '../../src/storage/keys.js';
import { LevelStore, StoreLayoutError } from '../../src/storage/level.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'guzheng-v2-'));
  dirs.push(d);
  return d;
}

/** A log written flush by flush, remembering everything a reader may ask back. */
class Writer {
  range = CompactRange.empty();
  readonly entries: Uint8Array[] = [];
  readonly leaves: Uint8Array[] = [];
  readonly nodes: NodeHash[] = [];
  readonly digests: Array<{ alg: string; hex: string; index: bigint }> = [];

  async flush(store: LevelStore, n: number, leafOf: (i: number) => Uint8Array | undefined = () => undefined, digestOf: (i: number) => string = (i) => toHex(hashLeaf(utf8(`d${i % 1000}`)))): Promise<void> {
    const first = this.range.size;
    const entries: Uint8Array[] = [];
    const leafHashes: Uint8Array[] = [];
    const nodes: NodeHash[] = [];
    const digests: Array<{ alg: string; hex: string; index: bigint }> = [];
    for (let k = 0; k < n; k++) {
      const i = Number(first) + k;
      const data = utf8(`{"n":${i}}`);
      const leaf = leafOf(i) ?? hashLeaf(data);
      entries.push(data);
      leafHashes.push(leaf);
      this.range.appendTo(leaf, nodes);
      digests.push({ alg: i % 7 === 0 ? 'sm3' : 'sha256', hex: digestOf(i), index: BigInt(i) });
    }
    await store.appendBatch({ first, entries, leafHashes, nodes, digests, attachments: [] });
    this.entries.push(...entries);
    this.leaves.push(...leafHashes);
    this.nodes.push(...nodes);
    this.digests.push(...digests);
  }
}

describe('LevelStore, layout 2', () => {
  it('reads every entry and node back across bundle and tile edges, before and after a reopen mid-bundle', async () => {
    const dir = tempDir();
    const w = new Writer();
    let store = await LevelStore.open(dir);
    // Level-1 tiles complete at 65,536 leaves: cross that edge, with flushes of every shape.
    for (const n of [1, 255, 1, 256, 300, 40_000, 3, 25_000, 200]) await w.flush(store, n);
    await store.close();
    store = await LevelStore.open(dir);
    for (const n of [17, 1000]) await w.flush(store, n);
    const size = w.entries.length;
    expect(await store.getSize()).toBe(BigInt(size));
    const got = await store.getEntries(0n, size);
    expect(got.length).toBe(size);
    expect(got.every((e, i) => toHex(e) === toHex(w.entries[i] as Uint8Array))).toBe(true);
    // Single reads at edges: the first, bundle edges, the tail.
    for (const i of [0, 255, 256, 511, 65_535, 65_536, size - 1]) expect(toHex((await store.getEntries(BigInt(i), 1))[0] as Uint8Array)).toBe(toHex(w.entries[i] as Uint8Array));
    expect(await store.getEntries(BigInt(size), 1)).toEqual([]);
    const nodes = await store.readNodes(w.nodes);
    expect(nodes.every((h, i) => toHex(h) === toHex((w.nodes[i] as NodeHash).hash))).toBe(true);
    // A node not complete yet is corruption to ask for.
    const incomplete: NodeId = { level: 1, index: BigInt(size) / 2n + 1n };
    await expect(store.readNodes([incomplete])).rejects.toThrow(/missing/);
    await store.close();
  }, 120_000);

  it('confirms lookups: an 8-byte prefix shared by two leaf hashes, one digest under two algorithms', async () => {
    const dir = tempDir();
    const w = new Writer();
    const store = await LevelStore.open(dir);
    const a = new Uint8Array(32).fill(0xaa);
    const b = new Uint8Array(32).fill(0xaa);
    b[31] = 0xbb;
    const shared = 'ab'.repeat(32);
    await w.flush(store, 10, (i) => (i === 3 ? a : i === 8 ? b : undefined), (i) => (i === 2 || i === 7 ? shared : toHex(hashLeaf(utf8(`u${i}`)))));
    await w.flush(store, 600, undefined, (i) => (i === 300 ? shared : toHex(hashLeaf(utf8(`u${i}`)))));
    expect(await store.lookupLeafHash(a)).toEqual([3n]);
    expect(await store.lookupLeafHash(b)).toEqual([8n]);
    const c = new Uint8Array(32).fill(0xaa);
    c[20] = 1;
    expect(await store.lookupLeafHash(c)).toEqual([]);
    // Entry 7 is sm3 (i % 7 === 0), 2 and 300 sha256.
    expect(await store.lookupDigest('sha256', shared)).toEqual([2n, 300n]);
    expect(await store.lookupDigest('sm3', shared)).toEqual([7n]);
    for (const i of [0, 255, 256, 609]) expect(await store.lookupLeafHash(w.leaves[i] as Uint8Array)).toEqual([BigInt(i)]);
    await store.close();
  });

  it('finds every entry through the index runs after many flushes and merges, and after a reopen', async () => {
    const dir = tempDir();
    const w = new Writer();
    let store = await LevelStore.open(dir);
    // The index lags the appends; writing it every 3 flushes makes 50 runs per index, merged 8 at a time.
    for (let f = 0; f < 150; f++) {
      await w.flush(store, 1 + (f % 13), undefined, (i) => toHex(hashLeaf(utf8(`x${i}`))));
      if (f % 3 === 2) await store.indexesIdle();
    }
    await store.indexesIdle();
    expect(store.indexState.merges).toBeGreaterThanOrEqual(12);
    expect(store.indexState.lag).toBe(0);
    expect(store.indexState.error).toBeUndefined();
    await store.close();
    store = await LevelStore.open(dir);
    expect(store.indexState.lag).toBe(0);
    for (let i = 0; i < w.entries.length; i++) {
      expect(await store.lookupLeafHash(w.leaves[i] as Uint8Array)).toEqual([BigInt(i)]);
      const d = w.digests[i] as { alg: string; hex: string };
      expect(await store.lookupDigest(d.alg, d.hex)).toEqual([BigInt(i)]);
    }
    await store.close();
  }, 60_000);

  it('after a crash lost the last index writes (unsynced), rebuilds them from the tiles and digest bundles at open', async () => {
    const dir = tempDir();
    const w = new Writer();
    let store = await LevelStore.open(dir);
    for (let f = 0; f < 40; f++) {
      await w.flush(store, 1 + (f % 7), undefined, (i) => toHex(hashLeaf(utf8(`y${i}`))));
      if (f % 4 === 3) await store.indexesIdle();
    }
    await store.close();
    // A crash loses a suffix of the unsynced writes: here the newest level-0 run of both indexes.
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    const lost: Uint8Array[] = [];
    let lostEntries = 0;
    for (const id of [0x6c, 0x64]) {
      const manifests = await db.iterator({ gte: Uint8Array.of(0x69, id, 0x6d, 0), lt: Uint8Array.of(0x69, id, 0x6d, 1) }).all();
      const [key, value] = manifests.at(-1) as [Uint8Array, Uint8Array];
      const first = new DataView(key.buffer, key.byteOffset).getBigUint64(4);
      lostEntries = Number(new DataView(value.buffer, value.byteOffset).getBigUint64(0) - first);
      lost.push(key);
      const pagePrefix = Uint8Array.of(0x69, id, 0x70, 0, ...key.subarray(4, 12));
      for (const k of await db.keys({ gte: pagePrefix, lt: Uint8Array.of(...pagePrefix, 0xff, 0xff, 0xff, 0xff, 0xff) }).all()) lost.push(k);
    }
    await db.batch(lost.map((key) => ({ type: 'del' as const, key })));
    await db.close();
    store = await LevelStore.open(dir);
    expect(lostEntries).toBeGreaterThan(0);
    expect(store.indexState.lag).toBe(lostEntries);
    for (let i = 0; i < w.entries.length; i++) {
      expect(await store.lookupLeafHash(w.leaves[i] as Uint8Array)).toEqual([BigInt(i)]);
      const d = w.digests[i] as { alg: string; hex: string };
      expect(await store.lookupDigest(d.alg, d.hex)).toEqual([BigInt(i)]);
    }
    await store.indexesIdle();
    expect(store.indexState.lag).toBe(0);
    await store.close();
  });

  it('refuses a layout-1 directory, naming guzheng migrate; leaves it untouched', async () => {
    const dir = tempDir();
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    await db.batch([
      { type: 'put', key: entryKey(0n), value: utf8('{}') },
      { type: 'put', key: SIZE_KEY, value: encodeU64(1n) },
    ]);
    await db.close();
    const err = await LevelStore.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreLayoutError);
    expect((err as StoreLayoutError).code).toBe('STORE_LAYOUT');
    expect((err as Error).message).toMatch(/layout 1.*guzheng migrate/);
    // Refusing did not write the marker: a second open refuses the same way.
    await expect(LevelStore.open(dir)).rejects.toBeInstanceOf(StoreLayoutError);
  });
});
