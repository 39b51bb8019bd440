/**
 * The per-entry path of Ledger.append and the sequencer (receive times formatted once per
 * millisecond, submissions taken in one splice, one index per entry shared by everything written
 * for it): what each submitter gets back and what is stored must be unchanged by those shortcuts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { digestBytes } from '../../src/core/entry/index.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import { generateSignerKey } from '../../src/core/note.js';
import { Ledger, SECONDARY, type EntryInput } from '../../src/log/ledger.js';
import { LevelStore } from '../../src/storage/level.js';
import { MemoryStore } from '../../src/storage/memory.js';
import type { AppendBatch } from '../../src/storage/store.js';

const KEYS = generateSignerKey('guzheng.test/append', new Uint8Array(32).fill(9));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The three kinds of the benchmark's mix: a document with a case, a JSON record, a digest. */
function input(i: number): EntryInput {
  switch (i % 3) {
    case 0:
      return { type: 'document', digest: digestBytes(utf8(`doc ${i}`)), meta: { name: `d-${i}.pdf`, mediaType: 'application/pdf', size: i, caseId: `case-${i % 4}` } };
    case 1:
      return { type: 'record', record: { n: i, v: [i, 'x'] }, meta: { source: 'test' } };
    default:
      return { type: 'digest', digest: digestBytes(utf8(`img ${i}`)), meta: { name: `i-${i}.jpg`, mediaType: 'image/jpeg' } };
  }
}

class RecordingStore extends MemoryStore {
  readonly batches: AppendBatch[] = [];
  override async appendBatch(batch: AppendBatch): Promise<void> {
    this.batches.push(batch);
    return super.appendBatch(batch);
  }
}

describe('Ledger.append (per-entry path)', () => {
  it('stamps the clock time of each append: the same text within a millisecond, a new one after it', async () => {
    const times = [0, 0, 1, 1, 1, 2500, 2500, 0].map((ms) => new Date(Date.UTC(2026, 2, 1, 8, 0, 0, 0) + ms));
    let t = 0;
    const ledger = await Ledger.open({ store: new MemoryStore(), signerKey: KEYS.signerKey, clock: () => times[Math.min(t++, times.length - 1)]! });
    t = 0; // open read the clock too
    const got: string[] = [];
    for (let i = 0; i < 8; i++) got.push((await ledger.append([input(i)], 'officer'))[0]!.entry.receivedAt);
    expect(got).toEqual(['2026-03-01T08:00:00.000Z', '2026-03-01T08:00:00.000Z', '2026-03-01T08:00:00.001Z', '2026-03-01T08:00:00.001Z', '2026-03-01T08:00:00.001Z', '2026-03-01T08:00:02.500Z', '2026-03-01T08:00:02.500Z', '2026-03-01T08:00:00.000Z']);
    await ledger.close();
  });

  it('refuses an invalid clock time every time (never cached), then stamps a valid one', async () => {
    let now: Date = new Date(Date.UTC(2025, 0, 1));
    const ledger = await Ledger.open({ store: new MemoryStore(), signerKey: KEYS.signerKey, clock: () => now });
    expect((await ledger.append([input(0)], 'officer'))[0]!.entry.receivedAt).toBe('2025-01-01T00:00:00.000Z');
    now = new Date(Number.NaN);
    for (let i = 0; i < 2; i++) await expect(ledger.append([input(0)], 'officer')).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    now = new Date(Date.UTC(2026, 0, 1));
    expect((await ledger.append([input(0)], 'officer'))[0]!.entry.receivedAt).toBe('2026-01-01T00:00:00.000Z');
    await ledger.close();
  });

  it('with the system clock, stamps a time between before and after', async () => {
    const ledger = await Ledger.open({ store: new MemoryStore(), signerKey: KEYS.signerKey });
    const before = Date.now();
    const [r] = await ledger.append([input(1)], 'officer');
    const at = Date.parse(r!.entry.receivedAt);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
    await ledger.close();
  });

  it('gives 1,000 concurrent submitters (and multi-entry submissions) distinct consecutive indexes, hex leaf hashes and stored entries', async () => {
    const store = new RecordingStore();
    const ledger = await Ledger.open({ store, signerKey: KEYS.signerKey, sequencer: { maxBatchEntries: 64 } });
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, c) => ledger.append(c % 10 === 9 ? [input(c), input(c + 1), input(c + 2)] : [input(c)], `officer-${c % 16}`)),
    );
    const all = results.flat();
    expect(all.length).toBe(900 + 100 * 3);
    expect(all.map((r) => r.index).sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: all.length }, (_, i) => BigInt(i)));
    // A multi-entry submission is never split: consecutive indexes.
    for (const r of results) for (let i = 1; i < r.length; i++) expect(r[i]!.index).toBe(r[0]!.index + BigInt(i));
    // No flush over the cap, except a submission alone.
    for (const b of store.batches) expect(b.entries.length).toBeLessThanOrEqual(64);
    for (const r of all) {
      const stored = await ledger.getEntry(r.index);
      expect(stored!.entry).toEqual(r.entry);
      expect(r.leafHash).toBe(toHex(hashLeaf(stored!.data)));
      expect(stored!.leafHash).toBe(r.leafHash);
      expect(r.digest).toEqual(r.entry.digest);
      if (r.entry.type === 'record') expect(stored!.attachment).toBeDefined();
      else expect(stored!.attachment).toBeUndefined();
    }
    // Each batch indexes what its entries carry, each under the entry's own index.
    for (const b of store.batches) {
      expect(b.digests.map((d) => d.index)).toEqual(b.entries.map((_, i) => b.first + BigInt(i)));
      for (const x of b.secondary ?? []) expect(x.name).toBe(SECONDARY.case);
    }
    expect(await ledger.lookupSecondary(SECONDARY.case, 'case-1', 0n, 1000)).toHaveLength(all.filter((r) => (r.entry.meta as { caseId?: string }).caseId === 'case-1').length);
    await ledger.close();
  });

  it('writes the same through LevelStore, and reads it back after reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guzheng-append-'));
    dirs.push(dir);
    let ledger = await Ledger.open({ store: await LevelStore.open(dir), signerKey: KEYS.signerKey });
    const results = (await Promise.all(Array.from({ length: 300 }, (_, c) => ledger.append([input(c)], 'officer')))).flat();
    await ledger.close();
    ledger = await Ledger.open({ store: await LevelStore.open(dir), signerKey: KEYS.signerKey });
    expect(ledger.sequencer.size).toBe(300n);
    for (const r of results) {
      const stored = await ledger.getEntry(r.index);
      expect(stored!.leafHash).toBe(r.leafHash);
      expect(stored!.entry).toEqual(r.entry);
      expect(await ledger.lookupDigest(r.digest.alg, r.digest.hex)).toContainEqual(expect.objectContaining({ index: r.index, leafHash: r.leafHash }));
    }
    await ledger.close();
  });
});
