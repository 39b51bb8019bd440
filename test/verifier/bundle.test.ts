import { describe, it, expect } from 'vitest';
import { buildBundle, type Bundle } from '../../src/core/bundle.js';
import { digestBytes } from '../../src/core/entry/index.js';
import { isLedgerError } from '../../src/core/errors.js';
import { receiptToTlogProof } from '../../src/core/tlog-proof.js';
import { parseReceipt } from '../../src/core/receipt.js';
import { canonicalJson } from '../../src/core/entry/jcs.js';
import { readProofDocument, verifyBundle, verifyDocument, type BundleReport } from '../../src/verifier/index.js';
import { MiniLog, OTHER_KEYS, TEST_KEYS, content } from '../../scripts/vectors/mini-log.js';
import { CASE, itemParts, setup } from '../support/bundles.js';

const pinned = { trustedKeys: [TEST_KEYS.verifierKey] };
const files = (...is: number[]) => is.map((i) => ({ label: `/case folder/doc-${i}.pdf`, content: { bytes: content(i) } }));

function status(r: BundleReport): Record<string, string> {
  return Object.fromEntries(r.checks.map((c) => [c.id, c.status]));
}

function failedItems(r: BundleReport): Record<string, string[]> {
  return Object.fromEntries(r.items.filter((i) => !i.valid).map((i) => [i.index, i.checks.filter((c) => c.status === 'fail').map((c) => `${c.id}:${c.code}`)]));
}

function tamper(bundle: Bundle, f: (b: Bundle) => void): Bundle {
  const b = structuredClone(bundle);
  f(b);
  return b;
}

function flipHex(h: string): string {
  return (h[0] === '0' ? '1' : '0') + h.slice(1);
}

/** The members of a block. */
type BlockMember = 'format' | 'height' | 'prev' | 'time' | 'first' | 'count' | 'checkpoint';

/**
 * singleCharMutants changes each character of the bundle's JSON text in turn (to another
 * character) and verifies every mutant that is still JSON and says something else than the
 * bundle: `accepted` lists those that verify. The informative `createdAt` and `verifierKey` are
 * not part of what a bundle says; `exempt(block, member)` names block members a verifier cannot
 * authenticate, whose changes may pass. `blockMutants` counts the mutants tried per block member.
 */
async function singleCharMutants(
  bundle: Bundle,
  options: typeof pinned,
  exempt: (block: Bundle['blocks'][number]['block'], member: BlockMember) => boolean,
): Promise<{ mutants: number; accepted: string[]; blockMutants: Partial<Record<BlockMember, number>> }> {
  const text = JSON.stringify(bundle);
  const members: BlockMember[] = ['format', 'height', 'prev', 'time', 'first', 'count', 'checkpoint'];
  const strip = (v: unknown) => {
    const b = structuredClone(v) as Record<string, unknown> & { blocks?: Array<{ block?: Record<string, unknown> }> };
    delete b.createdAt;
    delete b.verifierKey;
    for (const x of b.blocks ?? []) {
      const blk = x.block;
      if (blk === undefined) continue;
      // A member is dropped from the comparison only where the ORIGINAL block's member is exempt.
      const original = bundle.blocks.find((o) => o.block.height === blk.height && o.block.first === blk.first)?.block;
      for (const m of members) if (original !== undefined && exempt(original, m)) delete blk[m];
    }
    return JSON.stringify(b);
  };
  const want = strip(bundle);
  let mutants = 0;
  const accepted: string[] = [];
  const blockMutants: Partial<Record<BlockMember, number>> = {};
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const mutated = text.slice(0, i) + String.fromCharCode(c === 0x30 ? 0x31 : c === 0x61 ? 0x62 : c ^ 1) + text.slice(i + 1);
    let value: unknown;
    try {
      value = JSON.parse(mutated);
    } catch {
      continue; // not JSON: the format check fails, tested elsewhere
    }
    if (strip(value) === want) continue;
    mutants++;
    const blocks = (value as { blocks?: Array<{ block?: Record<string, unknown> }> }).blocks ?? [];
    bundle.blocks.forEach((o, k) => {
      for (const m of members) if (blocks[k]?.block?.[m] !== (o.block as Record<string, unknown>)[m] && typeof blocks[k]?.block?.[m] === 'string') blockMutants[m] = (blockMutants[m] ?? 0) + 1;
    });
    if ((await verifyBundle(value, options)).valid) accepted.push(`${i}: ${mutated.slice(Math.max(0, i - 20), i + 20)}`);
  }
  return { mutants, accepted, blockMutants };
}

