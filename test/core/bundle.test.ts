import { describe, it, expect } from 'vitest';
import { BUNDLE_FORMAT, buildBundle, bundleReceipts, manifestLine, parseBundle, sameManifestLine, type Bundle } from '../../src/core/bundle.js';
import { formatBlock } from '../../src/core/block.js';
import { isLedgerError } from '../../src/core/errors.js';
import { TEST_KEYS, content } from '../../scripts/vectors/mini-log.js';
import { CASE, itemParts, setup } from '../support/bundles.js';

function code(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (isLedgerError(err)) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'ok';
}

describe('buildBundle', () => {
  it('sorts items, stores the note once and each sealing block once with its consistency proof', () => {
    const { log, bundle } = setup();
    expect(bundle.format).toBe(BUNDLE_FORMAT);
    expect(bundle.items.map((i) => i.index)).toEqual(['1', '3', '8']);
    expect(bundle.items.map((i) => i.block)).toEqual(['1', '1', '2']);
    expect(bundle.blocks.map((b) => b.block.height)).toEqual(['1', '2']);
    expect(bundle.blocks[0]!.consistency.length).toBeGreaterThan(0);
    expect(bundle.blocks[1]!.consistency).toEqual([]);
    const text = JSON.stringify(bundle);
    expect(text.split(log.blocks.at(-1)!.checkpoint.replace(/\n/g, '\\n')).length - 1).toBe(2); // the checkpoint + block 2's identical note
    expect(bundle.manifest[0]).toEqual({
      index: '1',
      type: 'document',
      name: 'doc-1.pdf',
      mediaType: 'application/pdf',
      size: content(1).length,
      digest: log.entries[1]!.digest,
      receivedAt: log.entries[1]!.receivedAt,
    });
  });

  it('round-trips through parseBundle, as a value and as text', () => {
    const { bundle } = setup();
    for (const input of [bundle, JSON.stringify(bundle), JSON.stringify(bundle, null, 2)]) {
      const p = parseBundle(input);
      expect(p.caseId).toBe(CASE);
      expect(p.items.map((i) => i.index)).toEqual([1n, 3n, 8n]);
      expect(p.items[0]!.sealing).toBe(p.items[1]!.sealing); // shared by identity
      expect(p.items[0]!.sealing.block.height).toBe(1n);
      expect(p.manifest.every((m, i) => sameManifestLine(m, manifestLine(p.items[i]!.index, p.items[i]!.entry as never)))).toBe(true);
    }
  });

  it('splits into standalone receipts', () => {
    const { log, bundle } = setup();
    const receipts = bundleReceipts(parseBundle(bundle));
    expect(receipts).toHaveLength(3);
    expect(receipts[2]).toEqual(log.receipt(8n));
    expect(receipts[0]).toEqual(log.receipt(1n));
  });

  it('refuses no items, a repeated index and two different blocks of one height', () => {
    const { log } = setup();
    const base = { caseId: CASE, createdAt: '2026-11-28T09:00:00.000Z', verifierKey: TEST_KEYS.verifierKey, checkpoint: log.blocks.at(-1)!.checkpoint };
    expect(code(() => buildBundle({ ...base, items: [] }))).toMatch(/^INPUT_INVALID/);
    expect(() => buildBundle({ ...base, items: [itemParts(log, 1n), itemParts(log, 1n)] })).toThrow(/given twice/);
    const forged = { ...itemParts(log, 2n), block: { ...log.blocks[1]!, time: '2026-11-28T09:59:59.999Z' } };
    expect(() => buildBundle({ ...base, items: [itemParts(log, 1n), forged] })).toThrow(/two different blocks/);
  });
});

describe('parseBundle is strict', () => {
  const mutate = (f: (b: Bundle & Record<string, unknown>) => void): Bundle => {
    const b = structuredClone(setup().bundle) as Bundle & Record<string, unknown>;
    f(b);
    return b;
  };
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['not JSON', () => '{"format"', /bundle: not JSON/],
    ['a receipt', () => setup().log.receipt(1n), /bundle\.format/],
    ['unknown top-level member', () => mutate((b) => (b.extra = 1)), /bundle: Unrecognized key/],
    ['unknown item member', () => mutate((b) => ((b.items[0] as Record<string, unknown>).note = 'x')), /bundle\.items\[0\]/],
    ['unknown block member', () => mutate((b) => ((b.blocks[0] as Record<string, unknown>).hash = 'x')), /bundle\.blocks\[0\]/],
    ['unknown manifest member', () => mutate((b) => ((b.manifest[0] as Record<string, unknown>).caseId = 'x')), /bundle\.manifest\[0\]/],
    ['non-canonical index', () => mutate((b) => (b.items[0]!.index = '01')), /bundle\.items\[0\]\.index/],
    ['uppercase hash', () => mutate((b) => (b.items[1]!.leafHash = b.items[1]!.leafHash.toUpperCase())), /bundle\.items\[1\]\.leafHash/],
    ['items out of order', () => mutate((b) => b.items.reverse()), /strictly increasing indexes/],
    ['a repeated item', () => mutate((b) => b.items.splice(1, 0, structuredClone(b.items[0]!))), /strictly increasing indexes/],
    ['blocks out of order', () => mutate((b) => b.blocks.reverse()), /strictly increasing heights/],
    ['an item without its block', () => mutate((b) => (b.items[0]!.block = '7')), /no block of height 7/],
    ['a block sealing no item', () => mutate((b) => b.blocks.splice(0, 0, { block: formatBlock(setup().log.blocks[0]!), consistency: [] })), /seals no item/],
    ['a malformed block', () => mutate((b) => (b.blocks[0]!.block.prev = 'zz')), /bundle\.blocks\[0\]\.block\.prev/],
    ['no items', () => mutate((b) => (b.items = [])), /bundle\.items/],
    ['an empty case id', () => mutate((b) => (b.caseId = '')), /bundle\.caseId/],
    ['a bad createdAt', () => mutate((b) => (b.createdAt = '2026-11-28 09:00')), /bundle\.createdAt/],
    ['entry too deep for RFC 8785', () => mutate((b) => {
      let deep: Record<string, unknown> = {};
      const root = deep;
      for (let i = 0; i < 200; i++) deep = (deep.a = {}) as Record<string, unknown>;
      b.items[0]!.entry = root;
    }), /bundle\.items\[0\]/],
  ];
  it.each(cases)('%s → RECEIPT_MALFORMED naming the member', (_what, make, want) => {
    const got = code(() => parseBundle(make()));
    expect(got).toMatch(/^RECEIPT_MALFORMED: /);
    expect(got).toMatch(want);
  });

  it('caps the text size', () => {
    expect(code(() => parseBundle(' '.repeat(64_000_001)))).toMatch(/^RECEIPT_MALFORMED: bundle: 64000001 characters/);
  });
});
