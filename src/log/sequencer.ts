/**
 * The single writer (DESIGN.md §3 "src/log"): group commit. Submissions queue; one flush at a
 * time takes whole submissions up to `maxBatchEntries`, hashes their leaves, extends a COPY of the
 * compact range, and hands entries + new nodes + indexes + new size to the store as ONE fsynced
 * batch. Only after that write resolves is the copy adopted and every submission in the flush
 * acknowledged; if it fails, all of them fail and the tree is unchanged. A submission is never
 * split across flushes, so a batch request is all or nothing.
 *
 * After a failed flush the store may come back (LevelStore reopens after a failed write) holding
 * more than the sequencer knows: a write whose fsync failed can still land. So the next flush
 * first re-derives the right edge from storage when the stored size differs; it never goes back.
 */
import { CompactRange, rightEdge } from '../core/merkle/compact.js';
import type { TreeHasher } from '../core/merkle/hash.js';
import type { NodeHash } from '../core/merkle/node.js';
import type { AppendBatch, LedgerStore } from '../storage/store.js';

/** One entry ready to be logged: its exact leaf bytes and what to index with it. */
export interface PendingEntry {
  readonly entryBytes: Uint8Array;
  readonly digest: { readonly alg: string; readonly hex: string };
  readonly attachment?: Uint8Array;
  /** Secondary index keys to list this entry under (see LedgerStore.lookupSecondary). */
  readonly secondary?: ReadonlyArray<{ readonly name: string; readonly key: string }>;
}

/** What the log acknowledges for an entry: durable at `index`. */
export interface Appended {
  readonly index: bigint;
  readonly leafHash: Uint8Array;
}

/** Tuning of the group commit. */
export interface SequencerOptions {
  /** Most entries per flush (a larger single submission still goes alone). Default 4,096. */
  readonly maxBatchEntries?: number;
  /** How long a flush may wait for more submissions after the first arrives. Default 0 ms. */
  readonly maxWaitMs?: number;
  /** Most entries waiting in the queue before submissions are refused (back-pressure). Default 100,000. */
  readonly maxQueuedEntries?: number;
}

/** Thrown when the queue is full; the HTTP layer answers 503 with Retry-After. */
export class OverloadedError extends Error {
  readonly code = 'OVERLOADED';
  constructor(queued: number) {
    super(`log is overloaded: ${queued} entries already queued`);
    this.name = 'OverloadedError';
  }
}

/** Thrown for a submission after close() began: the service is shutting down (503). */
export class LogClosedError extends Error {
  readonly code = 'LOG_CLOSED';
  constructor() {
    super('log is closed');
    this.name = 'LogClosedError';
  }
}

interface Submission {
  readonly items: readonly PendingEntry[];
  resolve(result: Appended[]): void;
  reject(err: unknown): void;
}

/** Statistics for /metrics. */
export interface SequencerStats {
  flushes: number;
  entries: number;
  failedFlushes: number;
  lastFlushEntries: number;
}

export class Sequencer {
  readonly #store: LedgerStore;
  /** The log's tree hashing (SPEC.md#crypto-suites), taken once: leaves and rebuilt ranges use it. */
  readonly #tree: TreeHasher;
  #range: CompactRange;
  readonly #queue: Submission[] = [];
  #queuedEntries = 0;
  #flushing = false;
  #closed = false;
  #idle: Array<() => void> = [];
  readonly #maxBatch: number;
  readonly #maxWait: number;
  readonly #maxQueued: number;
  readonly #listeners: Array<(size: bigint) => void> = [];
  readonly stats: SequencerStats = { flushes: 0, entries: 0, failedFlushes: 0, lastFlushEntries: 0 };

  /**
   * Requires: `range` is the store's current right edge (see recover.ts), hashed with `tree`, the
   * log's suite's tree hashing (SHA-256 for `c2sp`, SM3 for `gm`; SPEC.md#crypto-suites).
   */
  constructor(store: LedgerStore, range: CompactRange, tree: TreeHasher, options: SequencerOptions = {}) {
    this.#store = store;
    this.#tree = tree;
    this.#range = range;
    this.#maxBatch = options.maxBatchEntries ?? 4096;
    this.#maxWait = options.maxWaitMs ?? 0;
    this.#maxQueued = options.maxQueuedEntries ?? 100_000;
  }

  /** The integrated (durable) size. */
  get size(): bigint {
    return this.#range.size;
  }

