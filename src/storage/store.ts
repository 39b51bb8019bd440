/**
 * The one narrow storage port of the ledger (DESIGN.md §3, STYLE.md §9). The log is the single
 * writer; everything it persists for one flush goes through {@link LedgerStore.appendBatch} as ONE
 * atomic, fsynced write. Two implementations: LevelStore (production, `level`) and MemoryStore
 * (unit tests), both held to test/storage/conformance.ts.
 *
 * Indexes and sizes are bigint; hashes and entries are Uint8Array. Reads of things that were
 * never written return undefined / empty, except {@link LedgerStore.readNodes}, whose callers
 * only ask for nodes a proof plan proves exist: a missing node there is corruption and throws.
 */
import type { BlockJson } from '../core/block.js';
import type { NodeHash, NodeId } from '../core/merkle/node.js';

/** One flush of the sequencer: everything becomes visible and durable together, or not at all. */
export interface AppendBatch {
  /** Index of the first entry: must equal the stored size (else the write is refused). */
  readonly first: bigint;
  /** Exact leaf bytes, in order: entry `first + i` is `entries[i]`. */
  readonly entries: readonly Uint8Array[];
  /** Leaf hashes of `entries`, same order (indexed for lookup by leaf hash). */
  readonly leafHashes: readonly Uint8Array[];
  /** Every tree node the compact range created (leaves included). */
  readonly nodes: readonly NodeHash[];
  /** Content digests to index: `{alg, hex}` of entry `index`. */
  readonly digests: ReadonlyArray<{ readonly alg: string; readonly hex: string; readonly index: bigint }>;
  /** Side data kept with an entry (a JSON record's canonical bytes, a raw HJ 212 packet). */
  readonly attachments: ReadonlyArray<{ readonly index: bigint; readonly bytes: Uint8Array }>;
  /**
   * Secondary indexes (e.g. `case` → caseId, `hj212-mn` → device MN): entry `index` is listed
   * under (`name`, `key`). Names match `[a-z0-9][a-z0-9-]{0,31}`; keys are 1..512 UTF-8 bytes
   * with no control characters. Optional: absent means none.
   */
  readonly secondary?: ReadonlyArray<{ readonly name: string; readonly key: string; readonly index: bigint }>;
}

/**
 * The store's ability to write (and read) right now, for /healthz and the error mapper:
 *
 * - `ok`: reads and writes work;
 * - `full`: a write failed because the disk is full; writes are refused until the store could
 *   reopen with enough free space, reads still work;
 * - `failed`: a write failed for another reason (I/O error); writes are refused until the store
 *   reopens, reads still work;
 * - `down`: reopening failed, the database is closed; reads and writes are refused until a later
 *   reopen succeeds.
 */
export interface StoreHealth {
  readonly state: 'ok' | 'full' | 'failed' | 'down';
  /** When the store left `ok` (ISO 8601), absent when ok. */
  readonly since?: string;
}

/**
 * StoreUnavailableError: the store refuses an operation for now (a write after a failed write,
 * or anything while it is down). Nothing was written by the refused call. The HTTP layer answers
 * 503 with `Retry-After` (`STORAGE_FULL` when `full`).
 */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE' as const;
  /** True when the cause is a full disk (ENOSPC). */
  readonly full: boolean;
  constructor(message: string, full: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
    this.full = full;
  }
}

/** A stored API key: only the SHA-256 of the secret is kept. */
export interface ApiKeyRecord {
  /** Public identifier (shown in entries as `submitter`, in listings, in logs). */
  readonly id: string;
  /** SHA-256 of the secret, lowercase hex. */
  readonly secretHash: string;
  readonly role: 'submit' | 'audit' | 'admin';
  readonly createdAt: string;
  readonly revokedAt?: string;
  readonly label?: string;
}

export type { RecordQuery, RecordRow, RecordWrite } from './records.js';
import type { RecordQuery, RecordRow, RecordWrite } from './records.js';

export interface LedgerStore {
  /** Number of entries integrated (0 for a new store). */
  getSize(): Promise<bigint>;
  /** Entries [start, start+count) that exist, in order (fewer at the end of the log). */
  getEntries(start: bigint, count: number): Promise<Uint8Array[]>;
  /** The attachment of entry `index`, if any. */
  getAttachment(index: bigint): Promise<Uint8Array | undefined>;
  /**
   * Node hashes, same order as `ids`. Requires: every node was written; a missing one throws an
   * Error naming it (storage corruption, not a user error).
   */
  readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]>;
  /** Indexes of entries with this content digest, ascending. */
  lookupDigest(alg: string, hex: string): Promise<bigint[]>;
  /** Indexes of entries with this leaf hash, ascending. */
  lookupLeafHash(leafHash: Uint8Array): Promise<bigint[]>;
  /** Up to `limit` indexes >= `start` listed under secondary index (`name`, `key`), ascending. */
  lookupSecondary(name: string, key: string, start: bigint, limit: number): Promise<bigint[]>;
  /** Atomically and durably (fsync) append one batch. Refuses a batch whose `first` is not the size. */
  appendBatch(batch: AppendBatch): Promise<void>;

  /** Number of blocks (the next height). */
  getBlockCount(): Promise<bigint>;
  /** Block at `height`, if any. */
  getBlock(height: bigint): Promise<BlockJson | undefined>;
  /** Blocks [from, from+limit) that exist, in order. */
  getBlocks(from: bigint, limit: number): Promise<BlockJson[]>;
  /** Durably append the block at height = getBlockCount(); refuses any other height. */
  appendBlock(block: BlockJson): Promise<void>;

  /**
   * Durably (fsync) store one piece of evidence of kind `kind` (e.g. `tsa`: a time-stamp token)
   * for the existing block `height`, replacing any earlier one of that kind. Written on its own,
   * never in an append batch: evidence arrives after the block is sealed. Requires: kind
   * `[a-z0-9][a-z0-9-]{0,31}`, height < getBlockCount(), 1 byte to 1 MiB (else INPUT_INVALID).
   */
  putEvidence(kind: string, height: bigint, value: Uint8Array): Promise<void>;
  /** Evidence of `kind` for blocks at heights >= `from`, ascending, at most `limit` of them. */
  listEvidence(kind: string, from: bigint, limit: number): Promise<Array<{ height: bigint; value: Uint8Array }>>;
  /** The evidence of `kind` at the greatest height, if any. */
  lastEvidence(kind: string): Promise<{ height: bigint; value: Uint8Array } | undefined>;

  /** Small named values (e.g. configuration fingerprints); durable. */
  getMeta(key: string): Promise<string | undefined>;
  putMeta(key: string, value: string): Promise<void>;

  /** API keys. */
  putApiKey(record: ApiKeyRecord): Promise<void>;
  getApiKeyBySecretHash(secretHash: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(): Promise<ApiKeyRecord[]>;

  /**
   * Record tables (src/storage/records.ts): the service's own small records, outside the log.
   * putRecords writes the rows of one table atomically and durably (fsync); a row with value
   * undefined deletes its key.
   */
  putRecords(table: string, rows: readonly RecordWrite[]): Promise<void>;
  getRecord(table: string, key: string): Promise<string | undefined>;
  /** Rows of `table` in the query's range, in key order (UTF-8 bytes), at most `limit`. */
  listRecords(table: string, query: RecordQuery): Promise<RecordRow[]>;

  /** Whether the store can write and read now (see {@link StoreHealth}). */
  health(): StoreHealth;

  /** Release resources; further calls fail. */
  close(): Promise<void>;
}
