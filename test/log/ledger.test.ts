import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSignerKey } from '../../src/core/note.js';
import { digestBytes } from '../../src/core/entry/index.js';
import { fromHex } from '../../src/core/bytes.js';
import { parseBlock, verifyBlockChain } from '../../src/core/block.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { verifyConsistency, verifyInclusion } from '../../src/core/merkle/verify.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import { Ledger, type EntryInput } from '../../src/log/ledger.js';
import { StartupError } from '../../src/log/recover.js';
import { OverloadedError } from '../../src/log/sequencer.js';
import { MemoryStore } from '../../src/storage/memory.js';
import { LevelStore } from '../../src/storage/level.js';
import type { AppendBatch, LedgerStore } from '../../src/storage/store.js';
import { verifyReceipt } from '../../src/verifier/index.js';

const KEYS = generateSignerKey('guzheng.test/log', new Uint8Array(32).fill(7));
const OTHER = generateSignerKey('guzheng.test/log', new Uint8Array(32).fill(8));

function doc(i: number): EntryInput {
  const bytes = new TextEncoder().encode(`document ${i}`);
  return { type: 'document', digest: digestBytes(bytes), meta: { name: `doc-${i}.pdf`, mediaType: 'application/pdf', size: bytes.length } };
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'guzheng-log-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A store that delegates to `inner` except for the given methods (to fake damage). */
function overrideStore(inner: LedgerStore, overrides: Partial<LedgerStore>): LedgerStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop in overrides) return overrides[prop as keyof LedgerStore];
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A store that counts batches and can be told to fail the next write. */
class SpyStore extends MemoryStore {
  batches: AppendBatch[] = [];
  failNext = false;
  override async appendBatch(batch: AppendBatch): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full (simulated)');
    }
    this.batches.push(batch);
    await new Promise((r) => setTimeout(r, 2)); // an fsync takes time: let submissions pile up
    return super.appendBatch(batch);
  }
}

