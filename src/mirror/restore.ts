/**
 * Restoring a store from the mirror (docs/scaling.md#restore): follow the bucket until the local
 * store holds its signed checkpoint (src/mirror/follow.ts verifies everything on the way), then
 * re-attach the time stamps and cosignature lines, and record the mirror's progress for this
 * bucket so that the restored log, mirroring to it again, continues where it stands instead of
 * re-sending every object. The data directory around the store (the log key, the checkpoint file)
 * is the caller's: `guzheng restore` (src/cli/restore.ts).
 */
import { formatDecimal } from '../core/bytes.js';
import { EVIDENCE_WINDOW } from './evidence.js';
import { Follower, type FollowOptions, type FollowProgress } from './follow.js';
import { MIRROR_TABLE, PROGRESS, progressKey } from './mirror.js';

/** Options of {@link restoreStore}: the follower's, plus a clock for the rates reported. */
export interface RestoreOptions extends Omit<FollowOptions, 'onCommit' | 'onProgress'> {
  /** Progress after each store batch (entries done, rate). */
  readonly onProgress?: (p: RestoreProgress) => void;
  /** Most steps taken while the log grows under the restore (default 20): then it stops where it is. */
  readonly maxSteps?: number;
  /** The clock, in milliseconds (default performance.now). */
  readonly now?: () => number;
}

/** Progress of a restore. */
export interface RestoreProgress extends FollowProgress {
  /** Entries per second since the restore began. */
  readonly entriesPerSecond: number;
  readonly elapsedMs: number;
}

/** What a restore did. */
export interface RestoreResult {
  /** The local size before (0 for a fresh restore; more when resuming) and after. */
  readonly from: bigint;
  readonly size: bigint;
  /** Blocks stored in all (the next height). */
  readonly blocks: bigint;
  readonly blocksRestored: bigint;
  /** Attachments stored (records, raw HJ 212 packets). */
  readonly attachments: number;
  readonly stamps: number;
  readonly cosignatures: number;
  /** The bucket's checkpoint the store now holds, as the bucket has it (with its cosignatures). */
  readonly checkpoint: string;
  /** The last block's checkpoint, as the log signed it (what the service keeps in `<data>/checkpoint`). */
  readonly signedCheckpoint: string;
  /** Objects under the evidence folders that are no evidence names (left alone, reported). */
  readonly stray: readonly string[];
  readonly elapsedMs: number;
  /** Objects read and their bytes. */
  readonly gets: number;
  readonly bytes: number;
}

/**
 * restoreStore brings `o.store` (empty, or a partial restore of the same log) up to the bucket's
 * checkpoint, then stores the bucket's evidence and the mirror's progress. Requires: the store is
 * opened by the caller and is written by nothing else. Throws as {@link Follower.step}.
 */
export async function restoreStore(o: RestoreOptions): Promise<RestoreResult> {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const startSize = await o.store.getSize();
  const startBlocks = await o.store.getBlockCount();
  const follower = await Follower.open({
    ...o,
    onProgress: (p) => {
      const elapsedMs = now() - t0;
      o.onProgress?.({ ...p, elapsedMs, entriesPerSecond: elapsedMs > 0 ? (Number(p.size - startSize) * 1000) / elapsedMs : 0 });
    },
  });
  let last;
  let attachments = 0;
  // A log that grows under the restore moves its checkpoint on: follow it a few times, then stop.
  for (let i = 0; i < (o.maxSteps ?? 20); i++) {
    last = await follower.step();
    attachments += last.attachments;
    if (last.to === last.from) break;
  }
  if (last === undefined) throw new Error('mirror: bad math: no restore step');
  const evidence = await follower.syncEvidence();
  const verified = follower.verified;
  if (verified === undefined) throw new Error('mirror: bad math: restored nothing');
  // The mirror of the restored log, pointed at this bucket, goes on from here.
  const blocks = verified.blocks;
  await o.store.putRecords(MIRROR_TABLE, [
    { key: progressKey({ objects: o.reader.objects, prefix: o.reader.prefix }, PROGRESS.size), value: formatDecimal(verified.size) },
    { key: progressKey({ objects: o.reader.objects, prefix: o.reader.prefix }, PROGRESS.blocks), value: formatDecimal(blocks) },
    { key: progressKey({ objects: o.reader.objects, prefix: o.reader.prefix }, PROGRESS.evidenceFrom), value: formatDecimal(blocks > EVIDENCE_WINDOW ? blocks - EVIDENCE_WINDOW : 0n) },
  ]);
  return {
    from: startSize,
    size: verified.size,
    blocks,
    blocksRestored: blocks - startBlocks,
    attachments,
    stamps: evidence.stamps,
    cosignatures: evidence.cosignatures,
    checkpoint: last.bucket.size === verified.size ? last.bucket.note : verified.note,
    signedCheckpoint: verified.note,
    stray: evidence.stray,
    elapsedMs: now() - t0,
    gets: o.reader.counters.gets,
    bytes: o.reader.counters.bytes,
  };
}
