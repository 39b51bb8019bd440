/**
 * A read replica's follower (docs/scaling.md#read-replicas): polls the mirror's checkpoint every
 * `pollMs`, and brings the replica's own store up to each new one through the same verified path
 * as a restore (src/mirror/follow.ts); the replica's read-only ledger then adopts the primary's
 * blocks ({@link FollowingLog.adopt}) and serves them. It never signs anything: it has no key.
 *
 * - An unreachable store, a missing object: `failing`, retried with backoff (0 loss: the next
 *   poll starts where the store stands).
 * - A rollback or fork in the bucket (a checkpoint inconsistent with the one verified before),
 *   or an object that fails verification: `halted`, for good, loudly, with the evidence (both
 *   signed checkpoints, the object's name); the replica keeps serving what it verified.
 */
import type { Block } from '../core/block.js';
import { InconsistencyError, isLedgerError } from '../core/errors.js';
import type { LedgerStore } from '../storage/store.js';
import { EVIDENCE_WINDOW } from './evidence.js';
import { Follower, type FollowOptions } from './follow.js';
import { MirrorObjectError } from './read.js';

/** What the replica needs of its ledger (src/log/ledger.ts Ledger, opened read-only). */
export interface FollowingLog {
  readonly store: LedgerStore;
  /** Take the entries and blocks just stored (see Ledger.adopt). */
  adopt(blocks: readonly Block[]): Promise<void>;
}

export interface ReplicaOptions extends Omit<FollowOptions, 'onCommit' | 'onProgress'> {
  /** The mirror followed, as configured (`s3://BUCKET/PREFIX`), for /healthz and messages. */
  readonly of: string;
  /** The primary's URL, when known (GUZHENG_PRIMARY_URL): where refused writes are sent. */
  readonly primaryUrl?: string;
  /** Poll interval, ms. */
  readonly pollMs: number;
  /** Longest wait after failures, ms (default 60 s). */
  readonly backoffMaxMs?: number;
  /**
   * The evidence of the recent blocks (time stamps, cosignature lines: they arrive seconds after
   * their block) is scanned this often, ms (default 10 s): a few LISTs each time.
   */
  readonly evidenceEveryMs?: number;
  /** The clock, in milliseconds (default Date.now). */
  readonly now?: () => number;
  /** One line per event worth logging (failing, recovered, halted). */
  readonly onEvent?: (line: string) => void;
  /** Called once when the replica halts, with the evidence. */
  readonly onHalt?: (halt: ReplicaHalt) => void;
}

/** Why a replica stopped following: the evidence of a rollback, fork or altered object. */
export interface ReplicaHalt {
  readonly at: string;
  readonly reason: string;
  /** `INCONSISTENT` (rollback or fork), `MIRROR_OBJECT_INVALID`, or a core code (`SIGNATURE_INVALID`…). */
  readonly code: string;
  /** The object at fault, when one is. */
  readonly key?: string;
  /** For a rollback or fork: the two signed checkpoints (smaller or equal first) and the failed proof. */
  readonly smaller?: string;
  readonly larger?: string;
  readonly proof?: readonly string[];
}

/** What /healthz shows of a replica. */
export interface ReplicaStatus {
  readonly of: string;
  readonly primary?: string;
  /** `catching-up`: applying a backlog; `following`: at the bucket's checkpoint as of the last poll; `failing`: polls fail (retried); `halted`: stopped for good (see halt). */
  readonly state: 'catching-up' | 'following' | 'failing' | 'halted';
  /** Size of the checkpoint verified and served. */
  readonly verifiedSize: bigint;
  /** Size of the bucket's checkpoint as last read. */
  readonly bucketSize: bigint;
  /** Entries in the bucket's checkpoint not yet served. */
  readonly lagEntries: bigint;
  /** Seconds since the replica last held the bucket's newest checkpoint (0 while it does). */
  readonly lagSeconds: number;
  /** Polls failed in a row. */
  readonly failures: number;
  readonly lastError?: string;
  readonly halt?: ReplicaHalt;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** haltOf: the evidence of a failure that stops a replica for good, or undefined for one worth retrying. */
export function haltOf(err: unknown, at: string): ReplicaHalt | undefined {
  if (err instanceof InconsistencyError) return { at, reason: err.message, code: err.code, smaller: err.smaller, larger: err.larger, proof: err.proof };
  if (err instanceof MirrorObjectError && err.code === 'MIRROR_OBJECT_INVALID') return { at, reason: err.message, code: err.code, key: err.key };
  if (isLedgerError(err, 'SIGNATURE_INVALID', 'NOTE_UNVERIFIED', 'BLOCK_INVALID', 'CHAIN_BROKEN', 'ORIGIN_MISMATCH')) return { at, reason: err.message, code: err.code };
  return undefined;
}

/** Follows a mirror for a read replica (see the module comment). */
export class Replica {
  readonly #o: ReplicaOptions;
  readonly #follower: Follower;
  readonly #now: () => number;
  #log: FollowingLog | undefined;
  #state: ReplicaStatus['state'] = 'catching-up';
  #bucketSize = 0n;
  #caughtUpAt: number;
  #failures = 0;
  #lastError: string | undefined;
  #halt: ReplicaHalt | undefined;
  #lastEvidence = Number.NEGATIVE_INFINITY;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** Polls made and checkpoints applied (for tests and measurements). */
  readonly counters = { polls: 0, applied: 0 };

