/**
 * Block and block-chain vectors (SPEC.md#blocks): signed (format-2) blocks with every member
 * changed in turn, forgeries re-hashed to keep the chain linked, blocks of other logs, and
 * format-1 chains as logs created before blocks were signed have them, with and without the
 * signed block that follows them after an upgrade.
 */
import { blockHash, formatBlock, parseBlock, verifyBlock, verifyBlockChain, type Block, type BlockJson } from '../../src/core/block.js';
import { toHex } from '../../src/core/bytes.js';
import { generateSignerKey } from '../../src/core/note.js';
import { MiniLog, content } from './mini-log.js';
import { outcomeOf, type VectorSet } from './write.js';

const ORIGIN = 'guzheng.example/blocks';
const KEYS = generateSignerKey(ORIGIN, new Uint8Array(32).map((_, i) => 40 + i));
const OTHER_ORIGIN = 'guzheng.example/elsewhere';
const OTHER = generateSignerKey(OTHER_ORIGIN, new Uint8Array(32).map((_, i) => 90 + i));

/** A log of `rounds` signed blocks after genesis (`legacy` of them format-1 first), 1, 2, … entries each. */
function chainOf(rounds: number, legacy = 0, keys = KEYS, origin = ORIGIN): Block[] {
  const log = new MiniLog(keys.signerKey, keys.verifierKey, origin);
  if (legacy > 0) log.publishLegacy();
  else log.publish();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i <= r; i++) log.appendDocument(content(100 * r + i));
    if (r + 1 < legacy) log.publishLegacy();
    else log.publish();
  }
  return log.blocks;
}

const flipHex = (h: string) => (h[0] === 'a' ? 'b' : 'a') + h.slice(1);
/** One millisecond later: still between the neighbouring blocks' times (they are 250 ms apart). */
const bump = (t: string) => new Date(Date.parse(t) + 1).toISOString();

