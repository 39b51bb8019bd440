/**
 * What an audit replays from. Two implementations: a stopped data directory read straight from
 * LevelDB (local.ts), and a live log read through its tlog-tiles and block APIs (remote.ts). The
 * engine (replay.ts) trusts neither: every value a source returns is checked against hashes the
 * auditor recomputed itself or against signatures by the pinned key.
 */
import type { OpenedCheckpoint } from '../core/checkpoint.js';
import type { TreeHasher } from '../core/merkle/hash.js';
import type { EntryRead, IndexItem, IndexRange, LocalReads, StoredNodes } from './reads.js';
import type { Problem } from './report.js';

/** What a source says about itself when opened. */
export interface SourceInfo {
  /** Entries to replay: the stored size (local) or the served checkpoint's size (remote). */
  readonly size: bigint;
  /**
   * The checkpoint the source serves as its latest (remote), already verified with the pinned
   * key; the replay must reproduce its root. Blocks beyond its size are newer and not audited.
   */
  readonly checkpoint?: OpenedCheckpoint;
  /** Human notes about the source (e.g. a stored counter that disagrees). */
  readonly warnings?: readonly string[];
}

/** One item of the block stream, in height order. */
export interface BlockItem {
  readonly height: bigint;
  /** The block's JSON value, when it could be read. */
  readonly json?: unknown;
  /** A problem with the stream at this height (missing, undecodable). */
  readonly problem?: Problem;
  /** The RFC 3161 tokens (DER) the log keeps with this block. */
  readonly tokens?: readonly Uint8Array[];
  /** Witness cosignature lines the log keeps with this block (local sources; a served checkpoint carries them itself). */
  readonly cosignatures?: readonly string[];
}

/** The port the replay engine reads through. */
export interface AuditSource {
  /** For reports: `data directory /x/ledger` or the base URL. */
  readonly description: string;
  /** True when blocks beyond {@link SourceInfo.size} are simply newer (a live log). */
  readonly live: boolean;
  /**
   * For a local database: replay chunks read their own entries and nodes (on worker threads,
   * which open `path` too) instead of the engine passing them in.
   */
  readonly local?: { readonly path: string; readonly reader: LocalReads };
  start(): Promise<SourceInfo>;
  /** Entries [start, start + count), stopping at the first one that is missing. */
  readEntries(start: bigint, count: number): Promise<EntryRead>;
  /**
   * Stored hashes of nodes at `level`, indexes [start, start + count); undefined when the
   * source keeps no hashes at that level (tiles hold levels 0, 8, 16, …).
   */
  readNodes(level: number, start: bigint, count: number): Promise<StoredNodes | undefined>;
  /** Every block from height 0, in order. */
  blocks(): AsyncIterable<BlockItem>;
  /**
   * Checks that the digest index (and the leaf-hash index, where the source has one) lists each
   * of these entries. Returns the problems and how many lookups ran.
   */
  checkIndexes(items: readonly IndexItem[]): Promise<{ problems: Problem[]; lookups: number }>;
  /**
   * The log's own consistency proof between two sizes (for fraud evidence). A source that builds
   * it from stored nodes folds with `tree`, the log's suite's (SPEC.md#crypto-suites).
   */
  consistencyProof(from: bigint, to: bigint, tree: TreeHasher): Promise<Uint8Array[]>;
  /**
   * Index parts a worker scans on its own (local sources: the parts of the runs of layout 2's
   * indexes, local-runs.ts): each index must hold exactly the records the replay expects, which
   * the engine checks by fingerprint. `digestAlg` is the log's suite's content digest algorithm
   * (SPEC.md#crypto-suites).
   */
  indexRanges?(digestAlg: string): IndexRange[];
  /** Checks that only the source can make once the replay is done (e.g. nothing stored beyond `size`). */
  finish(size: bigint, replayed: bigint): Promise<Problem[]>;
  close(): Promise<void>;
}

/** A fatal condition: the audit could not be carried out (not a finding about the log). */
export class AuditAbort extends Error {
  /** The CLI exit code: 2 when the audit could not run, 1 when that itself is a failure of the log. */
  readonly exitCode: 1 | 2;
  constructor(message: string, options?: { cause?: unknown; exitCode?: 1 | 2 }) {
    super(message, options);
    this.name = 'AuditAbort';
    this.exitCode = options?.exitCode ?? 2;
  }
}
