/**
 * The publisher (DESIGN.md §3): signs a C2SP checkpoint for the integrated size and seals it in
 * the next block, at most once per `intervalMs` and only when the size changed; while a client
 * waits for a receipt (`?wait=receipt`), at most once per `waitIntervalMs` instead, so a receipt
 * costs tens of milliseconds, not a whole interval. Before signing it
 * proves, from stored nodes, that the new tree extends the last signed one, so the log can never
 * sign two inconsistent checkpoints, even if a bug elsewhere corrupted its in-memory state.
 */
import { formatBlock, parseBlock, sealBlock, verifyBlock, verifyBlockChain, type Block } from '../core/block.js';
import { equalBytes } from '../core/bytes.js';
import { openCheckpoint, type OpenedCheckpoint } from '../core/checkpoint.js';
import { formatReceivedAt } from '../core/entry/text.js';
import { buildProof, planConsistency } from '../core/merkle/plan.js';
import type { TreeHasher } from '../core/merkle/hash.js';
import { verifyConsistency } from '../core/merkle/verify.js';
import type { SignerKey, VerifierKey } from '../core/note.js';
import { suiteOfKey } from '../core/suite.js';
import type { LedgerStore } from '../storage/store.js';
import { rootAt } from './recover.js';
import { LogClosedError, type Sequencer } from './sequencer.js';

export interface PublisherOptions {
  readonly store: LedgerStore;
  readonly sequencer: Sequencer;
  /**
   * The log's signer key. Absent for a read replica (docs/scaling.md#read-replicas): it never
   * signs, never seals a block; its blocks are the primary's, verified and handed to {@link Publisher.adopt}.
   */
  readonly signer?: SignerKey;
  readonly verifier: VerifierKey;
  readonly intervalMs: number;
  /** Minimum interval between checkpoints while someone waits for one (ms); default and cap: `intervalMs`. */
  readonly waitIntervalMs?: number;
  readonly clock: () => Date;
  readonly lastBlock?: Block;
  readonly lastCheckpoint?: OpenedCheckpoint;
  /** Called after each publication, once the block is durable (errors it throws are ignored). */
  readonly onPublish?: (published: Published) => void;
}

/** The latest published state: the block and its opened checkpoint. */
export interface Published {
  readonly block: Block;
  readonly checkpoint: OpenedCheckpoint;
}

/** No checkpoint covered the awaited size in time (the entry is durable all the same). */
export class WaitTimeoutError extends Error {
  readonly code = 'WAIT_TIMEOUT';
  constructor(size: bigint, timeoutMs: number) {
    super(`no checkpoint covered size ${size} within ${timeoutMs} ms`);
    this.name = 'WaitTimeoutError';
  }
}

interface Waiter {
  readonly size: bigint;
  resolve(p: Published): void;
  reject(err: unknown): void;
}

export class Publisher {
  readonly #o: PublisherOptions;
  /** The tree hashing of the log's suite, from its key (SPEC.md#crypto-suites). */
  readonly #tree: TreeHasher;
  #latest: Published | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the pending timer fires (Date.now() ms). */
  #timerAt = 0;
  #running: Promise<void> | undefined;
  #lastPublishAt = 0;
  #stopped = false;
  #waiters: Waiter[] = [];
  /** Published blocks since start (for /metrics). */
  published = 0;
  lastError: Error | undefined;

  constructor(o: PublisherOptions) {
    this.#o = o;
    this.#tree = suiteOfKey(o.verifier).tree;
    if (o.lastBlock && o.lastCheckpoint) this.#latest = { block: o.lastBlock, checkpoint: o.lastCheckpoint };
    o.sequencer.onAppend(() => this.#schedule());
  }

  /** The latest published block and checkpoint, if any. */
  get latest(): Published | undefined {
    return this.#latest;
  }

  /** start publishes the genesis block if there is none, then follows appends (a replica: nothing). */
  async start(): Promise<void> {
    if (this.#o.signer === undefined) return;
    if (this.#latest === undefined || this.#latest.checkpoint.checkpoint.size < this.#o.sequencer.size) await this.publishNow();
  }

  /** waitFor resolves once a published checkpoint covers `size` entries (or rejects after `timeoutMs`). */
  waitFor(size: bigint, timeoutMs: number): Promise<Published> {
    const l = this.#latest;
    if (l && l.checkpoint.checkpoint.size >= size) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const w: Waiter = { size, resolve, reject };
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        reject(new WaitTimeoutError(size, timeoutMs));
      }, timeoutMs);
      this.#waiters.push({ size, resolve: (p) => (clearTimeout(t), resolve(p)), reject: (e) => (clearTimeout(t), reject(e)) });
      // The size may already be integrated with a publication due a whole interval later: bring it forward.
      if (size <= this.#o.sequencer.size) this.#schedule();
    });
  }

