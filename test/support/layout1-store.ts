/**
 * writeLayout1Store writes a realistic storage-layout-1 store (src/storage/keys.ts) straight into
 * LevelDB, as the service wrote it before layout 2: entries from the real entry encoder (documents,
 * digests, records with their attachment), tree nodes from a CompactRange, the leaf-hash and
 * digest indexes, secondary keys, signed blocks with `s:blocks`, evidence, meta, API keys and
 * record tables, in synced batches of uneven sizes like a sequencer's flushes. No `s:layout`.
 */
import { Level } from 'level';
import { formatBlock, sealBlock, type Block } from '../../src/core/block.js';
import { utf8 } from '../../src/core/bytes.js';
import { buildEntry, digestBytes, type NewEntryInput } from '../../src/core/entry/index.js';
import { CompactRange } from '../../src/core/merkle/compact.js';
import { SHA256_TREE } from '../../src/core/merkle/hash.js';
import type { NodeHash } from '../../src/core/merkle/node.js';
import { generateSignerKey } from '../../src/core/note.js';
import {
  BLOCK_COUNT_KEY,
  SIZE_KEY,
  apiKeyKey,
  attachmentKey,
  blockKey,
  digestKey,
  encodeU64,
  entryKey,
  evidenceKey,
  leafHashKey,
  metaKey,
  nodeKey,
  secondaryKey,
} from '../../src/storage/keys.js';
import { recordKey } from '../../src/storage/records.js';

export const LAYOUT1_ORIGIN = 'guzheng.test/layout1';
export const LAYOUT1_SIGNER = generateSignerKey(LAYOUT1_ORIGIN, new Uint8Array(32).fill(7));

/** The i-th entry's input and attachment: documents, records (with an attachment) and digests, in turn. */
function entryInput(i: number): { input: NewEntryInput; attachment?: Uint8Array; caseId?: string } {
  const receivedAt = new Date(Date.UTC(2026, 0, 1) + i * 1000);
  const caseId = `衡环罚〔2026〕${i % 7}号`;
  // Every 50th entry repeats an earlier content: one digest, several entries.
  const content = utf8(`content ${i % 50 === 49 ? i - 49 : i}`);
  switch (i % 3) {
    case 0:
      return { input: { type: 'document', digest: digestBytes(content), meta: { name: `doc-${i}.pdf`, mediaType: 'application/pdf', size: content.length, caseId }, submitter: 'officer-01', receivedAt }, caseId };
    case 1: {
      const attachment = utf8(JSON.stringify({ station: 'HS-AQ-0001', value: `${i}.5` }));
      return { input: { type: 'record', digest: digestBytes(attachment), meta: { source: 'HS-AQ-0001' }, submitter: 'station-7', receivedAt }, attachment };
    }
    default:
      return { input: { type: 'digest', digest: digestBytes(content), meta: { name: `IMG_${i}.jpg` }, submitter: 'officer-02', receivedAt } };
  }
}

/** What was written. */
export interface Layout1Store {
  readonly size: bigint;
  readonly blocks: bigint;
  readonly root: Uint8Array;
}

/**
 * writeLayout1Store writes `entries` entries in flushes of 1 … `maxFlush` entries (a block sealed
 * after every `blockEvery` flushes) into a new LevelDB at `dir`. Deterministic.
 */
export async function writeLayout1Store(dir: string, o: { entries: number; maxFlush?: number; blockEvery?: number }): Promise<Layout1Store> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const range = CompactRange.empty();
  let prev: Block | undefined;
  let blocks = 0n;
  let flushes = 0;
  const maxFlush = o.maxFlush ?? 700;
  try {
    for (let i = 0; i < o.entries; ) {
      const n = Math.min(o.entries - i, 1 + ((i * 7919 + 13) % maxFlush));
      const wb = db.batch();
      for (const end = i + n; i < end; i++) {
        const { input, attachment, caseId } = entryInput(i);
        const { bytes } = buildEntry(input);
        const index = BigInt(i);
        const leaf = SHA256_TREE.hashLeaf(bytes);
        const nodes: NodeHash[] = [];
        range.appendTo(leaf, nodes);
        wb.put(entryKey(index), bytes);
        for (const x of nodes) wb.put(nodeKey(x.level, x.index), x.hash);
        wb.put(leafHashKey(leaf, index), new Uint8Array(0));
        wb.put(digestKey(input.digest.alg, Buffer.from(input.digest.hex, 'hex'), index), new Uint8Array(0));
        if (attachment !== undefined) wb.put(attachmentKey(index), attachment);
        if (caseId !== undefined) wb.put(secondaryKey('case', caseId, index), new Uint8Array(0));
        if (i % 11 === 5) wb.put(secondaryKey('hj212-mn', '010000A8900016F000169DC0', index), new Uint8Array(0));
      }
      wb.put(SIZE_KEY, encodeU64(range.size));
      await wb.write({ sync: true });
      if (++flushes % (o.blockEvery ?? 5) === 0 || i === o.entries) {
        const time = new Date(Date.UTC(2026, 0, 1) + i * 1000 + 1).toISOString();
        const block = sealBlock(prev, { signer: LAYOUT1_SIGNER.signerKey, size: range.size, root: range.root(), time });
        await db.batch(
          [
            { type: 'put', key: blockKey(block.height), value: utf8(JSON.stringify(formatBlock(block))) },
            { type: 'put', key: BLOCK_COUNT_KEY, value: encodeU64(block.height + 1n) },
          ],
          { sync: true },
        );
        if (block.height % 3n === 0n) await db.put(evidenceKey('tsa', block.height), utf8(`token of block ${block.height}`), { sync: true });
        prev = block;
        blocks = block.height + 1n;
      }
    }
    await db.put(metaKey('origin'), utf8(LAYOUT1_ORIGIN), { sync: true });
    await db.put(metaKey('config-fingerprint'), utf8('c2sp;flush=700'), { sync: true });
    const secretHash = 'ab'.repeat(32);
    await db.put(apiKeyKey(secretHash), utf8(JSON.stringify({ id: 'key-1', secretHash, role: 'admin', createdAt: '2026-01-01T00:00:00.000Z', label: 'ops' })), { sync: true });
    await db.put(recordKey('users', 'alice'), utf8(JSON.stringify({ name: 'alice', role: 'officer' })), { sync: true });
    await db.put(recordKey('admin-trail', '0001'), utf8(JSON.stringify({ actor: 'cli', action: 'key.create' })), { sync: true });
  } finally {
    await db.close();
  }
  return { size: range.size, blocks, root: range.root() };
}
