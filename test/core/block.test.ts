import { describe, it, expect } from 'vitest';
import { codeOf } from '../support/codes.js';
import { toHex } from '../../src/core/bytes.js';
import { blockHash, blockOfCheckpoint, formatBlock, parseBlock, sealBlock, verifyBlock, verifyBlockChain, GENESIS_PREV, type Block } from '../../src/core/block.js';
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

function legacyChain(): MiniLog {
  const log = new MiniLog();
  log.publishLegacy();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i <= round; i++) log.appendDocument(content(round * 10 + i));
    log.publishLegacy();
  }
  return log;
}

const k = TEST_KEYS.verifierKey;

describe('signed (format-2) blocks', () => {
  it('carry every member in the signed block header, and hash the signed checkpoint text', () => {
    const log = chain();
    const b = log.blocks[2]!;
    const json = formatBlock(b);
    expect(json.format).toBe('guzheng-block/v2');
    expect(Object.keys(json)).toEqual(['format', 'height', 'prev', 'time', 'first', 'count', 'checkpoint']);
    const text = b.checkpoint.slice(0, b.checkpoint.lastIndexOf('\n\n') + 1);
    expect(text.split('\n')[3]).toBe(`guzheng-block/v2 2 1 ${b.time} ${toHex(b.prev)}`);
    expect(toHex(blockHash(b))).toBe(toHex(sha256(new TextEncoder().encode(text))));
    expect(parseBlock(JSON.parse(JSON.stringify(json)))).toEqual(b);
    // Cosignatures appended to the note later do not change the block hash.
    expect(blockHash({ ...b, checkpoint: b.checkpoint + '— witness.example/w1 AAAAAAAA\n' })).toEqual(blockHash(b));
  });

  it('seal a genesis block and link every next block', () => {
    const log = chain();
    const [g, b1, b2] = log.blocks as [Block, Block, Block];
    expect(g.height).toBe(0n);
    expect(g.prev).toEqual(GENESIS_PREV);
    expect([g.first, g.count]).toEqual([0n, 0n]);
    expect(b1.prev).toEqual(blockHash(g));
    expect([b1.first, b1.count, b2.first, b2.count]).toEqual([0n, 1n, 1n, 2n]);
    const v = verifyBlockChain(log.blocks, k, { consistency: log.blocks.map((b, i) => (i === 0 ? undefined : log.consistency(log.blocks[i - 1]!.first + log.blocks[i - 1]!.count, b.first + b.count))) });
    expect(v.checkpoints.map((c) => c.checkpoint.size)).toEqual([0n, 1n, 3n, 6n, 10n]);
    expect(v.tip).toBe(log.blocks[4]);
  });

  it('parse strictly', () => {
    const json = formatBlock(chain().blocks[1]!);
    expect(codeOf(() => parseBlock({ ...json, height: '01' }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, count: 5 }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, prev: json.prev.toUpperCase() }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, time: '2026-11-28T08:00:00Z' }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, extra: '1' }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, format: 'guzheng-block/v3' }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, first: '18446744073709551615', count: '1' }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => parseBlock({ ...json, height: '99999999999999999999' }))).toBe('BLOCK_INVALID');
  });

  it('catch every member changed, even with the block re-hashed, and a signed block passed off as format 1', () => {
    const log = chain();
    const b = log.blocks[3]!;
    expect(codeOf(() => verifyBlock(b, k))).toBe('ok');
    for (const changed of [
      { ...b, time: '2020-01-01T00:00:00.000Z' },
      { ...b, prev: new Uint8Array(32).fill(0xab) },
      { ...b, height: b.height + 1n },
      { ...b, first: b.first + 1n, count: b.count - 1n },
      { ...b, count: b.count + 1n },
      { ...b, format: 1 as const },
    ]) {
      expect(codeOf(() => verifyBlock(changed, k))).toBe('BLOCK_INVALID');
      // The hash of a signed block covers only signed text: re-hashing cannot launder a change.
      expect(blockHash({ ...changed, format: 2 })).toEqual(blockHash(b));
    }
    expect(codeOf(() => verifyBlock(b, OTHER_KEYS.verifierKey))).toBe('NOTE_UNVERIFIED');
    expect(codeOf(() => verifyBlock({ ...b, checkpoint: b.checkpoint.replace(`${b.time}`, '2020-01-01T00:00:00.000Z') }, k))).toBe('SIGNATURE_INVALID');
    const g = log.blocks[0]!;
    expect(codeOf(() => verifyBlock({ ...g, prev: new Uint8Array(32).fill(1) }, k))).toBe('BLOCK_INVALID');
  });

  it('rebuild from a checkpoint note alone (blockOfCheckpoint)', () => {
    const log = chain();
    for (const b of log.blocks) expect(blockOfCheckpoint(b.checkpoint)).toEqual(b);
    expect(codeOf(() => blockOfCheckpoint(signCheckpoint({ origin: TEST_ORIGIN, size: 1n, root: new Uint8Array(32) }, TEST_KEYS.signerKey)))).toBe('BLOCK_INVALID');
  });

  it('refuse to seal a block that adds nothing, or an empty tree with a non-empty root', () => {
    const log = chain();
    const tip = log.blocks.at(-1)!;
    const size = tip.first + tip.count;
    expect(codeOf(() => sealBlock(tip, { signer: TEST_KEYS.signerKey, size, root: log.range.root(), time: log.now() }))).toBe('BLOCK_INVALID');
    expect(codeOf(() => verifyBlock(sealBlock(undefined, { signer: TEST_KEYS.signerKey, size: 0n, root: new Uint8Array(32), time: log.now() }), k))).toBe('BLOCK_INVALID');
  });

  it('detect gaps, reordering, wrong links, time going backwards and a return to format 1', () => {
    const log = chain();
    const bs = log.blocks;
    expect(codeOf(() => verifyBlockChain([bs[0]!, bs[2]!], k))).toBe('CHAIN_BROKEN');
    expect(codeOf(() => verifyBlockChain([bs[1]!, bs[0]!], k))).toBe('CHAIN_BROKEN');
    expect(codeOf(() => verifyBlockChain([bs[3]!, bs[4]!], k, { previous: bs[2]! }))).toBe('ok');
    expect(codeOf(() => verifyBlockChain([bs[4]!], k, { previous: bs[2]! }))).toBe('CHAIN_BROKEN');
    expect(codeOf(() => verifyBlockChain([], k))).toBe('INPUT_INVALID');
    // A signed block followed by a format-1 one (an old-style block sealed after the upgrade).
    const legacy = new MiniLog();
    legacy.publish();
    legacy.appendDocument(content(1));
    legacy.publishLegacy();
    expect(codeOf(() => verifyBlockChain(legacy.blocks, k))).toBe('CHAIN_BROKEN');
  });

  it('compare roots with the auditor recomputation', () => {
    const log = chain();
    const wrong = new Uint8Array(32);
    expect(codeOf(() => verifyBlockChain(log.blocks, k, { rootAt: (s) => (s === 6n ? wrong : undefined) }))).toBe('BLOCK_INVALID');
  });

  it('turn a fork between two signed checkpoints into a fraud proof carrying both notes', () => {
    const log = chain();
    // The operator rewrites leaf 5 and signs a size-10 tree that does not extend its size-6 one.
    const forked = new MiniLog();
    for (let i = 0; i < 10; i++) forked.appendDocument(content(i === 5 ? 999 : i));
    const b3 = log.blocks[3]!;
    const bad = sealBlock(b3, { signer: TEST_KEYS.signerKey, size: 10n, root: forked.range.root(), time: log.now() });
    const proof = forked.consistency(6n, 10n);
    try {
      verifyBlockChain([bad], k, { previous: b3, consistency: [proof] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InconsistencyError);
      const e = err as InconsistencyError;
      expect(e.code).toBe('INCONSISTENT');
      expect(e.smaller).toBe(b3.checkpoint);
      expect(e.larger).toBe(bad.checkpoint);
      expect(e.proof).toEqual(proof.map(toHex));
    }
  });
});

