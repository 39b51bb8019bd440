/** Checkers for vector families beyond the Merkle ones (keys, checkpoints, receipts). */
import { expect } from 'vitest';
import { fromBase64, toHex } from '../../src/core/bytes.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { LedgerError } from '../../src/core/errors.js';
import { parseSignerKey, parseVerifierKey } from '../../src/core/note.js';
import { sha256 } from '../../src/core/crypto.js';
import { hashLeaf } from '../../src/core/merkle/index.js';
import { parseBlock, verifyBlock, verifyBlockChain } from '../../src/core/block.js';
import { openCosigned, verifyCosignature } from '../../src/core/cosignature.js';
import { refRoot } from '../support/reference-merkle.js';
import { verifyReceipt, verifyTlogProof, type Content } from '../../src/verifier/index.js';
import type { VectorFile } from './walk.js';

type V = VectorFile['value'];

function content(v: V): Content | undefined {
  if (typeof v.contentBase64 === 'string') return { bytes: fromBase64(v.contentBase64) };
  return undefined;
}

/** A receipt vector fails iff the report is invalid; its code is that of the first failed check. */
function expectReport(report: Awaited<ReturnType<typeof verifyReceipt>>, v: V): void {
  if (Array.isArray(v.failedChecks)) {
    expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(v.failedChecks);
  }
  const first = report.checks.find((c) => c.status === 'fail');
  if (!report.valid) throw new LedgerError(first?.code ?? 'PROOF_INVALID', first?.message ?? 'invalid');
}

export const vectorCheckers: Record<string, (v: V) => void | Promise<void>> = {
  checkpoint: (v) => {
    const { checkpoint } = openCheckpoint(v.note as string, v.verifierKey as string);
    expect(checkpoint.origin).toBe(v.origin);
    expect(checkpoint.size.toString()).toBe(v.size);
    expect(toHex(checkpoint.root)).toBe(v.rootHash);
  },
  'verifier-key': (v) => {
    parseVerifierKey(v.verifierKey as string);
  },
  receipt: async (v) => {
    const c = content(v);
    const report = await verifyReceipt(v.receipt, { trustedKeys: [v.trustedKey as string], ...(c ? { content: c } : {}) });
    expectReport(report, v);
  },
  example: async (v) => {
    // Recompute every stated value from its inputs, independently of how it was generated.
    const enc = new TextEncoder();
    const leaves = (v.entries as string[]).map((e) => hashLeaf(enc.encode(e)));
    expect(leaves.map(toHex)).toEqual(v.leafHashes);
    expect(toHex(refRoot(leaves))).toBe(v.rootHash);
    expect(toHex(sha256(enc.encode(v.recordCanonical as string)))).toBe(v.recordDigest);
    expect(toHex(sha256(fromBase64(v.documentBase64 as string)))).toBe(v.documentDigest);
    expect(parseSignerKey(v.signerKey as string).publicKey).toEqual(parseVerifierKey(v.verifierKey as string).publicKey);
    const { checkpoint } = openCheckpoint(v.checkpoint as string, v.verifierKey as string);
    expect(toHex(checkpoint.root)).toBe(v.rootHash);
    // A signed block's hash is SHA-256 of its signed checkpoint text (everything before the blank line).
    const signedText = (b: unknown) => { const c = (b as { checkpoint: string }).checkpoint; return c.slice(0, c.lastIndexOf('\n\n') + 1); };
    expect(toHex(sha256(enc.encode(signedText(v.block))))).toBe(v.blockHash);
    expect(toHex(sha256(enc.encode(signedText(v.genesisBlock))))).toBe(v.genesisBlockHash);
    expect((v.block as { prev: string }).prev).toBe(v.genesisBlockHash);
    const report = await verifyReceipt(v.receipt, { trustedKeys: [v.verifierKey as string], content: { bytes: fromBase64(v.documentBase64 as string) } });
    // Everything passes but the time stamp, which the example log has none of (SPEC.md#time-stamps).
    expect(report.checks.filter((c) => c.status !== 'pass').map((c) => [c.id, c.status])).toEqual([['timestamp', 'skip'], ['cosignatures', 'skip']]);
    expectReport(report, v);
  },
  block: (v) => {
    verifyBlock(parseBlock(v.block), v.verifierKey as string);
  },
  'block-chain': (v) => {
    verifyBlockChain((v.blocks as unknown[]).map(parseBlock), v.verifierKey as string);
  },
  cosignature: (v) => {
    // How a verifier counts the line on a note signed by the log; then the line alone.
    const opened = openCosigned(v.note as string, v.logKey as string, [v.witnessKey as string]);
    expect(opened.cosignatures.length === 1, 'counted').toBe(v.counted);
    expect(opened.ignored.length === 1, 'ignored').toBe(v.ignored);
    verifyCosignature(v.checkpoint as string, v.line as string, v.witnessKey as string);
  },
  'tlog-proof': async (v) => {
    const c = content(v);
    const report = await verifyTlogProof(v.tlogProof as string, fromBase64(v.entryBase64 as string), { trustedKeys: [v.trustedKey as string], ...(c ? { content: c } : {}) });
    expectReport(report, v);
  },
};
