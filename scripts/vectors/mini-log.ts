/**
 * A small in-memory log assembled from core pieces only (compact range, checkpoints, blocks,
 * receipts), for the vectors, the worked example and the tests, without storage or HTTP. The real log
 * (src/log) does the same over LevelDB.
 */
import { formatReceivedAt, newEntry, digestBytes, encodeEntry, type Entry } from '../../src/core/entry/index.js';
import { CompactRange, buildProof, planConsistency, planInclusion, type NodeId } from '../../src/core/merkle/index.js';
import { suiteOfSigner, type CryptoSuite } from '../../src/core/suite.js';
import { generateSignerKey } from '../../src/core/note.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { sealBlock, sealLegacyBlock, type Block } from '../../src/core/block.js';
import { buildReceipt, type Receipt } from '../../src/core/receipt.js';

export const TEST_ORIGIN = 'guzheng.test/log';
export const TEST_KEYS = generateSignerKey(TEST_ORIGIN, new Uint8Array(32).fill(7));
export const OTHER_KEYS = generateSignerKey(TEST_ORIGIN, new Uint8Array(32).fill(9));
/** A gm (SM3/SM2) log's keys, for the 国密 vectors and tests (SPEC.md#crypto-suites). */
export const GM_ORIGIN = 'guzheng.test/gm-log';
export const GM_KEYS = generateSignerKey(GM_ORIGIN, new Uint8Array(32).fill(7), 'sm2');

export class MiniLog {
  /** The log's crypto suite: its key's. */
  readonly suite: CryptoSuite;
  readonly range: CompactRange;
  readonly nodes = new Map<string, Uint8Array>();
  readonly entries: Entry[] = [];
  readonly blocks: Block[] = [];
  clock = Date.parse('2026-11-28T08:00:00.000Z');

  constructor(readonly signerKey = TEST_KEYS.signerKey, readonly verifierKey = TEST_KEYS.verifierKey, readonly origin = TEST_ORIGIN) {
    this.suite = suiteOfSigner(signerKey);
    this.range = CompactRange.empty(this.suite.tree);
  }

  now(): string {
    this.clock += 250;
    return formatReceivedAt(new Date(this.clock));
  }

  /** Append a document entry for `content`; returns its index. */
  appendDocument(content: Uint8Array, name = 'doc.pdf'): bigint {
    const entry = newEntry({
      type: 'document',
      digest: digestBytes(content, this.suite.digestAlg),
      meta: { name, mediaType: 'application/pdf', size: content.length, caseId: '衡环罚〔2026〕12号' },
      submitter: 'officer-01',
      receivedAt: this.now(),
    });
    return this.appendEntry(entry);
  }

  /** Append any valid entry; returns its index. */
  appendEntry(entry: Entry): bigint {
    const index = this.range.size;
    this.entries.push(entry);
    for (const n of this.range.append(this.suite.tree.hashLeaf(encodeEntry(entry)))) this.nodes.set(`${n.level}/${n.index}`, n.hash);
    return index;
  }

  read(ids: readonly NodeId[]): Uint8Array[] {
    return ids.map((id) => this.nodes.get(`${id.level}/${id.index}`)!);
  }

  /** Sign a checkpoint for the current size and seal it in a (format-2, signed) block. */
  publish(): Block {
    const block = sealBlock(this.blocks.at(-1), { signer: this.signerKey, size: this.range.size, root: this.range.root(), time: this.now() });
    this.blocks.push(block);
    return block;
  }

  /** Seal a format-1 block, as logs did before blocks were signed (for the format-1 vectors and upgrade tests). */
  publishLegacy(): Block {
    const note = signCheckpoint({ origin: this.origin, size: this.range.size, root: this.range.root() }, this.signerKey);
    const block = sealLegacyBlock(this.blocks.at(-1), note, this.range.size, this.now());
    this.blocks.push(block);
    return block;
  }

  inclusion(index: bigint, size: bigint): Uint8Array[] {
    const p = planInclusion(index, size);
    // The ephemeral group (a ragged right edge) is folded with the log's hash: SM3 in a gm log.
    return buildProof(p, this.read(p.ids), this.suite.tree);
  }

  consistency(size1: bigint, size2: bigint): Uint8Array[] {
    const p = planConsistency(size1, size2);
    return buildProof(p, this.read(p.ids), this.suite.tree);
  }

  /** The receipt of `index` against the latest block's checkpoint. */
  receipt(index: bigint): Receipt {
    const latest = this.blocks.at(-1)!;
    const size = latest.first + latest.count;
    const sealing = this.blocks.find((b) => index >= b.first && index < b.first + b.count)!;
    const sealSize = sealing.first + sealing.count;
    return buildReceipt({
      index,
      entry: this.entries[Number(index)] as unknown as Record<string, unknown>,
      inclusionProof: this.inclusion(index, size),
      checkpoint: latest.checkpoint,
      block: sealing,
      blockConsistency: this.consistency(sealSize, size),
      timestamp: null,
      verifierKey: this.verifierKey,
    });
  }
}

/**
 * threeBlockLog is the common fixture: genesis, a block sealing 5 documents, one sealing 7 more,
 * and the receipt of entry 3 against the latest checkpoint (block 1 seals it).
 */
export function threeBlockLog(): { log: MiniLog; receipt: Receipt } {
  const log = new MiniLog();
  log.publish();
  for (let i = 0; i < 5; i++) log.appendDocument(content(i));
  log.publish();
  for (let i = 5; i < 12; i++) log.appendDocument(content(i));
  log.publish();
  return { log, receipt: log.receipt(3n) };
}

/** Deterministic test content i. */
export function content(i: number): Uint8Array {
  return new TextEncoder().encode(`%PDF-1.7 test document ${i}\n`);
}
