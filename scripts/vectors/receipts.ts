/**
 * Receipt and tlog-proof probes, and the end-to-end worked example that SPEC.md quotes byte for
 * byte (a real key, real signatures, real hashes; test/spec/spec.test.ts checks it).
 */
import { fromUtf8, toBase64, toHex } from '../../src/core/bytes.js';
import { blockHash, formatBlock } from '../../src/core/block.js';
import { parseCheckpoint } from '../../src/core/checkpoint.js';
import { canonicalJson, canonicalJsonText } from '../../src/core/entry/jcs.js';
import { digestBytes, digestRecord, encodeEntry, newEntry } from '../../src/core/entry/index.js';
import { generateSignerKey } from '../../src/core/note.js';
import { hashLeaf } from '../../src/core/merkle/index.js';
import { parseReceipt, type Receipt } from '../../src/core/receipt.js';
import { formatTlogProof, receiptToTlogProof } from '../../src/core/tlog-proof.js';
import { verifyReceipt, verifyTlogProof, type VerificationReport } from '../../src/verifier/index.js';
import { MiniLog, content as testContent } from './mini-log.js';
import type { VectorSet } from './write.js';

/** The worked example's log: origin and a key from a published, obviously-test seed. */
export const EXAMPLE_ORIGIN = 'guzheng.example/hengshui';
/** Seed bytes 0x00..0x1f. Never use a published key for a real log. */
export const EXAMPLE_KEYS = generateSignerKey(EXAMPLE_ORIGIN, new Uint8Array(32).map((_, i) => i));
const STRANGER = generateSignerKey(EXAMPLE_ORIGIN, new Uint8Array(32).map((_, i) => 255 - i));
const FOREIGN_ORIGIN = 'guzheng.example/cangzhou';
const FOREIGN = generateSignerKey(FOREIGN_ORIGIN, new Uint8Array(32).map((_, i) => 128 + i));

/** The example document: a (tiny) inspection record PDF stand-in. */
export const EXAMPLE_DOCUMENT = new TextEncoder().encode('%PDF-1.7\n% 现场检查笔录 衡环罚〔2026〕12号\n%%EOF\n');
/** The example monitoring record (a JSON object; its digest is SHA-256 of its RFC 8785 form). */
export const EXAMPLE_RECORD = { station: 'HS-AQ-0001', pollutant: 'a34004', value: '35.2', unit: 'μg/m³', time: '2026-03-01T08:00:00+08:00' };

/** buildExampleLog builds the three-entry example log with its two blocks (genesis and one). */
export function buildExampleLog(): MiniLog {
  const log = new MiniLog(EXAMPLE_KEYS.signerKey, EXAMPLE_KEYS.verifierKey, EXAMPLE_ORIGIN);
  log.clock = Date.parse('2026-03-01T00:00:00.000Z');
  log.publish();
  log.appendEntry(
    newEntry({ type: 'record', digest: digestRecord(EXAMPLE_RECORD), meta: { source: 'HS-AQ-0001', dataTime: '2026-03-01T08:00:00+08:00' }, submitter: 'station-gw', receivedAt: log.now() }),
  );
  log.appendEntry(
    newEntry({
      type: 'document',
      digest: digestBytes(EXAMPLE_DOCUMENT),
      meta: { name: '现场检查笔录.pdf', mediaType: 'application/pdf', size: EXAMPLE_DOCUMENT.length, caseId: '衡环罚〔2026〕12号' },
      submitter: 'officer-01',
      receivedAt: log.now(),
    }),
  );
  log.appendEntry(newEntry({ type: 'digest', digest: digestBytes(new TextEncoder().encode('photo bytes')), meta: { name: 'IMG_0001.jpg', mediaType: 'image/jpeg', caseId: '衡环罚〔2026〕12号' }, submitter: 'officer-01', receivedAt: log.now() }));
  log.publish();
  return log;
}

function outcomeOf(report: VerificationReport): { wantErr: boolean; expectCode?: string; failedChecks: string[] } {
  const failed = report.checks.filter((c) => c.status === 'fail');
  return report.valid ? { wantErr: false, failedChecks: [] } : { wantErr: true, expectCode: failed[0]?.code ?? 'PROOF_INVALID', failedChecks: failed.map((c) => c.id) };
}

function flipHex(h: string, at: number): string {
  const c = h[at] === '0' ? '1' : '0';
  return h.slice(0, at) + c + h.slice(at + 1);
}

