/**
 * The reads of a local audit over one LevelDB handle in storage layout 2 (local.ts): used by the
 * main thread and, over their own handles to the same database, by the replay workers. Entries
 * from bundles (local-entries.ts), nodes from tiles (local-tiles.ts), index records from runs
 * (local-runs.ts, local-runs-finish.ts); contracts-free-ledger/SPEC.md#storage, docs/storage-v2.md.
 */
import type { TreeHasher } from '../core/merkle/hash.js';
import type { Db } from './local-db.js';
import { readBundleEntries } from './local-entries.js';
import { locateWrongRecords } from './local-runs-finish.js';
import { lookupRecords, readManifests, scanPart, type IndexKind, type RunInfo } from './local-runs.js';
import { TileCache, readChunkTiles } from './local-tiles.js';
import type { CountResult, EntryRead, IndexItem, IndexRange, IndexedTo, LocalReads, StoredNodes } from './reads.js';
import type { Problem } from './report.js';

/** The reads of a local audit over one handle (see the module comment). */
export class LocalReader implements LocalReads {
  readonly #db: Db;
  /** The stored size (set by the main thread; workers pass it in the task). */
  size = 0n;
  /** Entries [0, indexedTo) are in the index runs (set by the main thread from the manifests). */
  indexedTo: IndexedTo | undefined;
  readonly #tiles: TileCache;
  /** The runs of both indexes, read on the first lookup (only a locating pass looks records up). */
  #runs: Promise<Record<IndexKind, RunInfo[]>> | undefined;

  constructor(db: Db) {
    this.#db = db;
    this.#tiles = new TileCache(db, () => this.size);
  }

  get db(): Db {
    return this.#db;
  }

  /** readEntries reads entries [start, start + count) from their bundles, stopping at the first missing one. */
  readEntries(start: bigint, count: number): Promise<EntryRead> {
    return readBundleEntries(this.#db, start, count, this.size);
  }

  /** readChunkNodes reads the stored nodes complete inside the aligned chunk, per level, from its tiles. */
  readChunkNodes(start: bigint, count: number): Promise<StoredNodes[]> {
    return readChunkTiles(this.#db, start, count, this.size);
  }

  /** readNodes reads the stored hashes of nodes [start, start + count) at `level` (above the chunks). */
  readNodes(level: number, start: bigint, count: number): Promise<StoredNodes> {
    return this.#tiles.nodes(level, start, count);
  }

  #allRuns(): Promise<Record<IndexKind, RunInfo[]>> {
    this.#runs ??= (async () => ({
      'digest-index': (await readManifests(this.#db, 'digest-index')).runs,
      'leaf-index': (await readManifests(this.#db, 'leaf-index')).runs,
    }))();
    return this.#runs;
  }

  /**
   * checkIndexes looks up each item's digest and leaf-hash records in the runs, as the store finds
   * them, and reports every one missing. Random reads: the replay fingerprints instead, and this locates.
   */
  async checkIndexes(items: readonly IndexItem[]): Promise<{ problems: Problem[]; lookups: number }> {
    if (items.length === 0) return { problems: [], lookups: 0 };
    return lookupRecords(this.#db, await this.#allRuns(), items);
  }

  /** countRange scans one part of a run: counts and fingerprints its records, checks it against its manifest. */
  countRange(range: IndexRange, size: bigint, secret: Uint8Array): Promise<CountResult> {
    return scanPart(this.#db, range, size, secret);
  }

  /** locateWrongRecords scans one index for records naming an entry whose digest (or leaf hash, with `tree`) differs. */
  async locateWrongRecords(kind: IndexKind, tree: TreeHasher): Promise<Problem[]> {
    return locateWrongRecords(this.#db, kind, (await this.#allRuns())[kind], this.size, tree);
  }
}