/** generate adds block/* (one block) and block-chain/* (a contiguous chain from genesis) vectors. */
export function generate(set: VectorSet): void {
  const verifierKey = KEYS.verifierKey;
  const addBlock = (name: string, desc: string, json: BlockJson | Record<string, unknown>, mustFail: boolean) => {
    const got = outcomeOf(() => verifyBlock(parseBlock(json), verifierKey));
    if (got.wantErr !== mustFail) throw new Error(`block vector ${name}: verifier disagrees (${JSON.stringify(got)})`);
    set.add(`block/${name}`, { desc, verifierKey, block: json, ...got });
  };
  const addChain = (name: string, desc: string, blocks: Array<BlockJson | Record<string, unknown>>, mustFail: boolean) => {
    const got = outcomeOf(() => verifyBlockChain(blocks.map(parseBlock), verifierKey));
    if (got.wantErr !== mustFail) throw new Error(`block-chain vector ${name}: verifier disagrees (${JSON.stringify(got)})`);
    set.add(`block-chain/${name}`, { desc, verifierKey, blocks, ...got });
  };

  const chain = chainOf(3);
  const b = formatBlock(chain[2] as Block);
  addBlock('signed-valid', 'a signed (guzheng-block/v2) block', b, false);
  addBlock('signed-genesis', 'the signed genesis block at size 0', formatBlock(chain[0] as Block), false);
  addBlock('time-changed', 'time moved back to 2020', { ...b, time: '2020-01-01T00:00:00.000Z' }, true);
  addBlock('time-changed-forward', 'time moved a year forward', { ...b, time: b.time.replace(/^2026/, '2027') }, true);
  addBlock('prev-changed', 'one hex digit of prev changed', { ...b, prev: flipHex(b.prev) }, true);
  addBlock('height-changed', 'height + 1', { ...b, height: String(BigInt(b.height) + 1n) }, true);
  addBlock('first-changed', 'first + 1 and count − 1 (first + count still the checkpoint size)', { ...b, first: String(BigInt(b.first) + 1n), count: String(BigInt(b.count) - 1n) }, true);
  addBlock('count-changed', 'count + 1', { ...b, count: String(BigInt(b.count) + 1n) }, true);
  addBlock('format-removed', 'the format member removed: a signed block passed off as format 1', (({ format: _f, ...rest }) => rest)(b), true);
  addBlock('header-edited', 'the time in the signed block header edited too (signature broken)', { ...b, time: '2020-01-01T00:00:00.000Z', checkpoint: b.checkpoint.replace(b.time, '2020-01-01T00:00:00.000Z') }, true);
  addBlock('other-log', 'a signed block of another log (another origin and key)', formatBlock(chainOf(3, 0, OTHER, OTHER_ORIGIN)[2] as Block), true);
  const legacy = chainOf(3, 4);
  addBlock('legacy-valid', 'a format-1 block (sealed before blocks were signed): only its checkpoint is authenticated', formatBlock(legacy[2] as Block), false);
  addBlock('legacy-time-changed', 'a format-1 block with its time changed: still valid alone, which is why its time is never shown as verified', { ...formatBlock(legacy[2] as Block), time: '2020-01-01T00:00:00.000Z' }, false);

  // Chains.
  const json = chain.map(formatBlock);
  addChain('signed-valid', 'genesis and three signed blocks', json, false);
  // The forger changes block 2's time and, to keep the chain linked, re-hashes: block 3's prev is
  // set to the altered block's hash. A signed block's hash covers only signed text, so the hash
  // does not even change; the signed header catches the altered member.
  const forged = json.map((x, i) => (i === 2 ? { ...x, time: x.time.replace(/^2026/, '2027') } : x));
  forged[3] = { ...(forged[3] as BlockJson), prev: toHex(blockHash(parseBlock(forged[2]))) };
  addChain('time-changed-rehashed', "block 2's time moved a year forward and block 3's prev re-hashed to match", forged, true);
  addChain('prev-changed', "block 3's prev changed", json.map((x, i) => (i === 3 ? { ...x, prev: flipHex(x.prev) } : x)), true);
  addChain('gap', 'block 2 missing', json.filter((_, i) => i !== 2), true);
  addChain('legacy-valid', 'genesis and three format-1 blocks (a log created before blocks were signed)', legacy.map(formatBlock), false);
  const legacyForged = legacy.map(formatBlock).map((x, i) => (i === 2 ? { ...x, time: bump(x.time) } : x));
  legacyForged[3] = { ...(legacyForged[3] as BlockJson), prev: toHex(blockHash(parseBlock(legacyForged[2]))) };
  addChain(
    'legacy-time-changed-rehashed',
    "format-1 blocks only: block 2's time changed and block 3 re-hashed to match; nothing signed covers format-1 times, so the chain still verifies and verifiers MUST NOT show those times as verified",
    legacyForged,
    false,
  );
  const upgraded = chainOf(4, 3).map(formatBlock);
  addChain('upgraded-valid', 'three format-1 blocks, then signed blocks from the upgrade on (the first links to the last format-1 block)', upgraded, false);
  const upgradedForged = upgraded.map((x, i) => (i === 2 ? { ...x, time: bump(x.time) } : x));
  addChain('upgraded-legacy-time-changed', "the last format-1 block's time changed: the first signed block's signed prev catches it", upgradedForged, true);
  const upgradedRehashed = upgradedForged.map((x) => ({ ...x }));
  upgradedRehashed[3] = { ...(upgradedRehashed[3] as BlockJson), prev: toHex(blockHash(parseBlock(upgradedRehashed[2]))) };
  addChain('upgraded-legacy-time-changed-rehashed', 'as above, with the signed block re-hashed to match: its signed header says otherwise', upgradedRehashed, true);
  const down = new MiniLog(KEYS.signerKey, KEYS.verifierKey, ORIGIN);
  down.publish();
  down.appendDocument(content(1));
  down.publish();
  down.appendDocument(content(2));
  down.publishLegacy();
  addChain('format-1-after-signed', 'a format-1 block after a signed one (a downgrade)', down.blocks.map(formatBlock), true);
}
