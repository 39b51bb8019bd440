import { describe, it, expect } from 'vitest';
import { codeOf } from '../support/codes.js';
import { toHex } from '../../src/core/bytes.js';
import { blockHash, formatBlock, parseBlock, sealBlock, verifyBlock, verifyBlockChain, GENESIS_PREV, type Block } from '../../src/core/block.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { canonicalJsonText } from '../../src/core/entry/jcs.js';
import { InconsistencyError, isLedgerError } from '../../src/core/errors.js';
import { sha256 } from '../../src/core/crypto.js';
import { MiniLog, OTHER_KEYS, TEST_KEYS, TEST_ORIGIN, content } from '../../scripts/vectors/mini-log.js';


function chain(): MiniLog {
  const log = new MiniLog();
  log.publish(); // genesis, empty
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i <= round; i++) log.appendDocument(content(round * 10 + i));
    log.publish();
  }
  return log;
}

describe('blocks', () => {
  it('hashes the RFC 8785 JSON with decimal strings, and round-trips', () => {
    const log = chain();
    const b = log.blocks[2]!;
    const json = formatBlock(b);
    expect(Object.values(json).every((v) => typeof v === 'string')).toBe(true);
    expect(toHex(blockHash(b))).toBe(toHex(sha256(new TextEncoder().encode(canonicalJsonText(json)))));
    expect(canonicalJsonText(json).startsWith('{"checkpoint":')).toBe(true);
    expect(parseBlock(JSON.parse(JSON.stringify(json)))).toEqual(b);
  });

  it('seals a genesis block and links every next block', () => {
    const log = chain();
    const [g, b1, b2] = log.blocks as [Block, Block, Block];
    expect(g.height).toBe(0n);
    expect(g.prev).toEqual(GENESIS_PREV);
    expect([g.first, g.count]).toEqual([0n, 0n]);
    expect(b1.prev).toEqual(blockHash(g));
    expect([b1.first, b1.count, b2.first, b2.count]).toEqual([0n, 1n, 1n, 2n]);
    const v = verifyBlockChain(log.blocks, TEST_KEYS.verifierKey, { consistency: log.blocks.map((b, i) => (i === 0 ? undefined : log.consistency(log.blocks[i - 1]!.first + log.blocks[i - 1]!.count, b.first + b.count))) });
    expect(v.checkpoints.map((c) => c.checkpoint.size)).toEqual([0n, 1n, 3n, 6n, 10n]);
    expect(v.tip).toBe(log.blocks[4]);
  });

  it('parses strictly', () => {
    const json = formatBlock(chain().blocks[1]!);
    expect(codeOf(() => parseBlock({ ...json, height: '01' }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, count: 5 }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, prev: json.prev.toUpperCase() }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, time: '2026-11-28T08:00:00Z' }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, extra: '1' }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, first: '18446744073709551615', count: '1' }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, height: '99999999999999999999' }))).toBe('BLOCK_INVALID');
  });

  it('rejects a block whose fields contradict its checkpoint or the key', () => {
    const b = chain().blocks[2]!;
    expect(codeOf(() => verifyBlock(b, TEST_KEYS.verifierKey))).toBe('ok');
    expect(codeOf(() => verifyBlock({ ...b, count: b.count + 1n }, TEST_KEYS.verifierKey))).toBe('BLOCK_INVALID');
    expect(codeOf(() => verifyBlock(b, OTHER_KEYS.verifierKey))).toBe('NOTE_UNVERIFIED');
    expect(codeOf(() => verifyBlock({ ...b, checkpoint: b.checkpoint.replace('\n3\n', '\n4\n') }, TEST_KEYS.verifierKey))).toBe('SIGNATURE_INVALID');
    const g = chain().blocks[0]!;
    expect(codeOf(() => verifyBlock({ ...g, prev: new Uint8Array(32).fill(1) }, TEST_KEYS.verifierKey))).toBe('BLOCK_INVALID');
  });

  it('refuses to seal a block that adds nothing, or an empty tree with a non-empty root', () => {
    const log = chain();
    const tip = log.blocks.at(-1)!;
    expect(codeOf(() => sealBlock(tip, tip.checkpoint, tip.first + tip.count, log.now()))).toBe('BLOCK_INVALID');
    const note = signCheckpoint({ origin: TEST_ORIGIN, size: 0n, root: new Uint8Array(32) }, TEST_KEYS.signerKey);
    expect(codeOf(() => verifyBlock(sealBlock(undefined, note, 0n, log.now()), TEST_KEYS.verifierKey))).toBe('BLOCK_INVALID');
  });

  it('detects gaps, reordering, wrong links and time going backwards', () => {
    const log = chain();
    const bs = log.blocks;
    const k = TEST_KEYS.verifierKey;
    expect(codeOf(() => verifyBlockChain([bs[0]!, bs[2]!], k))).toBe('CHAIN_BROKEN');
    expect(codeOf(() => verifyBlockChain([bs[1]!, bs[0]!], k))).toBe('CHAIN_BROKEN');
    expect(codeOf(() => verifyBlockChain([bs[0]!, { ...bs[1]!, prev: blockHash(bs[1]!) }], k))).toBe('CHAIN_BROKEN');
    expect(codeOf(() => verifyBlockChain([bs[1]!, { ...bs[2]!, time: '2020-01-01T00:00:00.000Z' }], k))).toBe('CHAIN_BROKEN');
    expect(codeOf(() => verifyBlockChain([bs[3]!, bs[4]!], k, { previous: bs[2]! }))).toBe('ok');
    expect(codeOf(() => verifyBlockChain([bs[4]!], k, { previous: bs[2]! }))).toBe('CHAIN_BROKEN');
    expect(codeOf(() => verifyBlockChain([], k))).toBe('INPUT_INVALID');
  });

  it('compares roots with the auditor recomputation', () => {
    const log = chain();
    const wrong = new Uint8Array(32);
    expect(codeOf(() => verifyBlockChain(log.blocks, TEST_KEYS.verifierKey, { rootAt: (s) => (s === 6n ? wrong : undefined) }))).toBe('BLOCK_INVALID');
  });

  it('turns a fork between two signed checkpoints into a fraud proof carrying both notes', () => {
    const log = chain();
    // The operator rewrites leaf 5 and signs a size-10 tree that does not extend its size-6 one.
    const forked = new MiniLog();
    for (let i = 0; i < 10; i++) forked.appendDocument(content(i === 5 ? 999 : i));
    const note = signCheckpoint({ origin: TEST_ORIGIN, size: 10n, root: forked.range.root() }, TEST_KEYS.signerKey);
    const b3 = log.blocks[3]!;
    const bad = sealBlock(b3, note, 10n, log.now());
    const proof = forked.consistency(6n, 10n);
    try {
      verifyBlockChain([bad], TEST_KEYS.verifierKey, { previous: b3, consistency: [proof] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InconsistencyError);
      const e = err as InconsistencyError;
      expect(e.code).toBe('INCONSISTENT');
      expect(e.smaller).toBe(b3.checkpoint);
      expect(e.larger).toBe(note);
      expect(e.proof).toEqual(proof.map(toHex));
    }
  });
});