describe('Ledger over a store', () => {
  it('publishes a genesis block on first open', async () => {
    const ledger = await Ledger.open({ store: new MemoryStore(), signerKey: KEYS.signerKey, checkpointIntervalMs: 5 });
    expect(ledger.latest().block.height).toBe(0n);
    expect(ledger.checkpointSize).toBe(0n);
    expect(ledger.verifierKey).toBe(KEYS.verifierKey);
    await ledger.close();
  });

  it('publishes at the receipt interval while someone waits for a receipt, at the checkpoint interval otherwise', async () => {
    // An hour between checkpoints: a receipt that waited for the interval would time out the test.
    const ledger = await Ledger.open({ store: new MemoryStore(), signerKey: KEYS.signerKey, checkpointIntervalMs: 3_600_000, receiptIntervalMs: 1 });
    const [first] = await ledger.append([doc(1)], 'officer-01');
    await new Promise((r) => setTimeout(r, 20));
    expect(ledger.checkpointSize).toBe(0n); // nobody waits: the hour-long interval holds
    const receipt = await ledger.waitForReceipt(first!.index, 10_000);
    expect(receipt.checkpoint).toContain('\n1\n');
    expect((await verifyReceipt(receipt, { trustedKeys: [KEYS.verifierKey] })).valid).toBe(true);
    await ledger.close();
  });

  it('lets receipts released by the final checkpoint finish before the store closes', async () => {
    const ledger = await Ledger.open({ store: await LevelStore.open(tempDir()), signerKey: KEYS.signerKey, checkpointIntervalMs: 3_600_000, receiptIntervalMs: 3_600_000 });
    const [first] = await ledger.append([doc(1)], 'officer-01');
    const pending = ledger.waitForReceipt(first!.index, 10_000); // nothing is published for an hour
    await ledger.close(); // the final checkpoint releases it, then the store closes
    const receipt = await pending;
    expect((await verifyReceipt(receipt, { trustedKeys: [KEYS.verifierKey] })).valid).toBe(true);
  });

  it('group-commits concurrent submissions: few fsynced batches, distinct indexes, valid receipts', async () => {
    const store = new SpyStore();
    const ledger = await Ledger.open({ store, signerKey: KEYS.signerKey, checkpointIntervalMs: 5 });
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => ledger.append([doc(i)], 'officer-01')));
    const indexes = results.map((r) => r[0]!.index);
    expect(new Set(indexes).size).toBe(300);
    expect([...indexes].sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: 300 }, (_, i) => BigInt(i)));
    expect(store.batches.length).toBeLessThan(300);
    expect(store.batches.length).toBeGreaterThan(0);
    const receipt = await ledger.waitForReceipt(299n, 5000);
    expect((await verifyReceipt(receipt, { trustedKeys: [KEYS.verifierKey] })).valid).toBe(true);
    for (const i of [0n, 150n]) {
      const r = await ledger.waitForReceipt(i, 5000);
      expect((await verifyReceipt(r, { trustedKeys: [KEYS.verifierKey], content: { bytes: new TextEncoder().encode(`document ${Number(results.findIndex((x) => x[0]!.index === i))}`) } })).valid).toBe(true);
    }
    await ledger.close();
  });

  it('acknowledges only after the write: a failed flush fails its submissions and changes nothing', async () => {
    const store = new SpyStore();
    const ledger = await Ledger.open({ store, signerKey: KEYS.signerKey, checkpointIntervalMs: 5 });
    await ledger.append([doc(0)], 'a');
    store.failNext = true;
    await expect(ledger.append([doc(1), doc(2)], 'a')).rejects.toThrow(/disk full/);
    expect(await store.getSize()).toBe(1n);
    const [r] = await ledger.append([doc(3)], 'a');
    expect(r!.index).toBe(1n);
    await ledger.close();
  });

  it('keeps a batch together and rejects invalid entries before queuing anything', async () => {
    const store = new SpyStore();
    const ledger = await Ledger.open({ store, signerKey: KEYS.signerKey, checkpointIntervalMs: 5 });
    const batch = Array.from({ length: 50 }, (_, i) => doc(i));
    const res = await ledger.append(batch, 'a');
    expect(res.map((r) => r.index)).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i)));
    expect(store.batches.some((b) => b.entries.length === 50)).toBe(true);
    await expect(ledger.append([doc(1), { ...doc(2), meta: { name: '', mediaType: 'x/y', size: 1 } } as EntryInput], 'a')).rejects.toThrow(/meta.name/);
    expect(await store.getSize()).toBe(50n);
    await ledger.close();
  });

  it('stores records and finds entries by digest and leaf hash', async () => {
    const ledger = await Ledger.open({ store: new MemoryStore(), signerKey: KEYS.signerKey, checkpointIntervalMs: 5 });
    const record = { b: 2, a: '衡水' };
    const [r] = await ledger.append([{ type: 'record', record, meta: { caseId: 'C-1' } }], 'officer-01');
    await ledger.append([doc(1), doc(1)], 'officer-01');
    const got = await ledger.getEntry(r!.index);
    expect(new TextDecoder().decode(got!.attachment)).toBe('{"a":"衡水","b":2}');
    expect(got!.entry.submitter).toBe('officer-01');
    const dup = await ledger.lookupDigest('sha256', digestBytes(new TextEncoder().encode('document 1')).hex);
    expect(dup.map((d) => d.index)).toEqual([1n, 2n]);
    await ledger.publisher.publishNow();
    const byLeaf = await ledger.inclusionProofByLeafHash(fromHex(r!.leafHash, 32));
    expect(byLeaf!.index).toBe(0n);
    await ledger.close();
  });

  it('serves proofs that verify against its signed checkpoints, and never a size past the checkpoint', async () => {
    const ledger = await Ledger.open({ store: new MemoryStore(), signerKey: KEYS.signerKey, checkpointIntervalMs: 5 });
    await ledger.append(Array.from({ length: 37 }, (_, i) => doc(i)), 'a');
    const first = await ledger.publisher.publishNow();
    await ledger.append(Array.from({ length: 20 }, (_, i) => doc(100 + i)), 'a');
    const second = await ledger.publisher.publishNow();
    const c1 = first!.checkpoint.checkpoint;
    const c2 = second!.checkpoint.checkpoint;
    const p = await ledger.inclusionProof(5n, 37n);
    verifyInclusion(5n, 37n, fromHex(p.leafHash, 32), p.path.map((h) => fromHex(h, 32)), c1.root);
    const c = await ledger.consistencyProof(37n, 57n);
    verifyConsistency(37n, 57n, c.path.map((h) => fromHex(h, 32)), c1.root, c2.root);
    await ledger.append([doc(999)], 'a');
    await expect(ledger.inclusionProof(57n, 58n)).rejects.toThrow(/beyond the latest checkpoint/);
    await ledger.close();
  });

  it('refuses submissions past the queue bound with OverloadedError', async () => {
    const store = new SpyStore();
    const ledger = await Ledger.open({ store, signerKey: KEYS.signerKey, checkpointIntervalMs: 5, sequencer: { maxQueuedEntries: 10 } });
    const first = ledger.append(Array.from({ length: 10 }, (_, i) => doc(i)), 'a');
    await expect(ledger.append([doc(11)], 'a')).rejects.toBeInstanceOf(OverloadedError);
    await first;
    await ledger.close();
  });
});

