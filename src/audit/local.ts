/**
 * Audit source over a stopped data directory (or a backup copy of one) in storage layout 2, read
 * straight from LevelDB (src/storage/layout2.ts; contracts-free-ledger/SPEC.md#storage,
 * docs/storage-v2.md). It bypasses LevelStore on purpose: an auditor must see exactly what is
 * stored (gaps, extra keys, malformed values) rather than what a well-behaved reader would return.
 * LevelDB's lock still applies: a directory held by a running server (or by a LevelStore in this
 * process) fails fast with {@link StoreLockedError}; a directory in layout 1 is refused with a
 * message to run `guzheng migrate` first.
 *
 * The directory is opened with classic-level's `multithreading` option, so replay workers open
 * the same database and read their own chunks: 16 entry bundles, their 16 digest bundles and 16
 * level-0 tiles (and the level-1 tile above) per chunk of 4,096 entries (local-entries.ts,
 * local-tiles.ts), and the parts of the index runs (local-runs.ts). Memory stays bounded: a few
 * chunks in flight, the runs' manifests (8 bytes of fence per 256 records), a tile per level.
 */
import { fromUtf8 } from '../core/bytes.js';
import { HASH_SIZE, type TreeHasher } from '../core/merkle/hash.js';
import { buildProof, planConsistency } from '../core/merkle/plan.js';
import type { StoreLockedError } from '../storage/level.js';
import { TSA_EVIDENCE, decodeStoredToken } from '../log/stamps.js';
import { COSIGNATURE_EVIDENCE } from '../log/cosignatures.js';
import { BLOCK_COUNT_KEY, PREFIX, SIZE_KEY, U64_SIZE, decodeU64, evidenceKey, indexOfKey, prefixRange } from '../storage/keys.js';
import { loadTail, readTileNodes } from '../storage/level-layout.js';
import { HIGH_WATER, checkAuditLayout, openDb, resolveLedgerDir, type Db } from './local-db.js';
import { finishLocal, layoutOneLeftovers } from './local-finish.js';
import { LocalReader } from './local-reader.js';
import { coveredPrefix, readManifests, runParts, type IndexKind, type RunInfo } from './local-runs.js';
import type { Problem } from './report.js';
import type { EntryRead, IndexItem, IndexRange, StoredNodes } from './reads.js';
import { AuditAbort, type AuditSource, type BlockItem, type SourceInfo } from './source.js';

export { openDb, resolveLedgerDir, type Db } from './local-db.js';
export { LocalReader } from './local-reader.js';

function u64(v: Uint8Array | undefined, what: string): bigint {
  if (v === undefined) return 0n;
  if (v.length !== U64_SIZE) throw new AuditAbort(`${what} is ${v.length} bytes, want ${U64_SIZE}: the store is damaged beyond replay`);
  return decodeU64(v);
}

/** Reads a stopped Guzheng data directory (layout 2) for an audit. */
export class LocalSource implements AuditSource {
  readonly description: string;
  readonly live = false;
  /** The LevelDB directory, which replay workers open too. */
  readonly path: string;
  readonly reader: LocalReader;
  /** Replay workers open the same database and read their chunks themselves. */
  readonly local: { readonly path: string; readonly reader: LocalReader };
  readonly #db: Db;
  #blockCount = 0n;
  /** The runs of both indexes as their manifests describe them, and the manifests that would not parse. */
  #runs: Record<IndexKind, RunInfo[]> = { 'digest-index': [], 'leaf-index': [] };
  #manifestProblems: Problem[] = [];

  private constructor(db: Db, path: string) {
    this.#db = db;
    this.path = path;
    this.description = `data directory ${path}`;
    this.reader = new LocalReader(db);
    this.local = { path, reader: this.reader };
  }

