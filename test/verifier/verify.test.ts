import { describe, it, expect } from 'vitest';
import { canonicalJson } from '../../src/core/entry/jcs.js';
import { digestBytes } from '../../src/core/entry/index.js';
import { formatBlock } from '../../src/core/block.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { toHex } from '../../src/core/bytes.js';
import { formatTlogProof, receiptToTlogProof } from '../../src/core/tlog-proof.js';
import { parseReceipt, type Receipt } from '../../src/core/receipt.js';
import { verifyReceipt, verifyTlogProof, type VerificationReport } from '../../src/verifier/index.js';
import { MiniLog, OTHER_KEYS, TEST_KEYS, TEST_ORIGIN, content, threeBlockLog } from '../../scripts/vectors/mini-log.js';

const pinned = { trustedKeys: [TEST_KEYS.verifierKey] };

const setup = threeBlockLog;

function failed(r: VerificationReport): string[] {
  return r.checks.filter((c) => c.status === 'fail').map((c) => `${c.id}:${c.code}`);
}

function status(r: VerificationReport): Record<string, string> {
  return Object.fromEntries(r.checks.map((c) => [c.id, c.status]));
}

describe('verifyReceipt', () => {
  it('passes every check for a good receipt with its file', async () => {
    const { receipt } = setup();
    const r = await verifyReceipt(receipt, { ...pinned, content: { bytes: content(3) } });
    expect(failed(r)).toEqual([]);
    expect(r.valid).toBe(true);
    expect(status(r)).toEqual({
      format: 'pass',
      checkpoint: 'pass',
      entry: 'pass',
      'leaf-hash': 'pass',
      content: 'pass',
      inclusion: 'pass',
      block: 'pass',
      'block-consistency': 'pass',
      timestamp: 'skip',
      cosignatures: 'skip',
    });
    expect(r.checks.find((c) => c.id === 'timestamp')?.message).toMatch(/no trusted time stamp yet/);
    expect(r.facts).toMatchObject({ index: '3', treeSize: '12', origin: TEST_ORIGIN, blockHeight: '1', blockFormat: '2', blockTime: receipt.block.time });
    expect(r.facts.entry?.meta).toMatchObject({ caseId: '衡环罚〔2026〕12号' });
  });

  it('is valid without the file, saying the content was not compared', async () => {
    const { receipt } = setup();
    const r = await verifyReceipt(JSON.stringify(receipt), pinned);
    expect(r.valid).toBe(true);
    expect(r.checks.find((c) => c.id === 'content')).toMatchObject({ status: 'skip' });
  });

  it('accepts the digest instead of the file (what the browser page computes)', async () => {
    const { receipt } = setup();
    expect((await verifyReceipt(receipt, { ...pinned, content: { digest: digestBytes(content(3)) } })).valid).toBe(true);
    const upper = { alg: 'sha256' as const, hex: digestBytes(content(3)).hex.toUpperCase() };
    expect(failed(await verifyReceipt(receipt, { ...pinned, content: { digest: upper } }))).toEqual(['content:INPUT_INVALID']);
  });

  it('names the failing check for each kind of tampering', async () => {
    const { receipt, log } = setup();
    const changedFile = content(3).slice();
    changedFile[0]! ^= 1;
    const cases: Array<[string, Receipt | string, string[], Uint8Array?]> = [
      ['file changed by one byte', receipt, ['content:DIGEST_MISMATCH'], changedFile],
      ['proof hash tampered', { ...receipt, inclusionProof: receipt.inclusionProof.map((h, i) => (i === 1 ? h.replace(/^./, (c) => (c === '0' ? '1' : '0')) : h)) }, ['inclusion:PROOF_INVALID']],
      ['entry metadata edited', { ...receipt, entry: { ...receipt.entry, submitter: 'someone-else' } }, ['leaf-hash:RECEIPT_MALFORMED', 'inclusion:PROOF_INVALID']],
      ['index changed', { ...receipt, index: '4' }, ['inclusion:PROOF_INVALID']],
      ['checkpoint signature altered', { ...receipt, checkpoint: receipt.checkpoint.replace('\n12\n', '\n13\n') }, ['checkpoint:SIGNATURE_INVALID']],
      ['not JSON', '{"format":', ['format:RECEIPT_MALFORMED']],
      ['block from elsewhere', { ...receipt, block: formatBlock(log.blocks[2]!) }, ['block:BLOCK_INVALID']],
      ['block consistency proof dropped', { ...receipt, blockConsistency: [] }, ['block-consistency:PROOF_INVALID']],
    ];
    for (const [what, rec, want, file] of cases) {
      const r = await verifyReceipt(rec, file ? { ...pinned, content: { bytes: file } } : pinned);
      expect(failed(r), what).toEqual(want);
      expect(r.valid, what).toBe(false);
    }
  });

  it('rejects a receipt from another log key, naming the key the receipt claims', async () => {
    const other = new MiniLog(OTHER_KEYS.signerKey, OTHER_KEYS.verifierKey);
    other.publish();
    other.appendDocument(content(1));
    other.publish();
    const r = await verifyReceipt(other.receipt(0n), pinned);
    expect(failed(r)).toEqual(['checkpoint:NOTE_UNVERIFIED']);
    expect(r.checks.find((c) => c.id === 'checkpoint')!.message).toContain(OTHER_KEYS.verifierKey);
    expect(status(r).inclusion).toBe('skip');
    expect(r.valid).toBe(false);
    // With that key pinned as well, it verifies.
    expect((await verifyReceipt(other.receipt(0n), { trustedKeys: [TEST_KEYS.verifierKey, OTHER_KEYS.verifierKey] })).valid).toBe(true);
  });

  it('catches a forked history: block checkpoint and proving checkpoint both signed but inconsistent', async () => {
    const { log, receipt } = setup();
    // Same entries except entry 1, so entry 3 is still included in the forked tree.
    const forked = new MiniLog();
    const other = new MiniLog();
    other.appendDocument(content(77));
    for (let i = 0; i < 12; i++) forked.appendEntry(i === 1 ? other.entries[0]! : log.entries[i]!);
    const note = signCheckpoint({ origin: TEST_ORIGIN, size: 12n, root: forked.range.root() }, TEST_KEYS.signerKey);
    const r = await verifyReceipt({ ...receipt, checkpoint: note, inclusionProof: forked.inclusion(3n, 12n).map(toHex), blockConsistency: forked.consistency(5n, 12n).map(toHex) }, pinned);
    // The receipt's own proof fails: that alone does not prove a fork (the proof may be damaged).
    expect(failed(r)).toEqual(['block-consistency:PROOF_INVALID']);
  });

  it('reports a conclusive fork: two signed checkpoints of the same size with different roots', async () => {
    const { log, receipt } = setup();
    const forked = new MiniLog();
    const other = new MiniLog();
    other.appendDocument(content(77));
    for (let i = 0; i < 5; i++) forked.appendEntry(i === 0 ? other.entries[0]! : log.entries[i]!);
    const note = signCheckpoint({ origin: TEST_ORIGIN, size: 5n, root: forked.range.root() }, TEST_KEYS.signerKey);
    const r = await verifyReceipt({ ...receipt, checkpoint: note, inclusionProof: forked.inclusion(3n, 5n).map(toHex), blockConsistency: [] }, pinned);
    expect(failed(r)).toEqual(['block-consistency:INCONSISTENT']);
    expect(r.checks.find((c) => c.id === 'block-consistency')!.message).toMatch(/forked/);
  });

  it('refuses to run without a pinned key', async () => {
    const { receipt } = setup();
    await expect(verifyReceipt(receipt, { trustedKeys: [] })).rejects.toThrow(/pin the log verifier key/);
    await expect(verifyReceipt(receipt, { trustedKeys: ['nonsense'] })).rejects.toThrow();
  });
});