  /** The root at the integrated size: consistent with `size` (both change only after a write). */
  snapshot(): { size: bigint; root: Uint8Array } {
    return { size: this.#range.size, root: this.#range.root() };
  }

  /** Entries waiting to be written. */
  get queued(): number {
    return this.#queuedEntries;
  }

  /** Call `f` with the new size after every successful flush. */
  onAppend(f: (size: bigint) => void): void {
    this.#listeners.push(f);
  }

  /** submit queues entries as one all-or-nothing unit; resolves once they are durable. */
  submit(items: readonly PendingEntry[]): Promise<Appended[]> {
    if (this.#closed) return Promise.reject(new LogClosedError());
    if (items.length === 0) return Promise.resolve([]);
    if (this.#queuedEntries + items.length > this.#maxQueued) return Promise.reject(new OverloadedError(this.#queuedEntries));
    return new Promise((resolve, reject) => {
      this.#queue.push({ items, resolve, reject });
      this.#queuedEntries += items.length;
      this.#kick();
    });
  }

  /** close refuses new submissions and resolves when the queue has drained. */
  async close(): Promise<void> {
    this.#closed = true;
    if (!this.#flushing && this.#queue.length === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #kick(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    const start = () => void this.#flushLoop();
    if (this.#maxWait > 0) setTimeout(start, this.#maxWait);
    else queueMicrotask(start);
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#flushOnce();
    } finally {
      this.#flushing = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const f of idle) f();
    }
  }

  /**
   * resync adopts the store's size when a write reported as failed landed after all (never
   * shrinks; a store holding less than was acknowledged is an error). Safe at any time: it gives
   * way if the range moved on while it read.
   */
  async resync(): Promise<void> {
    const before = this.#range;
    const stored = await this.#store.getSize();
    if (stored === before.size) return;
    if (stored < before.size) throw new Error(`sequencer: the store holds ${stored} entries but ${before.size} were acknowledged; refusing to write`);
    const edge = await this.#store.readNodes(rightEdge(stored));
    if (this.#range !== before) return;
    this.#range = CompactRange.fromRightEdge(stored, edge, this.#tree);
    for (const f of this.#listeners) f(this.#range.size);
  }

  async #flushOnce(): Promise<void> {
    if (this.stats.failedFlushes > 0) {
      try {
        await this.resync();
      } catch (err) {
        const taken = this.#queue.splice(0);
        this.#queuedEntries = 0;
        for (const s of taken) s.reject(err);
        return;
      }
    }
    // Whole submissions up to maxBatch entries (at least one), taken off the queue in one splice.
    const queue = this.#queue;
    let take = 0;
    let count = 0;
    while (take < queue.length) {
      const k = (queue[take] as Submission).items.length;
      if (take > 0 && count + k > this.#maxBatch) break;
      count += k;
      take++;
    }
    const taken = queue.splice(0, take);
    this.#queuedEntries -= count;
    const first = this.#range.size;
    const range = this.#range.clone();
    const entries: Uint8Array[] = new Array(count);
    const leafHashes: Uint8Array[] = new Array(count);
    const nodes: NodeHash[] = [];
    const digests: Array<{ alg: string; hex: string; index: bigint }> = new Array(count);
    const attachments: Array<{ index: bigint; bytes: Uint8Array }> = [];
    const secondary: Array<{ name: string; key: string; index: bigint }> = [];
    const tree = this.#tree;
    let at = 0;
    for (let t = 0; t < taken.length; t++) {
      const items = (taken[t] as Submission).items;
      for (let j = 0; j < items.length; j++, at++) {
        const item = items[j] as PendingEntry;
        const leaf = tree.hashLeaf(item.entryBytes);
        entries[at] = item.entryBytes;
        leafHashes[at] = leaf;
        // The range's size before the append is this entry's index: one bigint per entry, shared
        // by its leaf node, digest, attachment, secondary keys and acknowledgement.
        const index = range.appendTo(leaf, nodes);
        digests[at] = { alg: item.digest.alg, hex: item.digest.hex, index };
        if (item.attachment !== undefined) attachments.push({ index, bytes: item.attachment });
        const sec = item.secondary;
        if (sec !== undefined) for (const x of sec) secondary.push({ name: x.name, key: x.key, index });
      }
    }
    const batch: AppendBatch = { first, entries, leafHashes, nodes, digests, attachments, secondary };
    try {
      await this.#store.appendBatch(batch);
    } catch (err) {
      this.stats.failedFlushes++;
      for (const s of taken) s.reject(err);
      return;
    }
    this.#range = range;
    this.stats.flushes++;
    this.stats.entries += count;
    this.stats.lastFlushEntries = count;
    at = 0;
    for (let t = 0; t < taken.length; t++) {
      const s = taken[t] as Submission;
      const n = s.items.length;
      const out: Appended[] = new Array(n);
      for (let i = 0; i < n; i++, at++) out[i] = { index: (digests[at] as { index: bigint }).index, leafHash: leafHashes[at] as Uint8Array };
      s.resolve(out);
    }
    for (const f of this.#listeners) f(this.#range.size);
  }
}
