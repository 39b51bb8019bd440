/**
 * Verifying documents of a `gm` log (SM3 tree, SM2 checkpoints; SPEC.md#crypto-suites) with the
 * same verifier as `c2sp` logs: the suite comes from the pinned key, never from the document.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blockHash, verifyBlockChain } from '../../src/core/block.js';
import { toHex } from '../../src/core/bytes.js';
import { encodeEntry, newEntry } from '../../src/core/entry/index.js';
import { GM } from '../../src/core/suite.js';
import { parseReceipt } from '../../src/core/receipt.js';
import { receiptToTlogProof } from '../../src/core/tlog-proof.js';
import { verifyReceipt, verifyTlogProof } from '../../src/verifier/index.js';
import { GM_KEYS, GM_ORIGIN, MiniLog, TEST_KEYS, content } from '../../scripts/vectors/mini-log.js';

function gmLog(): MiniLog {
  const log = new MiniLog(GM_KEYS.signerKey, GM_KEYS.verifierKey, GM_ORIGIN);
  log.publish();
  for (let i = 0; i < 5; i++) log.appendDocument(content(i));
  log.publish();
  for (let i = 5; i < 9; i++) log.appendDocument(content(i));
  log.publish();
  return log;
}

const ids = (r: { checks: Array<{ id: string; status: string; code?: string }> }) => r.checks.map((c) => `${c.id}:${c.status}${c.code ? `:${c.code}` : ''}`);

describe('a gm log receipt', () => {
  const log = gmLog();
  const receipt = log.receipt(3n);

  it('is hashed with SM3 throughout: leaf, content digest, block hash', () => {
    const leaf = createHash('sm3').update(Buffer.concat([Buffer.of(0), Buffer.from(encodeEntry(log.entries[3]!))])).digest('hex');
    expect(receipt.leafHash).toBe(leaf);
    expect((receipt.entry as { digest: { alg: string } }).digest.alg).toBe('sm3');
    const b = log.blocks[2]!;
    expect(toHex(blockHash(b, GM))).toBe(createHash('sm3').update(b.checkpoint.slice(0, b.checkpoint.lastIndexOf('\n\n') + 1)).digest('hex'));
    verifyBlockChain(log.blocks, GM_KEYS.verifierKey);
  });

  it('verifies with the pinned SM2 key and the file, every check passing', async () => {
    const report = await verifyReceipt(receipt, { trustedKeys: [GM_KEYS.verifierKey], content: { bytes: content(3) } });
    expect(report.valid).toBe(true);
    expect(ids(report)).toEqual(['format:pass', 'checkpoint:pass', 'entry:pass', 'leaf-hash:pass', 'content:pass', 'inclusion:pass', 'block:pass', 'block-consistency:pass', 'timestamp:skip', 'cosignatures:skip']);
    expect(report.facts.suite).toBe('gm');
    expect(report.checks.find((c) => c.id === 'leaf-hash')?.message).toMatch(/^SM3\(0x00 \|\| entry\)/);
  });

  it('fails with a one-byte-changed file, and under an Ed25519 key', async () => {
    const changed = content(3).slice();
    changed[0]! ^= 1;
    expect(ids(await verifyReceipt(receipt, { trustedKeys: [GM_KEYS.verifierKey], content: { bytes: changed } }))).toContain('content:fail:DIGEST_MISMATCH');
    const other = await verifyReceipt(receipt, { trustedKeys: [TEST_KEYS.verifierKey] });
    expect(other.valid).toBe(false);
    expect(other.checks.find((c) => c.id === 'checkpoint')?.code).toBe('NOTE_UNVERIFIED');
  });

  it('refuses a sha256 entry in a gm log: the suite is the key\'s, not the document\'s', async () => {
    const mixed = new MiniLog(GM_KEYS.signerKey, GM_KEYS.verifierKey, GM_ORIGIN);
    mixed.publish();
    mixed.appendEntry(newEntry({ type: 'digest', digest: { alg: 'sha256', hex: toHex(createHash('sha256').update('x').digest()) }, meta: {}, submitter: 'officer-01', receivedAt: '2026-11-28T08:00:00.000Z' }));
    mixed.publish();
    const r = await verifyReceipt(mixed.receipt(0n), { trustedKeys: [GM_KEYS.verifierKey] });
    expect(r.valid).toBe(false);
    expect(ids(r)).toContain('entry:fail:ENTRY_INVALID');
  });

  it('a tlog-proof of a gm log verifies with the entry bytes', async () => {
    const text = receiptToTlogProof(parseReceipt(receipt));
    const r = await verifyTlogProof(text, encodeEntry(log.entries[3]!), { trustedKeys: [GM_KEYS.verifierKey] });
    expect(r.valid).toBe(true);
  });
});