/**
 * A log upgraded in place (SPEC.md#logs-created-before-signed-blocks): genesis and one block in
 * format 1 (sealed before blocks were signed), then two signed blocks; a bundle of items sealed in
 * each of the last three.
 */
function upgradedSetup() {
  const log = new MiniLog();
  log.publishLegacy();
  for (let i = 0; i < 4; i++) log.appendDocument(content(i), `doc-${i}.pdf`);
  log.publishLegacy();
  for (let i = 4; i < 8; i++) log.appendDocument(content(i), `doc-${i}.pdf`);
  log.publish();
  for (let i = 8; i < 12; i++) log.appendDocument(content(i), `doc-${i}.pdf`);
  log.publish();
  const bundle = buildBundle({ caseId: CASE, createdAt: '2026-11-28T09:00:00.000Z', verifierKey: TEST_KEYS.verifierKey, checkpoint: log.blocks.at(-1)!.checkpoint, items: [1n, 5n, 9n].map((i) => itemParts(log, i)) });
  return { log, bundle };
}

describe('verifyBundle', () => {
  it('passes every check for a good bundle with all its files, as one unit against one checkpoint', async () => {
    const { bundle } = setup();
    const r = await verifyBundle(bundle, { ...pinned, files: files(1, 3, 8) });
    expect(r.valid).toBe(true);
    expect(status(r)).toEqual({ format: 'pass', checkpoint: 'pass', manifest: 'pass', items: 'pass', files: 'pass' });
    expect(r.facts).toMatchObject({ caseId: CASE, treeSize: '12', itemCount: '3', validItems: '3', verifierKey: TEST_KEYS.verifierKey });
    expect(r.items.map((i) => i.index)).toEqual(['1', '3', '8']);
    for (const item of r.items) {
      expect(item.valid).toBe(true);
      // Every check passes but the time stamp: this log has none (timestamp: null).
      expect(item.checks.map((c) => c.status)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'skip', 'skip']);
      expect(item.facts.treeSize).toBe('12');
    }
    expect(r.items[2]!.facts).toMatchObject({ index: '8', blockHeight: '2' });
    expect(r.items[0]!.manifest).toMatchObject({ name: 'doc-1.pdf' });
  });

  it('is valid without files, saying the content was not compared', async () => {
    const { bundle } = setup();
    const r = await verifyBundle(JSON.stringify(bundle), pinned);
    expect(r.valid).toBe(true);
    expect(r.checks.find((c) => c.id === 'files')).toMatchObject({ status: 'skip' });
    expect(r.items.every((i) => i.checks.find((c) => c.id === 'content')?.status === 'skip')).toBe(true);
  });

  it('takes content by index and by digest', async () => {
    const { bundle } = setup();
    const r = await verifyBundle(bundle, { ...pinned, contents: new Map([[3n, { bytes: content(3) }]]), files: [{ label: 'x', content: { digest: digestBytes(content(8)) } }] });
    expect(r.valid).toBe(true);
    expect(r.items.map((i) => i.checks.find((c) => c.id === 'content')?.status)).toEqual(['skip', 'pass', 'pass']);
    const wrong = await verifyBundle(bundle, { ...pinned, contents: new Map([[4n, { bytes: content(4) }]]) });
    expect(wrong.valid).toBe(false);
    expect(wrong.checks.find((c) => c.id === 'files')?.message).toMatch(/index 4, which is not in the bundle/);
  });

  it('names the item whose file was changed, by file name', async () => {
    const { bundle } = setup();
    const changed = content(3).slice();
    changed[5]! ^= 1;
    const r = await verifyBundle(bundle, { ...pinned, files: [...files(1, 8), { label: 'C:\\case\\doc-3.pdf', content: { bytes: changed } }] });
    expect(r.valid).toBe(false);
    expect(status(r)).toEqual({ format: 'pass', checkpoint: 'pass', manifest: 'pass', items: 'fail', files: 'fail' });
    expect(failedItems(r)).toEqual({ '3': ['content:DIGEST_MISMATCH'] });
    expect(r.checks.find((c) => c.id === 'items')?.message).toMatch(/1 of 3 items fail: 3 \(content\)/);
    expect(r.checks.find((c) => c.id === 'files')?.message).toMatch(/doc-3\.pdf .* is not the anchored content of item 3/);
  });

  it('fails the files check for a file that is not in the bundle', async () => {
    const { bundle } = setup();
    const r = await verifyBundle(bundle, { ...pinned, files: [{ label: 'other.pdf', content: { bytes: content(5) } }] });
    expect(r.valid).toBe(false);
    expect(status(r)).toMatchObject({ items: 'pass', files: 'fail' });
    expect(r.checks.find((c) => c.id === 'files')?.message).toMatch(/other\.pdf .* is not anchored in this bundle/);
  });

  it('names the failed check for each kind of tampering', async () => {
    const { bundle, log } = setup();
    const other = new MiniLog(OTHER_KEYS.signerKey, OTHER_KEYS.verifierKey);
    other.publish();
    const cases: Array<[string, Bundle | string, Record<string, string>, Record<string, string[]>]> = [
      ['inclusion proof hash changed', tamper(bundle, (b) => (b.items[1]!.inclusionProof[0] = flipHex(b.items[1]!.inclusionProof[0]!))), { items: 'fail' }, { '3': ['inclusion:PROOF_INVALID'] }],
      ['entry edited', tamper(bundle, (b) => ((b.items[0]!.entry.meta as Record<string, unknown>).name = 'decision.pdf')), { manifest: 'fail', items: 'fail' }, { '1': ['leaf-hash:RECEIPT_MALFORMED', 'inclusion:PROOF_INVALID'] }],
      ['manifest edited', tamper(bundle, (b) => (b.manifest[2]!.name = 'other.pdf')), { manifest: 'fail', items: 'pass' }, {}],
      ['manifest line dropped', tamper(bundle, (b) => b.manifest.pop()), { manifest: 'fail', items: 'pass' }, {}],
      ['case id changed', tamper(bundle, (b) => (b.caseId = '衡环罚〔2026〕13号')), { manifest: 'fail', items: 'pass' }, {}],
      ['block consistency changed', tamper(bundle, (b) => (b.blocks[0]!.consistency[0] = flipHex(b.blocks[0]!.consistency[0]!))), { items: 'fail' }, { '1': ['block-consistency:PROOF_INVALID'], '3': ['block-consistency:PROOF_INVALID'] }],
      ['checkpoint altered', tamper(bundle, (b) => (b.checkpoint = b.checkpoint.replace('\n12\n', '\n13\n'))), { checkpoint: 'fail', items: 'fail' }, { '1': ['checkpoint:SIGNATURE_INVALID'], '3': ['checkpoint:SIGNATURE_INVALID'], '8': ['checkpoint:SIGNATURE_INVALID'] }],
      ['checkpoint of another key', tamper(bundle, (b) => (b.checkpoint = other.blocks[0]!.checkpoint)), { checkpoint: 'fail', items: 'fail' }, { '1': ['checkpoint:NOTE_UNVERIFIED'], '3': ['checkpoint:NOTE_UNVERIFIED'], '8': ['checkpoint:NOTE_UNVERIFIED'] }],
      // Every member of a signed block is in its signed header: an altered time is caught (it was not, before blocks were signed).
      ['block time altered', tamper(bundle, (b) => (b.blocks[1]!.block.time = '2026-11-28T09:59:59.999Z')), { items: 'fail' }, { '8': ['block:BLOCK_INVALID'] }],
      ['block prev altered', tamper(bundle, (b) => (b.blocks[1]!.block.prev = flipHex(b.blocks[1]!.block.prev))), { items: 'fail' }, { '8': ['block:BLOCK_INVALID'] }],
      ['block height altered', tamper(bundle, (b) => (b.blocks[1]!.block.height = '7')), { format: 'fail' }, {}],
      ['block first and count shifted', tamper(bundle, (b) => {
        const blk = b.blocks[1]!.block;
        blk.first = String(BigInt(blk.first) + 1n);
        blk.count = String(BigInt(blk.count) - 1n);
      }), { items: 'fail' }, { '8': ['block:BLOCK_INVALID'] }],
      ['sealing block from elsewhere', tamper(bundle, (b) => (b.blocks[1]!.block.first = '0')), { items: 'fail' }, { '8': ['block:BLOCK_INVALID'] }],
    ];
    for (const [what, b, want, items] of cases) {
      const r = await verifyBundle(b, pinned);
      expect(r.valid, what).toBe(false);
      expect(status(r), what).toMatchObject(want);
      expect(failedItems(r), what).toEqual(items);
    }
    void log;
  });

  it('rejects a bundle signed by another key than the pinned one: checkpoint fails everywhere', async () => {
    const { bundle } = setup();
    const r = await verifyBundle(bundle, { trustedKeys: [OTHER_KEYS.verifierKey] });
    expect(r.valid).toBe(false);
    // Same key name, other key id: no signature by a pinned key at all.
    expect(r.checks.find((c) => c.id === 'checkpoint')).toMatchObject({ status: 'fail', code: 'NOTE_UNVERIFIED' });
    expect(r.checks.find((c) => c.id === 'checkpoint')?.message).toMatch(/not signed by any pinned key \(the receipt names guzheng\.test\/log\+/);
    expect(r.items.every((i) => i.checks.find((c) => c.id === 'checkpoint')?.code === 'NOTE_UNVERIFIED')).toBe(true);
    expect(r.items.every((i) => i.checks.find((c) => c.id === 'inclusion')?.status === 'skip')).toBe(true);
  });

  it('stops at a malformed bundle with only the format check', async () => {
    const r = await verifyBundle('{"format":"guzheng-bundle/v1"}', pinned);
    expect(r).toMatchObject({ valid: false, items: [] });
    expect(r.checks).toEqual([{ id: 'format', status: 'fail', code: 'RECEIPT_MALFORMED', message: expect.stringMatching(/^bundle\.caseId/) }]);
  });

  it('throws only for bad options', async () => {
    const { bundle } = setup();
    await expect(verifyBundle(bundle, { trustedKeys: [] })).rejects.toThrow(/no trusted log key/);
    await expect(verifyBundle(bundle, { trustedKeys: ['not a key'] })).rejects.toThrow(expect.objectContaining({ code: 'KEY_MALFORMED' }));
  });

  it('rejects every single-character change that changes what the bundle says (except the informative createdAt and verifierKey): every byte of a signed block counts', async () => {
    // Blocks are signed (guzheng-block/v2): height, prev, time and first are in the checkpoint's
    // signed block header, count and checkpoint in the checkpoint itself. Nothing is exempt.
    const { bundle } = setup([1n, 9n]);
    expect(bundle.blocks.map((b) => b.block.format)).toEqual(['guzheng-block/v2', 'guzheng-block/v2']);
    const { mutants, accepted, blockMutants } = await singleCharMutants(bundle, pinned, () => false);
    expect(mutants).toBeGreaterThan(2000);
    // The mutants inside the blocks' members are among those tried, not skipped.
    expect(blockMutants.prev).toBeGreaterThan(20);
    expect(blockMutants.time).toBeGreaterThan(10);
    expect(accepted).toEqual([]);
  }, 120_000);

  it('a log upgraded in place: every byte of its signed blocks counts; a format-1 block\'s prev and time are only the chain\'s to vouch for', async () => {
    const { bundle } = upgradedSetup();
    expect(bundle.blocks.map((b) => b.block.format ?? 'format-1')).toEqual(['format-1', 'guzheng-block/v2', 'guzheng-block/v2']);
    expect((await verifyBundle(bundle, pinned)).valid).toBe(true);
    // SPEC.md#bundles (Trust): a format-1 block's prev and time are authenticated only by the chain,
    // not by a bundle or a receipt; a verifier cannot reject a change to them. Everything else, and
    // every member of a signed block, must be caught.
    const { mutants, accepted, blockMutants } = await singleCharMutants(bundle, pinned, (block, member) => block.format === undefined && (member === 'prev' || member === 'time'));
    expect(mutants).toBeGreaterThan(3000);
    expect(blockMutants.prev).toBeGreaterThan(30);
    expect(accepted).toEqual([]);
  }, 120_000);

  it('changing, adding or removing any member of a signed block makes the bundle invalid; a format-1 block\'s changed time is shown as not signed', async () => {
    const { bundle, log } = upgradedSetup();
    const later = (t: string) => new Date(Date.parse(t) + 1).toISOString();
    type BlockEdit = (b: Bundle, k: number) => void;
    const edits: Array<[string, BlockEdit]> = [
      ['time one millisecond later', (b, k) => (b.blocks[k]!.block.time = later(b.blocks[k]!.block.time))],
      ['prev changed', (b, k) => (b.blocks[k]!.block.prev = flipHex(b.blocks[k]!.block.prev))],
      ['height changed, with the items naming it', (b, k) => {
        const old = b.blocks[k]!.block.height;
        const next = String(BigInt(old) + 10n);
        b.blocks[k]!.block.height = next;
        for (const it of b.items) if (it.block === old) it.block = next;
      }],
      ['first and count shifted', (b, k) => {
        const blk = b.blocks[k]!.block;
        blk.first = String(BigInt(blk.first) - 1n);
        blk.count = String(BigInt(blk.count) + 1n);
      }],
      ['count changed', (b, k) => (b.blocks[k]!.block.count = String(BigInt(b.blocks[k]!.block.count) + 1n))],
      ['checkpoint of another block of the log', (b, k) => {
        const own = b.blocks[k]!.block.checkpoint;
        b.blocks[k]!.block.checkpoint = log.blocks.find((x) => x.checkpoint !== own && x.format === (b.blocks[k]!.block.format === undefined ? 1 : 2))!.checkpoint;
      }],
      ['an extra member', (b, k) => ((b.blocks[k]!.block as unknown as Record<string, unknown>).note = 'x')],
    ];
    const signed: Array<[string, BlockEdit]> = [...edits, ['format removed (passed off as a format-1 block)', (b, k) => delete b.blocks[k]!.block.format]];
    for (const k of [1, 2]) {
      for (const [what, edit] of signed) {
        const r = await verifyBundle(tamper(bundle, (b) => edit(b, k)), pinned);
        expect(r.valid, `signed block ${bundle.blocks[k]!.block.height}: ${what}`).toBe(false);
      }
    }
    // The format-1 block: only prev and time are not signed, and they pass, the time shown as unsigned.
    const unsignedOk = new Set(['time one millisecond later', 'prev changed']);
    const legacy: Array<[string, BlockEdit]> = [...edits, ['format added (passed off as a signed block)', (b, k) => (b.blocks[k]!.block.format = 'guzheng-block/v2')]];
    for (const [what, edit] of legacy) {
      const b = tamper(bundle, (x) => edit(x, 0));
      const r = await verifyBundle(b, pinned);
      expect(r.valid, `format-1 block: ${what}`).toBe(unsignedOk.has(what));
      if (!r.valid) continue;
      const item = r.items.find((i) => i.index === '1')!;
      expect(item.facts).toMatchObject({ blockFormat: '1', blockTimeUnsigned: b.blocks[0]!.block.time });
      expect(item.facts.blockTime).toBeUndefined();
      expect(item.checks.find((c) => c.id === 'block')?.message).toMatch(/format-1 block .* not authenticated/);
    }
  });

  it('builds and verifies a bundle of 1,000 items quickly', async () => {
    const log = new MiniLog();
    log.publish();
    for (let i = 0; i < 2000; i++) {
      log.appendDocument(content(i), `doc-${i}.pdf`);
      if (i % 100 === 99) log.publish();
    }
    const indexes = Array.from({ length: 1000 }, (_, i) => BigInt(i * 2));
    const t0 = performance.now();
    const bundle = buildBundle({ caseId: CASE, createdAt: '2026-11-28T09:00:00.000Z', verifierKey: TEST_KEYS.verifierKey, checkpoint: log.blocks.at(-1)!.checkpoint, items: indexes.map((i) => itemParts(log, i)) });
    const text = JSON.stringify(bundle);
    const t1 = performance.now();
    const r = await verifyBundle(text, { ...pinned, files: indexes.map((i) => ({ label: `doc-${i}.pdf`, content: { bytes: content(Number(i)) } })) });
    const t2 = performance.now();
    expect(r.valid).toBe(true);
    expect(bundle.blocks).toHaveLength(20);
    console.log(`bundle of 1000 items: ${text.length} characters; build ${(t1 - t0).toFixed(0)} ms, verify with files ${(t2 - t1).toFixed(0)} ms`);
    expect(t2 - t1).toBeLessThan(10_000);
  }, 60_000);
});

