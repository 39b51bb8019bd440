/** Checkers for vector families beyond the Merkle ones (keys, checkpoints, receipts). */
import { expect } from 'vitest';
import { fromBase64, toHex } from '../../src/core/bytes.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { LedgerError } from '../../src/core/errors.js';
import { parseSignerKey, parseVerifierKey } from '../../src/core/note.js';
import { sha256 } from '../../src/core/crypto.js';
import { hashLeaf } from '../../src/core/merkle/index.js';
import { canonicalJsonText } from '../../src/core/entry/jcs.js';
import { refRoot } from '../support/reference-merkle.js';
import { verifyReceipt, verifyTlogProof, type Content } from '../../src/verifier/index.js';
import type { VectorFile } from './walk.js';

type V = VectorFile['value'];

function content(v: V): Content | undefined {
  if (typeof v.contentBase64 === 'string') return { bytes: fromBase64(v.contentBase64) };
  return undefined;
}

/** A receipt vector fails iff the report is invalid; its code is that of the first failed check. */
function expectReport(report: ReturnType<typeof verifyReceipt>, v: V): void {
  if (Array.isArray(v.failedChecks)) {
    expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(v.failedChecks);
  }
  const first = report.checks.find((c) => c.status === 'fail');
  if (!report.valid) throw new LedgerError(first?.code ?? 'PROOF_INVALID', first?.message ?? 'invalid');
}

export const vectorCheckers: Record<string, (v: V) => void> = {
  checkpoint: (v) => {
    const { checkpoint } = openCheckpoint(v.note as string, v.verifierKey as string);
    expect(checkpoint.origin).toBe(v.origin);
    expect(checkpoint.size.toString()).toBe(v.size);
    expect(toHex(checkpoint.root)).toBe(v.rootHash);
  },
  'verifier-key': (v) => {
    parseVerifierKey(v.verifierKey as string);
  },
  receipt: (v) => {
    const c = content(v);
    const report = verifyReceipt(v.receipt, { trustedKeys: [v.trustedKey as string], ...(c ? { content: c } : {}) });
    expectReport(report, v);
  },
  example: (v) => {
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
    expect(toHex(sha256(enc.encode(canonicalJsonText(v.block))))).toBe(v.blockHash);
    expect(toHex(sha256(enc.encode(canonicalJsonText(v.genesisBlock))))).toBe(v.genesisBlockHash);
    expect((v.block as { prev: string }).prev).toBe(v.genesisBlockHash);
    const report = verifyReceipt(v.receipt, { trustedKeys: [v.verifierKey as string], content: { bytes: fromBase64(v.documentBase64 as string) } });
    expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expectReport(report, v);
  },
  'tlog-proof': (v) => {
    const c = content(v);
    const report = verifyTlogProof(v.tlogProof as string, fromBase64(v.entryBase64 as string), { trustedKeys: [v.trustedKey as string], ...(c ? { content: c } : {}) });
    expectReport(report, v);
  },
};
