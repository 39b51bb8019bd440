/**
 * The leaf-hash and content-digest indexes of layout 2, written lagging behind the appends
 * (contracts-free-ledger/SPEC.md#layout-2, "Lookup consistency"; issue 17).
 *
 * A flush's synced batch holds no index record: the entries' leaf hashes are in the tiles and
 * their digests in the digest bundles, so the indexes are derived data. Acknowledged entries wait
 * here in memory ("pending") until one unsynced batch writes a run per index for all of them
 * (run-index.ts): when {@link INDEX_BATCH} are waiting, or {@link INDEX_DELAY_MS} after the first.
 * Lookups read the runs and the pending entries, so they see every acknowledged entry at once,
 * whatever the lag. After a crash the runs cover a prefix [0, covered) of the log (an unsynced
 * batch is lost only with everything after it); {@link LazyIndexes.open} takes the rest back
 * from the tiles and digest bundles. Both runs of one range are written in ONE batch, so both
 * indexes always cover the same prefix.
 */
import { DIGEST_INDEX, LEAF_INDEX } from './layout2.js';
import { RunIndex, type RunStore } from './run-index.js';

/** Pending entries that make the indexer write at once. */
export const INDEX_BATCH = 8192;
/** Longest an acknowledged entry waits before the indexer writes it, ms. */
export const INDEX_DELAY_MS = 200;

/** One content digest of a pending entry. */
export interface PendingDigest {
  readonly index: number;
  readonly alg: string;
  readonly digest: Uint8Array;
}

/**
 * The entries of one flush waiting for the indexes, packed: a few arrays per flush instead of
 * objects per entry, which would live ~200 ms, outlast the young generation and cost old-generation
 * collections (garbage collection was a fifth of a library append's CPU).
 */
interface Pending {
  readonly first: number;
  readonly count: number;
  /** 32 bytes per entry. */
  readonly leaves: Uint8Array;
  /** Per digest: its entry, its algorithm, its 32 bytes at 32·k of `digestBytes`. */
  readonly digestIndexes: Float64Array;
  readonly digestAlgs: readonly string[];
  readonly digestBytes: Uint8Array;
}

function packPending(first: number, leaves: readonly Uint8Array[], digests: ReadonlyArray<{ readonly alg: string; readonly digest: Uint8Array; readonly index: bigint | number }>): Pending {
  const l = new Uint8Array(32 * leaves.length);
  leaves.forEach((h, i) => l.set(h.subarray(0, 32), 32 * i));
  const digestIndexes = new Float64Array(digests.length);
  const digestBytes = new Uint8Array(32 * digests.length);
  const digestAlgs = digests.map((d, k) => {
    digestIndexes[k] = Number(d.index);
    digestBytes.set(d.digest.subarray(0, 32), 32 * k);
    return d.alg;
  });
  return { first, count: leaves.length, leaves: l, digestIndexes, digestAlgs, digestBytes };
}

function sameHash(bytes: Uint8Array, at: number, hash: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (bytes[at + i] !== hash[i]) return false;
  return true;
}

/** What the indexes of entries [from, to) are rebuilt from after a restart. */
export type Rebuild = (from: bigint, to: bigint) => Promise<{ leaves: Uint8Array[]; digests: PendingDigest[] }>;

/** LazyIndexes owns both run indexes and the acknowledged entries not yet written to them. */
export class LazyIndexes {
  readonly #leaf: RunIndex;
  readonly #digest: RunIndex;
  readonly #store: RunStore;
  /** Entries [#from, #from + #count) are acknowledged and not in the runs yet, flush by flush. */
  #from: number;
  #pending: Pending[] = [];
  #count = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> | undefined;
  #closed = false;
  /** A write of the runs failed: its message (writing stops; lookups stay exact from memory). */
  lastError: string | undefined;

  private constructor(store: RunStore, leaf: RunIndex, digest: RunIndex, from: number) {
    this.#store = store;
    this.#leaf = leaf;
    this.#digest = digest;
    this.#from = from;
  }

  /** open reads both indexes and takes back, with `rebuild`, what they do not cover of a log of `size` entries. */
  static async open(store: RunStore, size: bigint, rebuild: Rebuild): Promise<LazyIndexes> {
    const leaf = await RunIndex.open(store, LEAF_INDEX);
    const digest = await RunIndex.open(store, DIGEST_INDEX);
    const covered = Math.min(leaf.covered, digest.covered);
    if (BigInt(covered) > size) throw new Error(`storage: the indexes cover ${covered} entries, beyond the size ${size}`);
    const x = new LazyIndexes(store, leaf, digest, covered);
    if (BigInt(covered) < size) {
      const { leaves, digests } = await rebuild(BigInt(covered), size);
      x.#pending = [packPending(covered, leaves, digests)];
      x.#count = leaves.length;
      x.#schedule();
    }
    return x;
  }

  /** Entries acknowledged and not in the runs yet. */
  get lag(): number {
    return this.#count;
  }