  /** The interval in force: shorter while someone waits for a checkpoint. */
  #interval(): number {
    const wait = this.#o.waitIntervalMs;
    return this.#waiters.length > 0 && wait !== undefined ? Math.min(wait, this.#o.intervalMs) : this.#o.intervalMs;
  }

  #schedule(): void {
    if (this.#stopped || this.#o.signer === undefined) return;
    const at = Math.max(Date.now(), this.#lastPublishAt + this.#interval());
    if (this.#timer !== undefined) {
      if (this.#timerAt <= at) return;
      clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.publishNow().catch((err: unknown) => {
        this.lastError = err instanceof Error ? err : new Error(String(err));
        // Retry later: a transient storage error must not stop publishing for good.
        if (!this.#stopped) setTimeout(() => this.#schedule(), this.#o.intervalMs);
      });
    }, at - Date.now());
  }

  /** publishNow signs and seals the current size unless it is already published. Serialized. */
  async publishNow(): Promise<Published | undefined> {
    while (this.#running) await this.#running;
    let done!: () => void;
    this.#running = new Promise((r) => (done = r));
    try {
      return await this.#publish();
    } catch (err) {
      // Remembered for /healthz, and so the next attempt first resyncs with the store.
      this.lastError = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      this.#running = undefined;
      done();
    }
  }

  /**
   * #resync runs after a failed publication: the block write may have landed after all (the
   * store reopens after a failed write and can find it). Then that block is the latest: it is
   * verified (signature, and root against the stored tree) and adopted, so the chain goes on from
   * it instead of sealing a second block at the same height. Blocks never go back.
   */
  async #resync(): Promise<void> {
    const { store, verifier } = this.#o;
    await this.#o.sequencer.resync();
    const count = await store.getBlockCount();
    const next = this.#latest === undefined ? 0n : this.#latest.block.height + 1n;
    if (count === next) return;
    if (count < next) throw new Error(`publisher: the store holds ${count} blocks but block ${next - 1n} was published; refusing to sign`);
    const json = await store.getBlock(count - 1n);
    if (json === undefined) throw new Error(`publisher: block ${count - 1n} missing`);
    const block = parseBlock(json);
    const checkpoint = verifyBlock(block, verifier);
    if (checkpoint.checkpoint.size > this.#o.sequencer.size || !equalBytes(await rootAt(store, checkpoint.checkpoint.size, this.#tree), checkpoint.checkpoint.root)) {
      throw new Error(`publisher: stored block ${block.height} does not match the stored tree; refusing to sign`);
    }
    this.#latest = { block, checkpoint };
    this.#resolveWaiters(this.#latest);
    try {
      this.#o.onPublish?.(this.#latest);
    } catch {
      // Best effort, as after a publication.
    }
  }

  #resolveWaiters(published: Published): void {
    const size = published.checkpoint.checkpoint.size;
    const ready = this.#waiters.filter((w) => w.size <= size);
    this.#waiters = this.#waiters.filter((w) => w.size > size);
    for (const w of ready) w.resolve(published);
  }

  async #publish(): Promise<Published | undefined> {
    const { store, sequencer, signer, verifier, clock } = this.#o;
    if (signer === undefined) return undefined;
    if (this.lastError !== undefined) await this.#resync();
    const snap = sequencer.snapshot();
    const prev = this.#latest;
    if (prev && prev.checkpoint.checkpoint.size === snap.size) return undefined;
    if (prev) {
      const old = prev.checkpoint.checkpoint;
      if (snap.size < old.size) throw new Error(`publisher: size went back from ${old.size} to ${snap.size}; refusing to sign`);
      const plan = planConsistency(old.size, snap.size);
      // Throws PROOF_INVALID rather than sign a checkpoint inconsistent with the last one.
      verifyConsistency(old.size, snap.size, buildProof(plan, await store.readNodes(plan.ids), this.#tree), old.root, snap.root, this.#tree);
    }
    const now = formatReceivedAt(clock());
    // Every block from here on is signed (format 2), also the first one after a format-1 chain.
    const block = sealBlock(prev?.block, { signer, size: snap.size, root: snap.root, time: prev && prev.block.time > now ? prev.block.time : now });
    await store.appendBlock(formatBlock(block));
    const published: Published = { block, checkpoint: openCheckpoint(block.checkpoint, verifier) };
    this.#latest = published;
    this.#lastPublishAt = Date.now();
    this.published++;
    this.lastError = undefined;
    this.#resolveWaiters(published);
    try {
      this.#o.onPublish?.(published);
    } catch {
      // Best effort: the block is durable in the store whatever a listener does.
    }
    if (sequencer.size > snap.size) this.#schedule();
    return published;
  }

  /**
   * adopt makes `block`, the primary's, this read replica's latest: it must follow the latest
   * (height, prev, first: SPEC.md#block-validity), verify under the log's key, and its checkpoint
   * must be the stored tree's root at its size (the entries are stored first). Waiters and
   * onPublish are told as after a publication. Only a publisher without a signer adopts: a log
   * that signs never takes another's blocks.
   */
  async adopt(block: Block): Promise<Published> {
    if (this.#o.signer !== undefined) throw new Error('publisher: a signing log adopts no block');
    const { store, verifier } = this.#o;
    const prev = this.#latest?.block;
    const { checkpoints } = verifyBlockChain([block], verifier, prev === undefined ? {} : { previous: prev });
    const checkpoint = checkpoints[0] as OpenedCheckpoint;
    if (prev === undefined && block.height !== 0n) throw new Error(`publisher: block ${block.height} adopted before block 0`);
    const size = checkpoint.checkpoint.size;
    if (size > this.#o.sequencer.size || !equalBytes(await rootAt(store, size, this.#tree), checkpoint.checkpoint.root)) {
      throw new Error(`publisher: block ${block.height} does not match the stored tree; not adopted`);
    }
    const published: Published = { block, checkpoint };
    this.#latest = published;
    this.#resolveWaiters(published);
    try {
      this.#o.onPublish?.(published);
    } catch {
      // Best effort, as after a publication.
    }
    return published;
  }

  /** stop cancels the timer, publishes what is integrated, and fails remaining waiters. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      await this.publishNow();
    } finally {
      for (const w of this.#waiters) w.reject(new LogClosedError());
      this.#waiters = [];
    }
  }
}
