/**
 * LevelStore.appendBatch writes layout 2 (src/storage/layout2.ts, contracts-free-ledger/SPEC.md#layout-2):
 * the LevelDB rows it leaves must be byte for byte the documented layout, spelled here from the
 * whole log at once: complete entry bundles (C2SP tlog-tiles), digest bundles and 510-slot node
 * tiles; the partial bundle, its digests and the incomplete tiles as one piece per flush that
 * added to them; attachments, secondary keys, s:size, s:layout. The run-index rows (`i` …) are
 * checked through lookups of every entry instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/core/crypto.js';
import { CompactRange } from '../../src/core/merkle/compact.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import type { NodeHash } from '../../src/core/merkle/node.js';
import { encodeEntryBundle } from '../../src/core/tiles.js';
import { SIZE_KEY, attachmentKey, encodeU64, secondaryKey } from '../../src/storage/keys.js';
import { LAYOUT_KEY, bundleKey, bundlePieceKey, digestBundleKey, digestPieceKey, encodeDigestRecord, encodeTilePiece, tileComplete, tileKey, tilePieceKey } from '../../src/storage/layout2.js';
import { placeNodes, tileSlot } from '../../src/storage/node-tiles.js';
import { LevelStore } from '../../src/storage/level.js';
import type { AppendBatch } from '../../src/storage/store.js';

describe('LevelStore.appendBatch: the rows on disk', () => {
  it('are exactly the documented keys and values of every batch, and s:size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guzheng-layout-'));
    try {
      const store = await LevelStore.open(dir);
      const want = new Map<string, string>();
      const put = (k: Uint8Array, v: Uint8Array) => want.set(toHex(k), toHex(v));
      let range = CompactRange.empty();
      const all = { entries: [] as Uint8Array[], leafHashes: [] as Uint8Array[], nodes: [] as NodeHash[], digests: [] as Array<{ alg: string; hex: string; index: bigint }> };
      const flushes: Array<{ first: number; nodes: NodeHash[] }> = [];
      for (const n of [1, 2, 5, 1, 64, 300, 7]) {
        const first = range.size;
        const next = range.clone();
        const entries: Uint8Array[] = [];
        const leafHashes: Uint8Array[] = [];
        const nodes: NodeHash[] = [];
        const digests: Array<{ alg: string; hex: string; index: bigint }> = [];
        const attachments: Array<{ index: bigint; bytes: Uint8Array }> = [];
        const secondary: Array<{ name: string; key: string; index: bigint }> = [];
        for (let i = 0; i < n; i++) {
          const index = first + BigInt(i);
          const data = utf8(`{"entry":${index},"pad":"${'x'.repeat(Number(index % 97n))}"}`);
          const leaf = hashLeaf(data);
          entries.push(data);
          leafHashes.push(leaf);
          next.appendTo(leaf, nodes);
          // Digests in both orders and of two algorithms, repeated contents (one digest, many entries).
          digests.push({ alg: i % 5 === 0 ? 'sm3' : 'sha256', hex: toHex(sha256(utf8(`content ${index % 11n}`))), index });
          if (i % 3 === 1) attachments.push({ index, bytes: utf8(`{"record":${index}}`) });
          if (i % 2 === 0) secondary.push({ name: 'case', key: `衡环罚〔2026〕${index % 4n}号`, index });
          if (i % 7 === 3) secondary.push({ name: 'hj212-mn', key: '010000A8900016F000169DC0', index });
        }
        if (n > 2) digests.reverse();
        const batch: AppendBatch = { first, entries, leafHashes, nodes, digests, attachments, secondary };
        await store.appendBatch(batch);
        range = next;
        flushes.push({ first: Number(first), nodes });
        all.entries.push(...entries);
        all.leafHashes.push(...leafHashes);
        all.nodes.push(...nodes);
        all.digests.push(...digests);
        for (const a of attachments) put(attachmentKey(a.index), a.bytes);
        for (const x of secondary) put(secondaryKey(x.name, x.key, x.index), new Uint8Array(0));
      }
      const size = all.entries.length;
      const digestRecords = (lo: number, hi: number) =>
        all.digests
          .filter((d) => d.index >= BigInt(lo) && d.index < BigInt(hi))
          .sort((x, y) => Number(x.index - y.index))
          .map((d) => encodeDigestRecord({ slot: Number(d.index) % 256, alg: d.alg, digest: Uint8Array.from(Buffer.from(d.hex, 'hex')) }));
      for (let b = 0; (b + 1) * 256 <= size; b++) {
        put(bundleKey(b), encodeEntryBundle(all.entries.slice(b * 256, b * 256 + 256)));
        put(digestBundleKey(b), Buffer.concat(digestRecords(b * 256, b * 256 + 256)));
      }
      // The partial bundle: one piece per flush that added to it, from where it started adding.
      const lo = size - (size % 256);
      for (const f of flushes) {
        const end = flushes[flushes.indexOf(f) + 1]?.first ?? size;
        if (end <= lo) continue;
        const start = Math.max(f.first, lo);
        put(bundlePieceKey(start), encodeEntryBundle(all.entries.slice(start, end)));
        put(digestPieceKey(start), Buffer.concat(digestRecords(start, end)));
      }
      for (const [name, tile] of placeNodes(all.nodes, () => undefined)) {
        const [level, index] = name.split('/').map(Number) as [number, number];
        if (tileComplete(level, BigInt(index), BigInt(size))) put(tileKey(level, BigInt(index)), tile);
        else {
          // An incomplete tile: one piece per flush that added nodes to it.
          for (const f of flushes) {
            const mine = f.nodes.filter((n) => { const at = tileSlot(n); return at.tileLevel === level && at.tileIndex === BigInt(index); });
            if (mine.length > 0) put(tilePieceKey(level, index, f.first), encodeTilePiece(mine.map((n) => ({ slot: tileSlot(n).slot, hash: n.hash }))));
          }
        }
      }
      put(LAYOUT_KEY, Uint8Array.of(2));
      put(SIZE_KEY, encodeU64(range.size));
      expect(await store.getSize()).toBe(range.size);
      // Every entry is found by its leaf hash and its digest (the run index), and read back.
      for (let i = 0; i < all.entries.length; i++) {
        expect(await store.lookupLeafHash(all.leafHashes[i] as Uint8Array)).toContain(BigInt(i));
        const d = all.digests.find((x) => x.index === BigInt(i)) as { alg: string; hex: string };
        const found = await store.lookupDigest(d.alg, d.hex);
        expect(found).toEqual(all.digests.filter((x) => x.alg === d.alg && x.hex === d.hex).map((x) => x.index).sort((a, b) => Number(a - b)));
      }
      expect(await store.getEntries(0n, all.entries.length)).toEqual(all.entries);
      await store.close();

      const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
      await db.open();
      const got = new Map<string, string>();
      for await (const [k, v] of db.iterator()) if (k[0] !== 0x69) got.set(toHex(k), toHex(v));
      await db.close();
      expect(got.size).toBe(want.size);
      expect(got).toEqual(want);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