  /** Merges finished, runs per level, the first error (for metrics, tests, benchmarks). */
  get state(): { lag: number; merges: number; leafShape: number[]; digestShape: number[]; error: string | undefined } {
    return { lag: this.lag, merges: this.#leaf.merges + this.#digest.merges, leafShape: this.#leaf.shape, digestShape: this.#digest.shape, error: this.lastError ?? this.#leaf.lastError ?? this.#digest.lastError };
  }

  /**
   * added records a flush once it is acknowledged: entries [first, first + leaves.length), with
   * their leaf hashes and digests (copied). Requires: first = the end of what was added before.
   */
  added(first: bigint, leaves: readonly Uint8Array[], digests: ReadonlyArray<{ readonly alg: string; readonly digest: Uint8Array; readonly index: bigint }>): void {
    if (Number(first) !== this.#from + this.#count) throw new Error(`storage: index pending from ${this.#from + this.#count}, got a flush from ${first}`);
    if (leaves.length === 0) return;
    this.#pending.push(packPending(Number(first), leaves, digests));
    this.#count += leaves.length;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.lastError !== undefined || this.#writing !== undefined || this.#count === 0) return;
    if (this.#count >= INDEX_BATCH) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#write();
      return;
    }
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#writing === undefined) this.#write();
    }, INDEX_DELAY_MS);
    this.#timer.unref?.();
  }

  /** #write writes one run per index for everything pending, in one unsynced batch. */
  #write(): void {
    const from = this.#from;
    const chunks = this.#pending.slice();
    const n = this.#count;
    if (n === 0) return;
    const end = from + n;
    const leaves: Uint8Array[] = [];
    const digests: Uint8Array[] = [];
    const indexes: number[] = [];
    for (const c of chunks) {
      for (let i = 0; i < c.count; i++) leaves.push(c.leaves.subarray(32 * i, 32 * i + 32));
      for (let k = 0; k < c.digestAlgs.length; k++) {
        digests.push(c.digestBytes.subarray(32 * k, 32 * k + 32));
        indexes.push(c.digestIndexes[k] as number);
      }
    }
    const leafRun = this.#leaf.flushOps(from, leaves);
    const digestRun = this.#digest.flushOps(from, digests, { end, indexes });
    this.#writing = this.#store
      .write([...leafRun.ops, ...digestRun.ops])
      .then(() => {
        // The runs in, the pending entries out, in one turn: a lookup sees each entry in one or the other.
        this.#leaf.added(leafRun.run);
        this.#digest.added(digestRun.run);
        this.#pending.splice(0, chunks.length);
        this.#count -= n;
        this.#from = end;
      })
      .catch((err: unknown) => {
        this.lastError = `writing the index runs of entries [${from}, ${end}) failed: ${err instanceof Error ? err.message : String(err)}`;
      })
      .finally(() => {
        this.#writing = undefined;
        this.#schedule();
      });
  }

  /** leafCandidates returns the entries whose leaf hash may be `hash` (8-byte prefix in the runs, exact in memory), ascending. */
  async leafCandidates(hash: Uint8Array): Promise<number[]> {
    // Both read in this turn: the runs' snapshot is taken before lookup's first await.
    const fromRuns = this.#leaf.lookup(hash);
    const fromMemory: number[] = [];
    for (const c of this.#pending) for (let i = 0; i < c.count; i++) if (sameHash(c.leaves, 32 * i, hash)) fromMemory.push(c.first + i);
    return merge(await fromRuns, fromMemory);
  }

  /** digestCandidates returns the entries that may have content digest `digest` (of any algorithm), ascending. */
  async digestCandidates(digest: Uint8Array): Promise<number[]> {
    const fromRuns = this.#digest.lookup(digest);
    const fromMemory: number[] = [];
    for (const c of this.#pending) for (let k = 0; k < c.digestAlgs.length; k++) if (sameHash(c.digestBytes, 32 * k, digest)) fromMemory.push(c.digestIndexes[k] as number);
    return merge(await fromRuns, fromMemory);
  }

  /** catchUp writes what is pending now and waits for the merges (tests, benchmarks, close). */
  async catchUp(): Promise<void> {
    for (;;) {
      if (this.#writing !== undefined) await this.#writing;
      else if (this.#count > 0 && this.lastError === undefined && !this.#closed) this.#write();
      else break;
    }
    await this.#leaf.idle();
    await this.#digest.idle();
  }

  /**
   * close writes what is pending (unless writing failed) and stops merging after the merge in
   * flight: the merges left resume at the next open (waiting for them all made a close after a
   * 43M-entry fill take 233 s).
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#writing !== undefined) await this.#writing;
    if (this.#count > 0 && this.lastError === undefined) {
      this.#write();
      while (this.#writing !== undefined) await this.#writing;
    }
    await Promise.all([this.#leaf.close(), this.#digest.close()]);
  }

  /** stop drops this generation after a reopen: no more writes (its store calls fail from now on). */
  stop(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** merge returns the union of two ascending lists, ascending, without repeats. */
function merge(a: readonly number[], b: readonly number[]): number[] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}
