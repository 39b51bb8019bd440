/**
 * What a replay reads, as plain shapes: entries, stored node hashes and index items as a source
 * returns them and a chunk consumes them, the port a chunk reads through ({@link ChunkIo}), and
 * the reads over a local database that the engine and the worker pool use besides
 * ({@link LocalReads}). They live here, below source.ts, chunk.ts and local.ts, which all use
 * them, so that the imports among those three point one way: local.ts implements these, source.ts
 * and chunk.ts only name them.
 */
import type { TreeHasher } from '../core/merkle/hash.js';
import type { Problem } from './report.js';

/** Entries read for one chunk. */
export interface EntryRead {
  /** The entries' bytes concatenated, in a buffer of their own (it is transferred to a worker). */
  readonly data: Uint8Array;
  /** One length per entry read; fewer than asked when an entry is missing. */
  readonly lengths: Uint32Array;
  /** Attachments by offset, when the source can check them (local). */
  readonly attachments?: ReadonlyArray<{ readonly offset: number; readonly bytes: Uint8Array }>;
  /**
   * Layout 2 (local): the stored digest bundle of each entry bundle the read covers, in order from
   * the bundle of the first entry (undefined: not stored). The chunk checks them against the entries.
   */
  readonly digestBundles?: ReadonlyArray<Uint8Array | undefined>;
  /** Problems met while reading that do not stop the replay (e.g. entries stored beyond the size). */
  readonly problems?: readonly Problem[];
  /** Why the read stopped short: the replay cannot go past this. */
  readonly gap?: Problem;
}

/** Stored hashes of nodes [start, start + count) of one level. */
export interface StoredNodes {
  /** count × 32 bytes; zeros where a node is missing. */
  readonly hashes: Uint8Array;
  /** Offsets (from start) of nodes not stored. */
  readonly missing: readonly number[];
  /** Stored values that are not 32 bytes, by offset (shown as found). */
  readonly malformed?: ReadonlyMap<number, Uint8Array>;
  /** Problems met while reading (e.g. a tile that would not download). */
  readonly problems?: readonly Problem[];
  /** Offsets of nodes that cannot be compared, their problem reported once (e.g. their stored tile is malformed). */
  readonly unchecked?: readonly number[];
}

/** One entry whose index records to check: its index, decoded digest and recomputed leaf hash. */
export interface IndexItem {
  readonly index: bigint;
  readonly alg: string;
  readonly digest: Uint8Array;
  readonly leafHash: Uint8Array;
}

/**
 * A part of one run of a layout-2 run index (src/storage/run-index.ts), scanned on its own
 * (structured-cloneable for workers): pages [fromPage, toPage) of the run (level, first) of
 * index `kind`, whose manifest says it covers entries [first, end) in `pages` pages.
 */
export interface IndexRange {
  readonly kind: 'digest-index' | 'leaf-index';
  readonly level: number;
  readonly first: number;
  readonly end: number;
  /** The manifest's record count of the whole run. */
  readonly records: number;
  readonly pages: number;
  readonly fromPage: number;
  readonly toPage: number;
  /** The manifest's fences of pages [fromPage, toPage): 8 bytes each, the page's first prefix. */
  readonly fences: Uint8Array;
}

/** How far each index's stored runs reach (entries [0, n) of each). */
export interface IndexedTo {
  readonly leaf: bigint;
  readonly digest: bigint;
}

/** Storage a chunk reads through when its task does not carry the data (local audits). */
export interface ChunkIo {
  readEntries(start: bigint, count: number): Promise<EntryRead>;
  /** The stored nodes complete inside the aligned chunk [start, start + count), per level from 0. */
  readChunkNodes(start: bigint, count: number): Promise<ReadonlyArray<StoredNodes | undefined>>;
  checkIndexes(items: readonly IndexItem[]): Promise<{ problems: Problem[]; lookups: number }>;
}

/** What scanning one part of a run found. */
export interface CountResult {
  readonly count: bigint;
  /** The sum of SHA-256(secret ‖ record) over the part's records (see print.ts). */
  readonly print: Uint8Array;
  /** Records naming an entry at or beyond the size (the first few). */
  readonly beyond: readonly Problem[];
  /** Where the part disagrees with its manifest or is out of order (the first few). */
  readonly problems: readonly Problem[];
}

/**
 * The reads of an audit over a local database, beyond a chunk's: what the engine (replay.ts) and
 * the inline executor (pool.ts) ask of a local source's reader. Implemented by local.ts's
 * LocalReader.
 */
export interface LocalReads extends ChunkIo {
  /**
   * Entries [0, indexedTo) are in the stored runs of each index; those after them wait for the
   * store to index them at its next open (layout 2's indexes lag: contracts-free-ledger/SPEC.md#layout-2).
   * Undefined: every entry.
   */
  readonly indexedTo?: IndexedTo;
  /** Scans one part of a run: counts its records, fingerprints them, flags those at or beyond `size`, checks it against its manifest. */
  countRange(range: IndexRange, size: bigint, secret: Uint8Array): Promise<CountResult>;
  /** Scans one index for records naming an entry whose digest (or leaf hash, with `tree`) differs. */
  locateWrongRecords(kind: 'digest-index' | 'leaf-index', tree: TreeHasher): Promise<Problem[]>;
}