  /**
   * LocalSource.open opens the LevelDB of `dir` (see {@link resolveLedgerDir}) without creating
   * anything. Requires: no process holds it, else {@link StoreLockedError}; storage layout 2 (or
   * an empty database), else {@link AuditAbort} naming `guzheng migrate`.
   */
  static async open(dir: string): Promise<LocalSource> {
    const path = resolveLedgerDir(dir);
    const db = await openDb(path);
    try {
      await checkAuditLayout(db, path);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new LocalSource(db, path);
  }

  async start(): Promise<SourceInfo> {
    const [size, blocks] = await this.#db.getMany([SIZE_KEY, BLOCK_COUNT_KEY]);
    this.reader.size = u64(size, 's:size');
    this.#blockCount = u64(blocks, 's:blocks');
    for (const kind of ['digest-index', 'leaf-index'] as const) {
      const m = await readManifests(this.#db, kind);
      this.#runs[kind] = m.runs;
      this.#manifestProblems.push(...m.problems);
    }
    const warnings = await layoutOneLeftovers(this.#db);
    // The indexes lag behind the appends (layout 2): the runs cover a prefix, the store indexes
    // the rest at its next open. Only that prefix can be checked against records.
    const leaf = BigInt(coveredPrefix(this.#runs['leaf-index']));
    const digest = BigInt(coveredPrefix(this.#runs['digest-index']));
    if (leaf !== digest) {
      this.#manifestProblems.push({ kind: leaf < digest ? 'leaf-index' : 'digest-index', index: leaf < digest ? leaf : digest, message: `the leaf-hash index's runs cover entries [0, ${leaf}) and the digest index's [0, ${digest}): both are written together and cover the same prefix`, expected: 'the same prefix', found: `${leaf} and ${digest}` });
    }
    const n = this.reader.size;
    this.reader.indexedTo = { leaf: leaf < n ? leaf : n, digest: digest < n ? digest : n };
    const covered = leaf < digest ? leaf : digest;
    if (covered < n) warnings.push(`the index runs cover entries [0, ${covered}) of ${this.reader.size}: the store indexes the rest at its next open (the indexes lag behind the appends); their records were not checked`);
    return { size: this.reader.size, ...(warnings.length > 0 ? { warnings } : {}) };
  }

  readEntries(start: bigint, count: number): Promise<EntryRead> {
    return this.reader.readEntries(start, count);
  }

  readNodes(level: number, start: bigint, count: number): Promise<StoredNodes> {
    return this.reader.readNodes(level, start, count);
  }

  checkIndexes(items: readonly IndexItem[]): Promise<{ problems: Problem[]; lookups: number }> {
    return this.reader.checkIndexes(items);
  }

  /** The time-stamp tokens kept with the blocks of one page of block rows (one range scan). */
  async #tokensFor(rows: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Promise<Map<bigint, Uint8Array | { corrupt: string }>> {
    const out = new Map<bigint, Uint8Array | { corrupt: string }>();
    const heights = rows.filter(([k]) => k.length === PREFIX.block.length + U64_SIZE).map(([k]) => indexOfKey(k));
    if (heights.length === 0) return out;
    const first = heights[0] as bigint;
    const last = heights[heights.length - 1] as bigint;
    for (const [k, v] of await this.#db.iterator({ gte: evidenceKey(TSA_EVIDENCE, first), lte: evidenceKey(TSA_EVIDENCE, last) }).all()) {
      const height = indexOfKey(k);
      try {
        out.set(height, decodeStoredToken(v, height).token);
      } catch (err) {
        // A record the log kept as a token that does not decode is a finding, not a missing stamp:
        // the log promises to keep only checked tokens (SPEC.md#what-the-log-stamps).
        out.set(height, { corrupt: (err as Error).message });
      }
    }
    return out;
  }

  /** The witness cosignature lines kept with the blocks of one page of block rows (one range scan). */
  async #cosignaturesFor(rows: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Promise<Map<bigint, string[]>> {
    const out = new Map<bigint, string[]>();
    const heights = rows.filter(([k]) => k.length === PREFIX.block.length + U64_SIZE).map(([k]) => indexOfKey(k));
    if (heights.length === 0) return out;
    for (const [k, v] of await this.#db.iterator({ gte: evidenceKey(COSIGNATURE_EVIDENCE, heights[0] as bigint), lte: evidenceKey(COSIGNATURE_EVIDENCE, heights[heights.length - 1] as bigint) }).all()) {
      try {
        const lines: unknown = JSON.parse(fromUtf8(v));
        if (Array.isArray(lines) && lines.every((l) => typeof l === 'string')) out.set(indexOfKey(k), lines as string[]);
      } catch {
        // Not JSON: no cosignatures the audit could count for that block.
      }
    }
    return out;
  }

  async *blocks(): AsyncIterable<BlockItem> {
    const it = this.#db.iterator({ ...prefixRange(PREFIX.block), highWaterMarkBytes: HIGH_WATER });
    let expected = 0n;
    try {
      for (;;) {
        const rows = await it.nextv(1024);
        if (rows.length === 0) break;
        const [tokens, cosignatures] = await Promise.all([this.#tokensFor(rows), this.#cosignaturesFor(rows)]);
        for (const [k, v] of rows) {
          if (k.length !== PREFIX.block.length + U64_SIZE) {
            yield { height: expected, problem: { kind: 'block-invalid', height: expected, message: `a block key of ${k.length} bytes is malformed` } };
            continue;
          }
          const height = indexOfKey(k);
          if (height !== expected) {
            const last = height - 1n;
            yield {
              height: expected,
              problem: {
                kind: 'block-missing',
                height: expected,
                message: `block${last > expected ? `s ${expected}..${last} are` : ` ${expected} is`} not stored (the next stored block is ${height})`,
                expected: `block ${expected}`,
                found: `block ${height}`,
              },
            };
          }
          expected = height + 1n;
          let json: unknown;
          try {
            json = JSON.parse(fromUtf8(v, 'block'));
          } catch {
            yield { height, problem: { kind: 'block-invalid', height, message: `block ${height} is not UTF-8 JSON` } };
            continue;
          }
          const kept = tokens.get(height);
          const lines = cosignatures.get(height);
          if (kept !== undefined && !(kept instanceof Uint8Array)) {
            const problem: Problem = { kind: 'timestamp-invalid', height, message: `the time-stamp record kept with block ${height} is corrupt: ${kept.corrupt}` };
            yield { height, json, problem, ...(lines ? { cosignatures: lines } : {}) };
            continue;
          }
          yield { height, json, ...(kept ? { tokens: [kept] } : {}), ...(lines ? { cosignatures: lines } : {}) };
        }
      }
    } finally {
      await it.close();
    }
    if (expected !== this.#blockCount) {
      const missing = expected < this.#blockCount;
      yield {
        height: missing ? expected : this.#blockCount,
        problem: {
          kind: missing ? 'block-missing' : 'size-mismatch',
          height: missing ? expected : this.#blockCount,
          message: `the stored block count (s:blocks) is ${this.#blockCount} but blocks 0..${expected - 1n} are stored`,
          expected: `s:blocks = ${expected}`,
          found: `s:blocks = ${this.#blockCount}`,
        },
      };
    }
  }


  async consistencyProof(from: bigint, to: bigint, tree: TreeHasher): Promise<Uint8Array[]> {
    const plan = planConsistency(from, to);
    // Every node from the tiles, the incomplete ones from their pieces (as the store reads them).
    const hashes = await readTileNodes(this.#db, await loadTail(this.#db, this.reader.size), plan.ids);
    if (hashes.some((h) => h.length !== HASH_SIZE)) throw new Error('audit: bad math: a node of another size than 32 bytes');
    return buildProof(plan, hashes, tree);
  }

  /**
   * indexRanges lists the parts of every run of both indexes (as their manifests describe them),
   * which workers scan in parallel: each index must hold exactly the records the replay expects,
   * which the engine checks by fingerprint. Layout 2's records carry no algorithm (the digest
   * bundles do), so `_digestAlg` splits nothing.
   */
  indexRanges(_digestAlg?: string): IndexRange[] {
    return [...runParts(this.#runs['digest-index']), ...runParts(this.#runs['leaf-index'])];
  }

  async finish(size: bigint): Promise<Problem[]> {
    return [...this.#manifestProblems, ...(await finishLocal(this.#db, size, this.#runs))];
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}