  private constructor(o: ReplicaOptions, follower: Follower) {
    this.#o = o;
    this.#follower = follower;
    this.#now = o.now ?? Date.now;
    this.#caughtUpAt = this.#now();
    this.#bucketSize = follower.verified?.size ?? 0n;
  }

  /** open reads the replica store's state (see Follower.open). */
  static async open(o: ReplicaOptions): Promise<Replica> {
    let self: Replica | undefined;
    const follower = await Follower.open({
      ...o,
      onCommit: async (c) => {
        await self?.adoptStored(c.blocks);
      },
      onProgress: (p) => {
        if (self === undefined) return;
        if (p.target > self.#bucketSize) self.#bucketSize = p.target;
        if (self.#state !== 'failing' && p.size < p.target) self.#state = 'catching-up';
      },
    });
    self = new Replica(o, follower);
    return self;
  }

  /** The size verified and stored. */
  get verifiedSize(): bigint {
    return this.#follower.verified?.size ?? 0n;
  }

  /**
   * catchUp follows until the store holds the bucket's checkpoint (a few steps if the log grows
   * meanwhile), then stores the evidence: a replica's start, before its ledger opens. Throws
   * what a step throws.
   */
  async catchUp(maxSteps = 20): Promise<void> {
    for (let i = 0; i < maxSteps; i++) {
      const r = await this.#follower.step();
      this.#bucketSize = r.bucket.size;
      if (r.to === r.from) break;
    }
    await this.#follower.syncEvidence();
    this.#lastEvidence = this.#now();
    this.#caughtUpAt = this.#now();
    this.#state = 'following';
  }

  /** attach hands the replica its ledger, opened on the same store: it adopts every block stored from now on. */
  attach(log: FollowingLog): void {
    this.#log = log;
  }

  /** adoptStored hands blocks just stored to the attached ledger (none before attach: it opens on them). */
  async adoptStored(blocks: readonly Block[]): Promise<void> {
    await this.#log?.adopt(blocks);
  }

  /** status reports the replica for /healthz. */
  status(): ReplicaStatus {
    const verifiedSize = this.verifiedSize;
    const lagEntries = this.#bucketSize > verifiedSize ? this.#bucketSize - verifiedSize : 0n;
    const caughtUp = lagEntries === 0n && this.#state === 'following';
    return {
      of: this.#o.of,
      ...(this.#o.primaryUrl !== undefined ? { primary: this.#o.primaryUrl } : {}),
      state: this.#state,
      verifiedSize,
      bucketSize: this.#bucketSize,
      lagEntries,
      lagSeconds: caughtUp ? 0 : Math.max(0, (this.#now() - this.#caughtUpAt) / 1000),
      failures: this.#failures,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      ...(this.#halt !== undefined ? { halt: this.#halt } : {}),
    };
  }

  /** start polls in the background (idempotent; never after a halt). */
  start(): void {
    if (this.#running || this.#halt !== undefined) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** stop ends the loop after the poll in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  /**
   * poll makes one poll now: a step to the bucket's checkpoint and, every `evidenceEveryMs`, an
   * evidence scan of the recent blocks. Throws what it fails with (the loop records it).
   */
  async poll(): Promise<void> {
    this.counters.polls++;
    const r = await this.#follower.step();
    this.#bucketSize = r.bucket.size;
    if (r.to !== r.from) this.counters.applied++;
    const now = this.#now();
    if (now - this.#lastEvidence >= (this.#o.evidenceEveryMs ?? 10_000)) {
      const blocks = this.#follower.verified?.blocks ?? 0n;
      await this.#follower.syncEvidence(blocks > EVIDENCE_WINDOW ? blocks - EVIDENCE_WINDOW : 0n);
      this.#lastEvidence = now;
    }
    if (this.verifiedSize === this.#bucketSize) this.#caughtUpAt = this.#now();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let wait = this.#o.pollMs;
      try {
        await this.poll();
        if (this.#failures > 0) this.#o.onEvent?.(`replica: recovered after ${this.#failures} failed polls; at ${this.verifiedSize} entries`);
        this.#failures = 0;
        this.#lastError = undefined;
        this.#state = 'following';
      } catch (err) {
        const halt = haltOf(err, new Date(this.#now()).toISOString());
        if (halt !== undefined) {
          this.#halt = halt;
          this.#state = 'halted';
          this.#lastError = halt.reason;
          this.#running = false;
          this.#o.onEvent?.(`replica: HALTED, no longer following ${this.#o.of}: ${halt.reason}${halt.smaller !== undefined ? `\n--- checkpoint (smaller or equal) ---\n${halt.smaller}--- checkpoint (larger) ---\n${halt.larger ?? ''}` : ''}`);
          this.#o.onHalt?.(halt);
          return;
        }
        this.#failures++;
        const first = this.#lastError === undefined;
        this.#lastError = message(err);
        this.#state = 'failing';
        if (first) this.#o.onEvent?.(`replica: failing: ${this.#lastError}`);
        wait = Math.min(this.#o.backoffMaxMs ?? 60_000, this.#o.pollMs * 2 ** Math.min(this.#failures, 16));
      }
      if (!this.#running) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, wait);
        function done(): void {
          clearTimeout(t);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
    }
  }
}
