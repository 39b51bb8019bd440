/**
 * Bundles for tests: a MiniLog (scripts/vectors/mini-log.ts) of 12 documents of one case in
 * three blocks, and bundles built from it with the core only.
 */
import { buildBundle, type BundleItemParts } from '../../src/core/bundle.js';
import { MiniLog, TEST_KEYS, content } from '../../scripts/vectors/mini-log.js';

export const CASE = '衡环罚〔2026〕12号';

/** The receipt parts of `index` against the latest block's checkpoint of `log`. */
export function itemParts(log: MiniLog, index: bigint): BundleItemParts {
  const latest = log.blocks.at(-1)!;
  const size = latest.first + latest.count;
  const sealing = log.blocks.find((b) => index >= b.first && index < b.first + b.count)!;
  const entry = log.entries[Number(index)]!;
  return {
    index,
    entry: entry as unknown as Record<string, unknown>,
    decoded: entry,
    inclusionProof: log.inclusion(index, size),
    checkpoint: latest.checkpoint,
    block: sealing,
    blockConsistency: log.consistency(sealing.first + sealing.count, size),
    timestamp: null,
  };
}

/** A log of 12 documents in three blocks (5 + 7 after genesis), and a bundle of items 1, 3 and 8. */
export function setup(indexes: bigint[] = [8n, 1n, 3n]) {
  const log = new MiniLog();
  log.publish();
  for (let i = 0; i < 5; i++) log.appendDocument(content(i), `doc-${i}.pdf`);
  log.publish();
  for (let i = 5; i < 12; i++) log.appendDocument(content(i), `doc-${i}.pdf`);
  log.publish();
  const bundle = buildBundle({
    caseId: CASE,
    createdAt: '2026-11-28T09:00:00.000Z',
    verifierKey: TEST_KEYS.verifierKey,
    checkpoint: log.blocks.at(-1)!.checkpoint,
    items: indexes.map((i) => itemParts(log, i)),
  });
  return { log, bundle };
}