describe('verifyTlogProof', () => {
  it('verifies an exported receipt, with its block, given the entry bytes', async () => {
    const { receipt } = setup();
    const text = receiptToTlogProof(parseReceipt(receipt));
    const r = await verifyTlogProof(text, canonicalJson(receipt.entry), { ...pinned, content: { bytes: content(3) } });
    expect(failed(r)).toEqual([]);
    expect(r.valid).toBe(true);
    expect(status(r).block).toBe('pass');
  });

  it('verifies a plain tlog-proof from another tool (no extra), skipping block checks', async () => {
    const { receipt, log } = setup();
    const text = formatTlogProof({ index: 3n, inclusionProof: log.inclusion(3n, 12n), checkpoint: log.blocks.at(-1)!.checkpoint });
    const r = await verifyTlogProof(text, canonicalJson(receipt.entry), pinned);
    expect(r.valid).toBe(true);
    expect(status(r)).toMatchObject({ block: 'skip', 'block-consistency': 'skip', 'leaf-hash': 'skip' });
  });

  it('fails on the wrong entry bytes or a malformed text', async () => {
    const { receipt } = setup();
    const text = receiptToTlogProof(parseReceipt(receipt));
    expect(failed(await verifyTlogProof(text, new TextEncoder().encode('{}'), pinned))).toEqual(['entry:ENTRY_INVALID', 'inclusion:PROOF_INVALID']);
    expect(failed(await verifyTlogProof('garbage', canonicalJson(receipt.entry), pinned))).toEqual(['format:RECEIPT_MALFORMED']);
  });

  it('a block that did not seal the index is rejected', async () => {
    const { log, receipt } = setup();
    const old = log.blocks[1]!;
    const r = await verifyReceipt({ ...receipt, checkpoint: old.checkpoint, inclusionProof: log.inclusion(3n, 5n).map(toHex), block: formatBlock(log.blocks[2]!), blockConsistency: [] }, pinned);
    expect(failed(r)).toEqual(['block:BLOCK_INVALID']);
  });
});