/** generate adds receipt/*, tlog-proof/* and example/* vectors. */
export async function generate(set: VectorSet): Promise<void> {
  const log = buildExampleLog();
  const trustedKey = EXAMPLE_KEYS.verifierKey;
  const receipt = log.receipt(1n);
  // Verification is asynchronous; the vectors are added in the order they are declared.
  const queue: Array<() => Promise<void>> = [];

  const addReceipt = (name: string, desc: string, r: unknown, mustFail: boolean, file?: Uint8Array) => {
    queue.push(async () => {
      const report = await verifyReceipt(r, { trustedKeys: [trustedKey], ...(file ? { content: { bytes: file } } : {}) });
      const got = outcomeOf(report);
      if (got.wantErr !== mustFail) throw new Error(`receipt vector ${name}: verifier disagrees (${JSON.stringify(got)})`);
      set.add(`receipt/${name}`, { desc, trustedKey, receipt: r, ...(file ? { contentBase64: toBase64(file) } : {}), ...got });
    });
  };
  const changed = EXAMPLE_DOCUMENT.slice();
  changed[changed.length - 2]! ^= 1;
  addReceipt('valid', 'the example receipt, without the file', receipt, false);
  addReceipt('valid-with-file', 'the example receipt with the original file', receipt, false, EXAMPLE_DOCUMENT);
  addReceipt('file-one-byte-changed', 'the file with one byte changed', receipt, true, changed);
  addReceipt('other-file', 'a different file', receipt, true, testContent(1));
  proofHashes(receipt).forEach((_, k) => {
    addReceipt(`modified-proof@${k}`, `inclusionProof[${k}] with one hex digit changed`, { ...receipt, inclusionProof: receipt.inclusionProof.map((h, i) => (i === k ? flipHex(h, 5) : h)) }, true);
  });
  addReceipt('truncated-proof', 'inclusion proof without its last hash', { ...receipt, inclusionProof: receipt.inclusionProof.slice(0, -1) }, true);
  addReceipt('extended-proof', 'inclusion proof with an extra hash', { ...receipt, inclusionProof: [...receipt.inclusionProof, receipt.leafHash] }, true);
  addReceipt('wrong-index', 'index changed', { ...receipt, index: '2' }, true);
  addReceipt('entry-edited', 'entry metadata edited (leaf hash kept)', { ...receipt, entry: { ...receipt.entry, submitter: 'officer-02' } }, true);
  addReceipt('entry-and-leaf-edited', 'entry edited and leaf hash recomputed to match', (() => {
    const entry = { ...receipt.entry, submitter: 'officer-02' };
    return { ...receipt, entry, leafHash: toHex(hashLeaf(canonicalJson(entry))) };
  })(), true);
  addReceipt('checkpoint-edited', 'checkpoint size changed after signing', { ...receipt, checkpoint: receipt.checkpoint.replace('\n3\n', '\n4\n') }, true);
  addReceipt('other-log-key', 'the same entries logged under another key with the same origin', strangerReceipt(), true);
  addReceipt('block-consistency-missing', 'block-consistency proof removed (block and checkpoint differ in size)', (() => {
    log.appendDocument(testContent(7));
    log.publish();
    const r = log.receipt(1n);
    return { ...r, blockConsistency: [] };
  })(), true);
  addReceipt('later-checkpoint', 'a receipt against a later checkpoint than its block', log.receipt(1n), false);
  addReceipt('wrong-format', 'unknown format identifier', { ...receipt, format: 'guzheng-receipt/v0' }, true);
  addReceipt('v1-with-timestamp', 'a guzheng-receipt/v1 carrying the v2 timestamp member', { ...receipt, format: 'guzheng-receipt/v1' }, true);
  addReceipt('v2-without-timestamp', 'a guzheng-receipt/v2 without its timestamp member', (() => {
    const { timestamp: _t, ...rest } = receipt;
    return rest;
  })(), true);
  // The signed block header (SPEC.md#signed-block-header): every member of the block is signed.
  const b = receipt.block;
  const other = (h: string) => (h[0] === 'a' ? 'b' : 'a') + h.slice(1);
  addReceipt('block-time-changed', 'block.time moved back to 2020 (the signed block header says otherwise)', { ...receipt, block: { ...b, time: '2020-01-01T00:00:00.000Z' } }, true);
  addReceipt('block-prev-changed', 'one hex digit of block.prev changed', { ...receipt, block: { ...b, prev: other(b.prev) } }, true);
  addReceipt('block-height-changed', 'block.height changed', { ...receipt, block: { ...b, height: String(BigInt(b.height) + 1n) } }, true);
  addReceipt('block-first-changed', 'block.first changed (count adjusted so first + count still equals the size)', { ...receipt, block: { ...b, first: String(BigInt(b.first) + 1n), count: String(BigInt(b.count) - 1n) } }, true);
  addReceipt('block-count-changed', 'block.count changed', { ...receipt, block: { ...b, count: String(BigInt(b.count) + 1n) } }, true);
  addReceipt('block-format-removed', 'the format member of a signed block removed (passed off as an unsigned format-1 block)', (() => {
    const { format: _f, ...rest } = b;
    return { ...receipt, block: rest };
  })(), true);
  addReceipt('block-from-another-log-key', "the sealing block of the same entries in a log with the same origin but another key", { ...receipt, block: strangerReceipt().block }, true);
  addReceipt('block-from-another-origin', 'the sealing block of another log (another origin and key)', { ...receipt, block: foreignReceipt().block }, true);
  addReceipt('not-an-object', 'a JSON array instead of a receipt', [receipt], true);

  // tlog-proof probes: the same receipt exported, and a plain one without Guzheng's extra.
  const entryBytes = encodeEntry(log.entries[1]!);
  const exported = receiptToTlogProof(parseReceipt(receipt));
  const plain = formatTlogProof({ index: 1n, inclusionProof: parseReceipt(receipt).inclusionProof, checkpoint: receipt.checkpoint });
  const addTlog = (name: string, desc: string, text: string, entry: Uint8Array, mustFail: boolean, file?: Uint8Array) => {
    queue.push(async () => {
      const report = await verifyTlogProof(text, entry, { trustedKeys: [trustedKey], ...(file ? { content: { bytes: file } } : {}) });
      const got = outcomeOf(report);
      if (got.wantErr !== mustFail) throw new Error(`tlog-proof vector ${name}: verifier disagrees (${JSON.stringify(got)})`);
      set.add(`tlog-proof/${name}`, { desc, trustedKey, tlogProof: text, entryBase64: toBase64(entry), ...(file ? { contentBase64: toBase64(file) } : {}), ...got });
    });
  };
  addTlog('valid-with-extra', 'exported receipt (block in extra) with the entry bytes and file', exported, entryBytes, false, EXAMPLE_DOCUMENT);
  addTlog('valid-plain', 'plain tlog-proof without extra', plain, entryBytes, false);
  addTlog('wrong-entry', 'the entry bytes of another entry', plain, encodeEntry(log.entries[0]!), true);
  addTlog('non-canonical-entry', 'the entry bytes re-serialized with spaces', plain, new TextEncoder().encode(JSON.stringify(log.entries[1], null, 1)), true);
  addTlog('index-leading-zero', 'index 01', plain.replace('\nindex 1\n', '\nindex 01\n'), entryBytes, true);
  addTlog('missing-blank-line', 'no blank line before the checkpoint', plain.replace('\n\n', '\n'), entryBytes, true);
  addTlog('trailing-garbage', 'text after the checkpoint signature', plain + 'garbage\n', entryBytes, true);
  for (const add of queue) await add();

  // The worked example of SPEC.md, as data.
  const first = log.blocks[0]!;
  const second = log.blocks[1]!;
  set.add('example/end-to-end', {
    desc: 'SPEC.md worked example: every value is quoted in SPEC.md and checked byte for byte',
    wantErr: false,
    origin: EXAMPLE_ORIGIN,
    signerKey: EXAMPLE_KEYS.signerKey,
    verifierKey: EXAMPLE_KEYS.verifierKey,
    record: EXAMPLE_RECORD,
    recordCanonical: canonicalJsonText(EXAMPLE_RECORD),
    recordDigest: digestRecord(EXAMPLE_RECORD).hex,
    documentBase64: toBase64(EXAMPLE_DOCUMENT),
    documentDigest: digestBytes(EXAMPLE_DOCUMENT).hex,
    entries: log.entries.slice(0, 3).map((e) => fromUtf8(encodeEntry(e))),
    leafHashes: log.entries.slice(0, 3).map((e) => toHex(hashLeaf(encodeEntry(e)))),
    rootHash: toHex(rootOf(receipt)),
    checkpoint: second.checkpoint,
    genesisBlock: formatBlock(first),
    genesisBlockHash: toHex(blockHash(first)),
    block: formatBlock(second),
    blockHash: toHex(blockHash(second)),
    receipt,
    tlogProof: exported,
  });
}