describe('format-1 blocks (logs created before blocks were signed)', () => {
  it('hash the RFC 8785 JSON, have no format member, and verify as before', () => {
    const log = legacyChain();
    const b = log.blocks[2]!;
    const json = formatBlock(b);
    expect(b.format).toBe(1);
    expect('format' in json).toBe(false);
    expect(toHex(blockHash(b))).toBe(toHex(sha256(new TextEncoder().encode(canonicalJsonText(json)))));
    expect(canonicalJsonText(json).startsWith('{"checkpoint":')).toBe(true);
    expect(parseBlock(JSON.parse(JSON.stringify(json)))).toEqual(b);
    expect(codeOf(() => verifyBlockChain(log.blocks, k))).toBe('ok');
  });

  it('authenticate only their checkpoint: time, prev and height are unsigned and need the chain', () => {
    const log = legacyChain();
    const b = log.blocks[2]!;
    // Alone, a format-1 block with a changed time still verifies: verifiers never show that time as verified.
    expect(codeOf(() => verifyBlock({ ...b, time: '2020-01-01T00:00:00.000Z' }, k))).toBe('ok');
    expect(codeOf(() => verifyBlock({ ...b, count: b.count + 1n }, k))).toBe('BLOCK_INVALID');
    // In a chain, the change breaks the next link.
    const bs = log.blocks;
    expect(codeOf(() => verifyBlockChain([bs[1]!, { ...bs[2]!, time: '2020-01-01T00:00:00.000Z' }], k))).toBe('CHAIN_BROKEN');
    expect(codeOf(() => verifyBlockChain([bs[0]!, { ...bs[1]!, prev: blockHash(bs[1]!) }], k))).toBe('CHAIN_BROKEN');
    expect(codeOf(() => verifyBlockChain([{ ...bs[1]!, time: '2026-11-28T08:00:00.999Z' }, bs[2]!], k))).toBe('CHAIN_BROKEN');
  });

  it('are followed by signed blocks after an upgrade: the first signed block links to the last format-1 block', () => {
    const log = legacyChain();
    log.appendDocument(content(100));
    const signed = log.publish();
    const last = log.blocks.at(-2)!;
    expect(signed.format).toBe(2);
    expect(signed.prev).toEqual(blockHash(last));
    expect(codeOf(() => verifyBlockChain(log.blocks, k))).toBe('ok');
    // Changing the last format-1 block now breaks the signed link that follows it.
    expect(codeOf(() => verifyBlockChain([{ ...last, time: '2026-11-28T08:00:00.999Z' }, signed], k))).toBe('CHAIN_BROKEN');
  });
});
