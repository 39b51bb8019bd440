/** Checkers for vector families beyond the Merkle ones (keys, checkpoints, receipts, the gm suite's). */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { fromBase64, fromHex, toHex, utf8 } from '../../src/core/bytes.js';
import { sm2Digest, sm2PublicKey, sm2SignWithNonce, sm2Verify } from '../../src/core/crypto-gm.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { LedgerError } from '../../src/core/errors.js';
import { parseSignerKey, parseVerifierKey } from '../../src/core/note.js';
import { GM } from '../../src/core/suite.js';
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

/** SM3 by OpenSSL (node:crypto), independent of the pure-JS SM3 the code under test uses by default. */
const opensslSm3 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sm3');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** MTH(D[n]) of RFC 9162 §2.1.1 with SM3, written out naively (the largest power of two below n first). */
function naiveSm3Root(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return opensslSm3();
  if (leaves.length === 1) return opensslSm3(Uint8Array.of(0), leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return opensslSm3(Uint8Array.of(1), naiveSm3Root(leaves.slice(0, k)), naiveSm3Root(leaves.slice(k)));
}

// GB/T 32918.5-2017 §3: the SM2 recommended curve's a, b and base point, which Z_A covers.
const SM2_CURVE_ABG = fromHex(
  'fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffc' +
    '28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93' +
    '32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7' +
    'bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0',
);

/**
 * Checkers of the gm suite's vectors (contracts-free-ledger/vectors/gm/<family>/, SPEC.md#vectors).
 * Known answers are recomputed with OpenSSL's SM3 (node:crypto); keys, checkpoints and receipts go
 * through the same code as the c2sp families, the suite coming from the key.
 */
export const gmVectorCheckers: Record<string, (v: V) => void | Promise<void>> = {
  'gm/hashing': (v) => {
    for (const x of (v.examples ?? []) as Array<{ message: string; sm3: string }>) {
      expect(toHex(opensslSm3(utf8(x.message))), x.message).toBe(x.sm3);
      expect(toHex(GM.hash(utf8(x.message))), x.message).toBe(x.sm3);
    }
    if (v.leaves) {
      const leaves = (v.leaves as string[]).map((l) => fromHex(l));
      expect(toHex(opensslSm3())).toBe(v.emptyRoot);
      expect(toHex(GM.tree.emptyRoot())).toBe(v.emptyRoot);
      expect(leaves.map((l) => toHex(opensslSm3(Uint8Array.of(0), l)))).toEqual(v.leafHashes);
      expect(leaves.map((l) => toHex(GM.tree.hashLeaf(l)))).toEqual(v.leafHashes);
      const node = v.node as { left: string; right: string; hash: string };
      expect(toHex(opensslSm3(Uint8Array.of(1), fromHex(node.left, 32), fromHex(node.right, 32)))).toBe(node.hash);
      expect(toHex(GM.tree.hashChildren(fromHex(node.left, 32), fromHex(node.right, 32)))).toBe(node.hash);
      expect(leaves.map((_, n) => toHex(naiveSm3Root(leaves.slice(0, n)))).concat(toHex(naiveSm3Root(leaves)))).toEqual(v.roots);
    }
  },
  'gm/sm2': (v) => {
    const pub = fromHex(v.publicKey as string, 65);
    const message = utf8(v.message as string);
    if (typeof v.privateKey === 'string') expect(toHex(sm2PublicKey(fromHex(v.privateKey, 32)))).toBe(v.publicKey);
    if (typeof v.za === 'string') {
      // Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA), ENTL the ID's bit length (GB/T 32918.2 §5.5).
      const id = utf8(v.id as string);
      expect(toHex(opensslSm3(Uint8Array.of((id.length * 8) >> 8, (id.length * 8) & 0xff), id, SM2_CURVE_ABG, pub.subarray(1)))).toBe(v.za);
      expect(toHex(opensslSm3(fromHex(v.za, 32), message))).toBe(v.e);
      expect(toHex(sm2Digest(pub, message))).toBe(v.e);
    }
    const signature = fromHex(v.signature as string, 64);
    if (typeof v.privateKey === 'string' && typeof v.k === 'string') {
      expect(toHex(sm2SignWithNonce(fromHex(v.privateKey, 32), message, BigInt(`0x${v.k}`)))).toBe(v.signature);
    }
    if (!sm2Verify(pub, message, signature)) throw new LedgerError('SIGNATURE_INVALID', 'sm2: the signature does not verify');
  },
  'gm/checkpoint': (v) => vectorCheckers.checkpoint!(v),
  'gm/verifier-key': (v) => {
    expect(parseVerifierKey(v.verifierKey as string).algorithm).toBe('sm2');
  },
  'gm/receipt': (v) => vectorCheckers.receipt!(v),
};