/** The example's entries logged under a stranger's key with the same origin: its receipt of entry 1. */
function strangerReceipt(): Receipt {
  const stranger = new MiniLog(STRANGER.signerKey, STRANGER.verifierKey, EXAMPLE_ORIGIN);
  const log = buildExampleLog();
  stranger.clock = Date.parse('2026-03-01T00:00:00.000Z');
  stranger.publish();
  for (const e of log.entries) stranger.appendEntry(e);
  stranger.publish();
  return stranger.receipt(1n);
}

/** The example's entries in another log (another origin and key): its receipt of entry 1. */
function foreignReceipt(): Receipt {
  const foreign = new MiniLog(FOREIGN.signerKey, FOREIGN.verifierKey, FOREIGN_ORIGIN);
  const log = buildExampleLog();
  foreign.clock = Date.parse('2026-03-01T00:00:00.000Z');
  foreign.publish();
  for (const e of log.entries) foreign.appendEntry(e);
  foreign.publish();
  return foreign.receipt(1n);
}

function proofHashes(r: Receipt): string[] {
  return r.inclusionProof;
}

function rootOf(r: Receipt): Uint8Array {
  return parseCheckpoint(r.checkpoint.slice(0, r.checkpoint.indexOf('\n\n') + 1)).root;
}