describe('restart and recovery (LevelDB)', () => {
  async function fill(dir: string, n: number, key = KEYS.signerKey): Promise<void> {
    const ledger = await Ledger.open({ store: await LevelStore.open(dir), signerKey: key, checkpointIntervalMs: 5 });
    await ledger.append(Array.from({ length: n }, (_, i) => doc(i)), 'a');
    await ledger.close();
  }

  it('reopens with everything provable and new checkpoints consistent with old ones', async () => {
    const dir = tempDir();
    await fill(dir, 25);
    const ledger = await Ledger.open({ store: await LevelStore.open(dir), signerKey: KEYS.signerKey, checkpointIntervalMs: 5 });
    const before = ledger.latest();
    expect(before.checkpoint.checkpoint.size).toBe(25n);
    await ledger.append([doc(25)], 'a');
    const after = (await ledger.publisher.publishNow())!;
    const c = await ledger.consistencyProof(25n, 26n);
    verifyConsistency(25n, 26n, c.path.map((h) => fromHex(h, 32)), before.checkpoint.checkpoint.root, after.checkpoint.checkpoint.root);
    const blocks = (await ledger.blocks(0n, 100)).map(parseBlock);
    expect(verifyBlockChain(blocks, KEYS.verifierKey).tip.height).toBe(after.block.height);
    await ledger.close();
  });

  it('refuses to start with another key than the one that signed the log', async () => {
    const dir = tempDir();
    await fill(dir, 3);
    const store = await LevelStore.open(dir);
    await expect(Ledger.open({ store, signerKey: OTHER.signerKey })).rejects.toThrow(StartupError);
    await expect(Ledger.open({ store, signerKey: OTHER.signerKey })).rejects.toThrow(/does not verify with this log's key/);
    await store.close();
  });

  it('refuses to start when storage lost entries the last checkpoint covers', async () => {
    // A store that pretends to have fewer entries than the last signed checkpoint.
    const inner = new MemoryStore();
    const ledger = await Ledger.open({ store: inner, signerKey: KEYS.signerKey, checkpointIntervalMs: 5 });
    await ledger.append([doc(0), doc(1), doc(2)], 'a');
    await ledger.publisher.publishNow();
    const truncated = overrideStore(inner, { getSize: async () => 2n });
    await expect(Ledger.open({ store: truncated, signerKey: KEYS.signerKey })).rejects.toThrow(/covers 3 entries but storage holds only 2/);
  });

  it('refuses to start when a stored node was altered', async () => {
    const inner = new MemoryStore();
    const ledger = await Ledger.open({ store: inner, signerKey: KEYS.signerKey, checkpointIntervalMs: 5 });
    await ledger.append([doc(0), doc(1), doc(2), doc(3)], 'a');
    await ledger.publisher.publishNow();
    const altered = overrideStore(inner, { readNodes: async (ids) => (await inner.readNodes(ids)).map((h) => hashLeaf(h)) });
    await expect(Ledger.open({ store: altered, signerKey: KEYS.signerKey })).rejects.toThrow(/storage was altered/);
  });

  it('checkpoints always open with the log key and sizes never shrink', async () => {
    const dir = tempDir();
    await fill(dir, 5);
    await fill(dir, 7);
    const store = await LevelStore.open(dir);
    const blocks = await store.getBlocks(0n, 100);
    const sizes = blocks.map((b) => openCheckpoint(b.checkpoint, KEYS.verifierKey).checkpoint.size);
    expect(sizes).toEqual([0n, 5n, 12n]);
    await store.close();
  });
});

describe('secondary indexes', () => {
  it('lists a case’s entries in order, across batches, and nothing for other cases', async () => {
    const ledger = await Ledger.open({ store: new MemoryStore(), signerKey: KEYS.signerKey, checkpointIntervalMs: 5 });
    const inCase = (i: number, caseId: string): EntryInput => {
      const d = doc(i) as Extract<EntryInput, { type: 'document' }>;
      return { ...d, meta: { ...d.meta, caseId } };
    };
    await ledger.append([inCase(0, '衡环罚〔2026〕12号'), doc(1), inCase(2, '衡环罚〔2026〕13号')], 'a');
    await ledger.append([{ type: 'record', record: { a: 1 }, meta: { caseId: '衡环罚〔2026〕12号' } }], 'a');
    expect(await ledger.lookupSecondary('case', '衡环罚〔2026〕12号', 0n, 100)).toEqual([0n, 3n]);
    expect(await ledger.lookupSecondary('case', '衡环罚〔2026〕13号', 0n, 100)).toEqual([2n]);
    expect(await ledger.lookupSecondary('case', 'none', 0n, 100)).toEqual([]);
    await ledger.close();
  });
});
