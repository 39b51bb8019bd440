/**
 * The log's cosignature book (src/log/cosignatures.ts): lines and refusals kept per block, merged
 * and never lost when witnesses answer at the same time.
 */
import { describe, expect, it, vi } from 'vitest';
import { generateSignerKey } from '../../src/core/note.js';
import { CosignatureBook, cosignedNote } from '../../src/log/cosignatures.js';
import { Ledger } from '../../src/log/ledger.js';
import { MemoryStore } from '../../src/storage/memory.js';

const KEYS = generateSignerKey('guzheng.test/log', new Uint8Array(32).fill(7));

/** storeWithBlocks returns an open store holding blocks 0 … n (evidence is kept only for blocks that exist). */
async function storeWithBlocks(n: number): Promise<MemoryStore> {
  const store = new MemoryStore();
  const ledger = await Ledger.open({ store, signerKey: KEYS.signerKey, checkpointIntervalMs: 3_600_000, receiptIntervalMs: 1 });
  for (let i = 0; i < n; i++) {
    const [a] = await ledger.append([{ type: 'record', record: { i }, meta: {} }], 'officer-01');
    await ledger.waitForReceipt(a!.index, 10_000);
  }
  // The ledger stops publishing; the store stays open for the book.
  await ledger.publisher.stop();
  return store;
}

const refusal = (witness: string) => ({ witness, status: 422, reason: 'refused', request: 'old 0\n\n', response: 'bad proof\n', at: '2026-12-05T00:00:00.000Z' });

describe('CosignatureBook', () => {
  it('keeps every line when witnesses answer for the same block concurrently', async () => {
    const store = await storeWithBlocks(5);
    const book = new CosignatureBook(store);
    const lines = Array.from({ length: 8 }, (_, i) => `— witness.test/w${i} AAAA${i}`);
    const results = await Promise.all(lines.map((l) => book.add(3n, [l])));
    // The last write returns every line, and a fresh book (as after a restart) reads them all back.
    expect(new Set(results.at(-1))).toEqual(new Set(lines));
    expect(new Set(await new CosignatureBook(store).linesAt(3n))).toEqual(new Set(lines));
    // Adding a line again changes nothing.
    expect(await book.add(3n, [lines[0]!])).toHaveLength(lines.length);
  });

  it('keeps every refusal when several arrive for the same block at once', async () => {
    const store = await storeWithBlocks(5);
    const book = new CosignatureBook(store);
    await Promise.all(['court', 'procuratorate', 'notary'].map((w) => book.refuse(5n, refusal(w))));
    const [kept] = await new CosignatureBook(store).refusalsFrom(5n, 10);
    expect(kept?.height).toBe(5n);
    expect(kept?.refusals.map((r) => r.witness).sort()).toEqual(['court', 'notary', 'procuratorate']);
  });

  it('a failed write does not stop the ones after it', async () => {
    const store = await storeWithBlocks(5);
    const book = new CosignatureBook(store);
    const put = store.putEvidence.bind(store);
    let fail = true;
    store.putEvidence = async (...args) => {
      if (fail) {
        fail = false;
        throw new Error('disk full');
      }
      return put(...args);
    };
    const [first, second] = await Promise.allSettled([book.add(1n, ['— a AAAA']), book.add(1n, ['— b BBBB'])]);
    expect(first.status).toBe('rejected');
    expect(second.status).toBe('fulfilled');
    expect(await new CosignatureBook(store).linesAt(1n)).toEqual(['— b BBBB']);
  });

  it('a fresh block: cosignatures count at once and are written in the background, in order; a failed write is reported', async () => {
    const store = await storeWithBlocks(5);
    const errors: string[] = [];
    const book = new CosignatureBook(store, (m) => errors.push(m));
    book.prime(4n);
    const put = store.putEvidence.bind(store);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    store.putEvidence = async (...args) => {
      await gate;
      return put(...args);
    };
    const results = await Promise.all(['— w1 AAAA', '— w2 BBBB', '— w3 CCCC'].map((l) => book.add(4n, [l])));
    // Merged in memory at once (what receipts are built from), before any write finished.
    expect(new Set(results.at(-1))).toEqual(new Set(['— w1 AAAA', '— w2 BBBB', '— w3 CCCC']));
    expect(new Set(await book.linesAt(4n))).toEqual(new Set(['— w1 AAAA', '— w2 BBBB', '— w3 CCCC']));
    release();
    await vi.waitFor(async () => expect(new Set(await new CosignatureBook(store).linesAt(4n))).toEqual(new Set(['— w1 AAAA', '— w2 BBBB', '— w3 CCCC'])));
    store.putEvidence = async () => {
      throw new Error('disk full');
    };
    book.prime(5n);
    await book.add(5n, ['— w1 DDDD']);
    await vi.waitFor(() => expect(errors).toEqual(['could not keep the cosignatures of block 5: disk full']));
  });

  it('cosignedNote appends each line once', () => {
    const note = 'origin\n1\nroot=\n\n— origin sig\n';
    expect(cosignedNote(note, ['— w x', '— w x'])).toBe(`${note}— w x\n`);
    expect(cosignedNote(`${note}— w x\n`, ['— w x'])).toBe(`${note}— w x\n`);
  });
});
