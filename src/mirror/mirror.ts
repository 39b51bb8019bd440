/**
 * The mirror: copies the log to an object store in the C2SP tlog-tiles layout (src/mirror/
 * layout.ts), write-once, behind the log and never in its way (DESIGN.md §5, docs/scaling.md).
 *
 * The log tells it of each signed checkpoint ({@link Mirror.notify}: it only records the newest
 * target, never waits or throws). A loop then makes passes, each to the newest target:
 *
 * 1. check the target: its signature, and that the stored tree has its root at its size (a
 *    mirror must never publish a checkpoint its tiles contradict);
 * 2. upload, write-once, every object the target needs that the last completed pass did not:
 *    hash tiles and entry bundles (full, and the partial ones of this size) with the attachment
 *    bundles beside them (records, raw HJ 212 packets), block bundles, then the time stamps and
 *    cosignature lines of recent blocks;
 * 3. put the checkpoint object, LAST, so a reader who fetched it finds every tile it names;
 * 4. record the progress durably (record table `mirror`), so a restart resumes from there.
 *
 * A failed pass is retried with exponential backoff; the objects it had already written are
 * skipped on the retry (and if the process died, found present by write-once). Nothing is lost by
 * an outage of any length: the store keeps everything, and the next pass catches up.
 */
import { equalBytes, formatDecimal, parseDecimal, toHex, utf8 } from '../core/bytes.js';
import { blockOfCheckpoint } from '../core/block.js';
import { openCheckpoint } from '../core/checkpoint.js';
import { sha256 } from '../core/crypto.js';
import { CompactRange, rightEdge } from '../core/merkle/compact.js';
import type { TreeHasher } from '../core/merkle/hash.js';
import type { VerifierKey } from '../core/note.js';
import { suiteOfVerifier } from '../core/suite.js';
import type { LedgerStore } from '../storage/store.js';
import { readTileBytes } from '../tiles/read.js';
import { EVIDENCE_WINDOW, EvidenceScanner, type PlannedObject } from './evidence.js';
import {
  ATTACHMENTS_CONTENT_TYPE,
  BLOCKS_CONTENT_TYPE,
  attachmentBundleKey,
  CHECKPOINT_CONTENT_TYPE,
  TILE_CONTENT_TYPE,
  blockBundleKey,
  blockGroupsBetween,
  checkPrefix,
  checkpointKey,
  encodeAttachmentBundle,
  encodeBlockBundle,
  tileKey,
  tilesBetween,
} from './layout.js';
import type { PutOnceResult } from './s3.js';

