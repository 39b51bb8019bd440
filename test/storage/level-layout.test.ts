/**
 * LevelStore.appendBatch builds a flush's keys in shared buffers (KeyArena) and with number
 * indexes: the LevelDB rows it writes must be byte for byte the documented layout (keys.ts,
 * contracts-free-ledger/SPEC.md#storage), spelled here with the one-key-at-a-time functions.
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
import { SIZE_KEY, attachmentKey, digestKey, encodeU64, entryKey, leafHashKey, nodeKey, secondaryKey } from '../../src/storage/keys.js';
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
        entries.forEach((e, i) => put(entryKey(first + BigInt(i)), e));
        leafHashes.forEach((h, i) => put(leafHashKey(h, first + BigInt(i)), new Uint8Array(0)));
        for (const node of nodes) put(nodeKey(node.level, node.index), node.hash);
        for (const d of digests) put(digestKey(d.alg, Uint8Array.from(Buffer.from(d.hex, 'hex')), d.index), new Uint8Array(0));
        for (const a of attachments) put(attachmentKey(a.index), a.bytes);
        for (const x of secondary) put(secondaryKey(x.name, x.key, x.index), new Uint8Array(0));
      }
      put(SIZE_KEY, encodeU64(range.size));
      expect(await store.getSize()).toBe(range.size);
      await store.close();

      const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
      await db.open();
      const got = new Map<string, string>();
      for await (const [k, v] of db.iterator()) got.set(toHex(k), toHex(v));
      await db.close();
      expect(got.size).toBe(want.size);
      expect(got).toEqual(want);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