describe('readProofDocument and verifyDocument', () => {
  it('tells a receipt, a bundle and a tlog-proof apart and verifies each', async () => {
    const { bundle, log } = setup();
    const receipt = log.receipt(3n);
    const proof = receiptToTlogProof(parseReceipt(receipt));
    expect(readProofDocument(JSON.stringify(receipt)).kind).toBe('receipt');
    expect(readProofDocument('\uFEFF' + JSON.stringify(bundle)).kind).toBe('bundle');
    expect(readProofDocument(bundle).kind).toBe('bundle');
    expect(readProofDocument(proof).kind).toBe('tlog-proof');
    expect(readProofDocument({ format: 'something else' }).kind).toBe('receipt');
    const entry = canonicalJson(log.entries[3]);
    const file = [{ label: 'doc-3.pdf', content: { bytes: content(3) } }];
    expect(await verifyDocument(readProofDocument(receipt), { ...pinned, files: file })).toMatchObject({ kind: 'receipt', valid: true });
    expect(await verifyDocument(readProofDocument(proof), { ...pinned, entry, files: file })).toMatchObject({ kind: 'tlog-proof', valid: true });
    expect(await verifyDocument(readProofDocument(bundle), { ...pinned, files: file })).toMatchObject({ kind: 'bundle', valid: true });
  });

  it('refuses unreadable input and caller errors with INPUT_INVALID', async () => {
    const { bundle, log } = setup();
    const receipt = log.receipt(3n);
    const proof = receiptToTlogProof(parseReceipt(receipt));
    const errs: Array<() => unknown> = [
      () => readProofDocument('%PDF-1.7'),
      () => readProofDocument('[1,2]'),
      () => readProofDocument(42),
      async () => verifyDocument(readProofDocument(proof), pinned),
      async () => verifyDocument(readProofDocument(receipt), { ...pinned, entry: new Uint8Array(1) }),
      async () => verifyDocument(readProofDocument(bundle), { ...pinned, entry: new Uint8Array(1) }),
      async () => verifyDocument(readProofDocument(receipt), { ...pinned, files: [...files(3), ...files(3)] }),
    ];
    for (const f of errs) {
      let err: unknown;
      try {
        await f();
      } catch (e) {
        err = e;
      }
      expect(isLedgerError(err, 'INPUT_INVALID'), String(f)).toBe(true);
    }
  });
});