/** The object store operations the mirror uses (S3ObjectStore, or a fake in tests). */
export interface ObjectStore {
  /** Names the store (bucket and where it is): progress is kept per store and prefix. */
  readonly id: string;
  putOnce(key: string, bytes: Uint8Array, contentType: string): Promise<PutOnceResult>;
  putMutable(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
}

/** A signed checkpoint to mirror: its size and its note (as served at /checkpoint). */
export interface MirrorTarget {
  readonly size: bigint;
  readonly note: string;
}

/** What {@link Mirror.status} reports, for /healthz and metrics. */
export interface MirrorStatus {
  /** `failing`: the last pass failed; `lagging`: behind for longer than `laggingAfterMs`; else `ok`. */
  readonly state: 'ok' | 'lagging' | 'failing';
  /** Entries signed but not yet mirrored (the newest target's size minus {@link uploadedSize}). */
  readonly lagEntries: bigint;
  /** Seconds since the oldest checkpoint not yet mirrored was signed (0 when caught up). */
  readonly lagSeconds: number;
  /** The size of the checkpoint object in the bucket (as far as this mirror knows). */
  readonly uploadedSize: bigint;
  /** Why the last pass failed (absent when it succeeded). */
  readonly lastError?: string;
  /** Passes failed in a row. */
  readonly failures: number;
}

/** What the mirror did since it was opened (for metrics: monotonic counters). */
export interface MirrorCounters {
  /** Objects written to the store (immutable objects and checkpoint replacements). */
  readonly uploads: number;
  /** Immutable objects found already there with the same bytes (a retry after a crash or a lost answer). */
  readonly present: number;
  /** Passes completed. */
  readonly passes: number;
  /** Passes failed (each retried with backoff). */
  readonly failedPasses: number;
}

export interface MirrorOptions {
  readonly store: LedgerStore;
  readonly objects: ObjectStore;
  /** Object name prefix (no leading or trailing slash; '' for the bucket's root). */
  readonly prefix: string;
  /** The log's public key: every target is checked against it. */
  readonly verifier: string | VerifierKey;
  /** Mirror entry bundles (default true; they hold entry metadata, see docs/scaling.md). */
  readonly entries?: boolean;
  /** Uploads in flight at once (default 8). */
  readonly concurrency?: number;
  /** Backoff after a failed pass: from `minMs`, doubling, up to `maxMs` (default 500 ms … 60 s). */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
  /** Report `lagging` once the oldest unmirrored checkpoint is this old (default 60 s). */
  readonly laggingAfterMs?: number;
  /** The clock, in milliseconds (default Date.now). */
  readonly now?: () => number;
  /** Called with one line per event worth logging (a failed pass, a recovery). */
  readonly onEvent?: (line: string) => void;
}

/**
 * The record table where progress is kept, one set of rows per destination (store id and
 * prefix: pointing the mirror at another bucket starts from nothing there), keyed
 * `<store id>/<prefix> <name>` with names {@link PROGRESS}.
 */
export const MIRROR_TABLE = 'mirror';
/** Progress rows: the size of the checkpoint object, the blocks mirrored, where evidence scans start. */
export const PROGRESS = { size: 'uploaded-size', blocks: 'uploaded-blocks', evidenceFrom: 'evidence-from' } as const;
/** Targets remembered for the lag in seconds (the oldest is always kept). */
const MAX_PENDING = 64;

/** progressKey: `<store id>/<prefix> <name>`, or its SHA-256 when that is too long for a record key. */
export function progressKey(o: { readonly objects: { readonly id: string }; readonly prefix: string }, name: string): string {
  const key = `${o.objects.id}/${o.prefix} ${name}`;
  return utf8(key).length <= 256 ? key : `${toHex(sha256(utf8(`${o.objects.id}/${o.prefix}`)))} ${name}`;
}

/**
 * rootAt computes the root of the stored tree at `size` from its stored right-edge nodes (as
 * src/log/recover.ts does; here from core, since the mirror may import the log's types only).
 */
async function rootAt(store: LedgerStore, size: bigint, tree: TreeHasher): Promise<Uint8Array> {
  return CompactRange.fromRightEdge(size, await store.readNodes(rightEdge(size)), tree).root();
}

/** The members a record or HJ 212 entry's canonical JSON holds (the only types stored with an attachment). */
const ATTACHED_TYPES = [utf8('"type":"record"'), utf8('"type":"hj212"')];

/** mayHaveAttachment: the entry's bytes name a type stored with an attachment (a false positive costs one read). */
function mayHaveAttachment(entry: Uint8Array): boolean {
  return ATTACHED_TYPES.some((m) => indexOf(entry, m) >= 0);
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  const first = needle[0] as number;
  outer: for (let i = hay.indexOf(first); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * readAttachmentBundle reads the attachments of entries 256·index … +width-1, encoded as their
 * bundle, or undefined when none of them has one (no object is written then).
 */
async function readAttachmentBundle(store: LedgerStore, index: bigint, width: number): Promise<Uint8Array | undefined> {
  const start = index * 256n;
  const entries = await store.getEntries(start, width);
  if (entries.length !== width) throw new Error(`mirror: got ${entries.length} entries of bundle ${index}, want ${width}`);
  const attachments = await Promise.all(entries.map((e, i) => (mayHaveAttachment(e) ? store.getAttachment(start + BigInt(i)) : Promise.resolve(undefined))));
  return attachments.every((a) => a === undefined) ? undefined : encodeAttachmentBundle(attachments);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Mirror {
  readonly #o: MirrorOptions;
  readonly #now: () => number;
  readonly #evidence: EvidenceScanner;
  #uploadedSize: bigint;
  #uploadedBlocks: bigint;
  #evidenceFrom: bigint;
  /** The note of the checkpoint object this process wrote last (undefined: not known). */
  #uploadedNote: string | undefined;
  #target: MirrorTarget | undefined;
  /** Targets not yet mirrored, ascending size, with when they were notified. */
  #pending: Array<{ size: bigint; at: number }> = [];
  /** Objects written by the current (failing) pass: skipped when it is retried. */
  readonly #written = new Set<string>();
  #failures = 0;
  #lastError: string | undefined;
  #remoteChecked = false;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #passes: Promise<unknown> = Promise.resolve();
  readonly #waiters = new Set<() => void>();
  readonly #counters = { uploads: 0, present: 0, passes: 0, failedPasses: 0 };

  private constructor(o: MirrorOptions, progress: { size: bigint; blocks: bigint; evidenceFrom: bigint }) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#uploadedSize = progress.size;
    this.#uploadedBlocks = progress.blocks;
    this.#evidenceFrom = progress.evidenceFrom;
    this.#evidence = new EvidenceScanner(o.store, o.prefix);
  }

  /** open reads the mirror's progress from the store. Requires: a valid prefix. */
  static async open(o: MirrorOptions): Promise<Mirror> {
    checkPrefix(o.prefix);
    const read = async (name: string): Promise<bigint> => {
      const v = await o.store.getRecord(MIRROR_TABLE, progressKey(o, name));
      return v === undefined ? 0n : parseDecimal(v, `mirror ${name}`);
    };
    return new Mirror(o, { size: await read(PROGRESS.size), blocks: await read(PROGRESS.blocks), evidenceFrom: await read(PROGRESS.evidenceFrom) });
  }

  /** The size of the last checkpoint mirrored. */
  get uploadedSize(): bigint {
    return this.#uploadedSize;
  }

  /**
   * notify records a newly signed checkpoint as the target. Cheap, never throws, never waits:
   * the loop picks it up. A target smaller than the newest known one is ignored.
   */
  notify(target: MirrorTarget): void {
    if (this.#target !== undefined && target.size < this.#target.size) return;
    this.#target = target;
    const last = this.#pending[this.#pending.length - 1];
    if (target.size > this.#uploadedSize && (last === undefined || target.size > last.size)) {
      this.#pending.push({ size: target.size, at: this.#now() });
      if (this.#pending.length > MAX_PENDING) this.#pending.splice(1, 1);
    }
    this.#wake?.();
  }

  /** counters reports what the mirror did since it was opened (a copy). */
  get counters(): MirrorCounters {
    return { ...this.#counters };
  }

  /** status reports how far behind the mirror is and why (for /healthz and metrics). */
  status(): MirrorStatus {
    const targetSize = this.#target?.size ?? this.#uploadedSize;
    const lagEntries = targetSize > this.#uploadedSize ? targetSize - this.#uploadedSize : 0n;
    const oldest = this.#pending[0];
    const lagSeconds = oldest === undefined ? 0 : Math.max(0, (this.#now() - oldest.at) / 1000);
    const lagging = lagSeconds * 1000 >= (this.#o.laggingAfterMs ?? 60_000);
    const state = this.#lastError !== undefined ? 'failing' : lagging ? 'lagging' : 'ok';
    return {
      state,
      lagEntries,
      lagSeconds,
      uploadedSize: this.#uploadedSize,
      failures: this.#failures,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
    };
  }

  /** start runs the loop in the background (idempotent). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** stop ends the loop after the pass in flight (if any) settles. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  /**
   * sync makes one pass to the newest target now, and throws what it fails with (for tests, and
   * for callers that must know, e.g. a strict mode). Passes never overlap: it waits its turn.
   */
  sync(): Promise<void> {
    return this.#serial(() => this.#pass());
  }

  /** waitUploaded resolves once a checkpoint of at least `size` is mirrored, or rejects after `timeoutMs`. */
  waitUploaded(size: bigint, timeoutMs: number): Promise<void> {
    if (this.#uploadedSize >= size) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.#uploadedSize < size) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`mirror: not mirrored up to ${size} entries within ${timeoutMs} ms (at ${this.#uploadedSize}; ${this.#lastError ?? 'no error'})`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#passes.then(f, f);
    this.#passes = run.catch(() => undefined);
    return run;
  }

  #caughtUp(): boolean {
    const t = this.#target;
    return t === undefined || (t.size === this.#uploadedSize && t.note === this.#uploadedNote);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      if (this.#caughtUp()) {
        await new Promise<void>((r) => (this.#wake = r));
        this.#wake = undefined;
        continue;
      }
      try {
        await this.#serial(() => this.#pass());
      } catch {
        // Recorded in status() by #pass; wait before the next try.
        const b = this.#o.backoff ?? { minMs: 500, maxMs: 60_000 };
        const ms = Math.min(b.maxMs, b.minMs * 2 ** Math.min(this.#failures - 1, 30));
        await new Promise<void>((r) => {
          const timer = setTimeout(r, ms);
          this.#wake = () => {
            if (!this.#running) {
              clearTimeout(timer);
              r();
            }
          };
        });
        this.#wake = undefined;
      }
    }
  }

  async #pass(): Promise<void> {
    const target = this.#target;
    if (target === undefined || (target.size === this.#uploadedSize && target.note === this.#uploadedNote)) return;
    try {
      await this.#upload(target);
    } catch (err) {
      this.#failures++;
      this.#counters.failedPasses++;
      const first = this.#lastError === undefined;
      this.#lastError = message(err);
      if (first) this.#o.onEvent?.(`mirror: failing: ${this.#lastError}`);
      throw err;
    }
    if (this.#lastError !== undefined) this.#o.onEvent?.(`mirror: recovered after ${this.#failures} failed attempts; mirrored up to ${target.size} entries`);
    this.#failures = 0;
    this.#lastError = undefined;
    this.#counters.passes++;
  }

  async #upload(target: MirrorTarget): Promise<void> {
    const { store, objects, prefix } = this.#o;
    const cp = openCheckpoint(target.note, this.#o.verifier).checkpoint;
    if (cp.size !== target.size) throw new Error(`mirror: target says size ${target.size}, its checkpoint ${cp.size}`);
    // The bucket's checkpoint never goes back.
    if (cp.size < this.#uploadedSize) throw new Error(`mirror: the target covers ${cp.size} entries, fewer than the ${this.#uploadedSize} already mirrored`);
    const root = await rootAt(store, cp.size, suiteOfVerifier(this.#o.verifier).tree);
    if (!equalBytes(root, cp.root)) throw new Error(`mirror: the stored tree at size ${cp.size} has root ${toHex(root)}, the checkpoint says ${toHex(cp.root)}; nothing mirrored`);
    if (!this.#remoteChecked) await this.#checkRemote(cp.size);

    // The tiles and entry bundles this size adds.
    const planned: Array<() => Promise<PlannedObject | undefined>> = [];
    for (const tile of tilesBetween(this.#uploadedSize, cp.size, this.#o.entries ?? true)) {
      planned.push(async () => {
        const bytes = await readTileBytes(store, tile, cp.size);
        if (bytes === undefined) throw new Error(`mirror: bad math: a tile is unavailable at size ${cp.size}`);
        return { key: tileKey(prefix, tile), bytes, contentType: TILE_CONTENT_TYPE };
      });
      // Beside each entry bundle, its entries' attachments (a restore needs them: docs/scaling.md#layout).
      if (tile.kind === 'entries') {
        planned.push(async () => {
          const bytes = await readAttachmentBundle(store, tile.index, tile.width);
          return bytes === undefined ? undefined : { key: attachmentBundleKey(prefix, tile), bytes, contentType: ATTACHMENTS_CONTENT_TYPE };
        });
      }
    }
    // The blocks up to the one this checkpoint seals (all stored ones for a note without a header).
    const blockCount = await this.#blockCount(target.note);
    for (const group of blockGroupsBetween(this.#uploadedBlocks < blockCount ? this.#uploadedBlocks : blockCount, blockCount)) {
      planned.push(async () => {
        const blocks = await store.getBlocks(group.index * 256n, group.width);
        if (blocks.length !== group.width) throw new Error(`mirror: got ${blocks.length} blocks of group ${group.index}, want ${group.width}`);
        return { key: blockBundleKey(prefix, group), bytes: encodeBlockBundle(blocks), contentType: BLOCKS_CONTENT_TYPE };
      });
    }
    await this.#putAll(planned);
    const evidence = await this.#evidence.plan(this.#evidenceFrom);
    await this.#putAll(evidence.objects.map((o) => () => Promise.resolve(o)));
    evidence.commit();

    // The checkpoint, last; then the progress.
    await objects.putMutable(checkpointKey(prefix), utf8(target.note), CHECKPOINT_CONTENT_TYPE);
    this.#counters.uploads++;
    const evidenceFrom = blockCount > EVIDENCE_WINDOW && blockCount - EVIDENCE_WINDOW > this.#evidenceFrom ? blockCount - EVIDENCE_WINDOW : this.#evidenceFrom;
    const blocks = blockCount > this.#uploadedBlocks ? blockCount : this.#uploadedBlocks;
    await store.putRecords(MIRROR_TABLE, [
      { key: progressKey(this.#o, PROGRESS.size), value: formatDecimal(cp.size) },
      { key: progressKey(this.#o, PROGRESS.blocks), value: formatDecimal(blocks) },
      { key: progressKey(this.#o, PROGRESS.evidenceFrom), value: formatDecimal(evidenceFrom) },
    ]);
    this.#uploadedSize = cp.size;
    this.#uploadedBlocks = blocks;
    this.#uploadedNote = target.note;
    if (evidenceFrom !== this.#evidenceFrom) this.#evidence.forget(evidenceFrom);
    this.#evidenceFrom = evidenceFrom;
    this.#written.clear();
    this.#pending = this.#pending.filter((p) => p.size > cp.size);
    for (const w of [...this.#waiters]) w();
  }

  /** #blockCount: the height after the block sealing `note`, from its signed block header. */
  async #blockCount(note: string): Promise<bigint> {
    try {
      return blockOfCheckpoint(note).height + 1n;
    } catch {
      return this.#o.store.getBlockCount();
    }
  }

  /**
   * #checkRemote, once per process: a checkpoint already in the bucket must be this log's and no
   * larger than the store (else this log was rolled back, or another writer shares the prefix).
   */
  async #checkRemote(size: bigint): Promise<void> {
    const key = checkpointKey(this.#o.prefix);
    const bytes = await this.#o.objects.get(key);
    if (bytes !== undefined) {
      let remote;
      try {
        remote = openCheckpoint(bytes, this.#o.verifier).checkpoint;
      } catch (err) {
        throw new Error(`mirror: the bucket's ${key} is not a checkpoint of this log (${message(err)}): another log shares the prefix?`);
      }
      const stored = await this.#o.store.getSize();
      if (remote.size > stored) throw new Error(`mirror: the bucket's checkpoint covers ${remote.size} entries but the store holds ${stored}: the log was rolled back, or another writer shares the prefix; nothing mirrored`);
      const root = await rootAt(this.#o.store, remote.size, suiteOfVerifier(this.#o.verifier).tree);
      if (!equalBytes(root, remote.root)) throw new Error(`mirror: the bucket's checkpoint of size ${remote.size} has root ${toHex(remote.root)}, the stored tree ${toHex(root)}: a fork; nothing mirrored`);
      if (remote.size > size) throw new Error(`mirror: the bucket's checkpoint covers ${remote.size} entries, more than the target's ${size}: waiting for a newer checkpoint`);
    }
    this.#remoteChecked = true;
  }

  /** #putAll writes objects once, `concurrency` at a time, skipping those this pass already wrote (and plans that make none). */
  async #putAll(planned: ReadonlyArray<() => Promise<PlannedObject | undefined>>): Promise<void> {
    let next = 0;
    let failed: unknown;
    const worker = async (): Promise<void> => {
      while (failed === undefined && next < planned.length) {
        const make = planned[next++] as () => Promise<PlannedObject | undefined>;
        try {
          const o = await make();
          if (o === undefined || this.#written.has(o.key)) continue;
          const result = await this.#o.objects.putOnce(o.key, o.bytes, o.contentType);
          this.#written.add(o.key);
          if (result === 'written') this.#counters.uploads++;
          else this.#counters.present++;
        } catch (err) {
          failed ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.#o.concurrency ?? 8) }, worker));
    if (failed !== undefined) throw failed;
  }
}
