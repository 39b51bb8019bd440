/**
 * LevelStore: the production {@link LedgerStore} over LevelDB (`level` / classic-level), with
 * the key layout of keys.ts (DESIGN.md §3–4; contracts-free-ledger/SPEC.md#storage).
 *
 * - One writer: LevelDB's LOCK file makes a second open of the same directory, from this process
 *   or another, fail fast with {@link StoreLockedError} (`code: 'STORE_LOCKED'`).
 * - Acknowledged means durable: {@link LevelStore.appendBatch} writes a whole flush (entries,
 *   attachments, tree nodes, digest and leaf-hash indexes, new size) as ONE write batch with
 *   `sync: true`, and resolves only after LevelDB has fsynced it.
 * - The size and block count are read once at open and then kept in memory, updated only after
 *   the write that changes them has resolved.
 * - A failed write poisons the handle (see {@link LevelStore.health}): writes are refused with
 *   {@link StoreUnavailableError} until the store has been closed and reopened, by itself. Why, and
 *   how the handle is opened, serialized and reopened: level-handle.ts.
 */
import { resolve } from 'node:path';
import type { BlockJson } from '../core/block.js';
import { equalBytes, fromUtf8, utf8 } from '../core/bytes.js';
import type { NodeId } from '../core/merkle/node.js';
import {
  checkApiKeyRecord,
  checkAppendBatch,
  checkBlockToAppend,
  checkCount,
  checkDigestArg,
  checkEvidence,
  checkHash,
  checkIndex,
  checkMetaValue,
  checkNodeIds,
  checkSecretHash,
  decodeStoredApiKey,
  decodeStoredBlock,
} from './checks.js';
import {
  BLOCK_COUNT_KEY,
  KeyArena,
  PREFIX,
  SIZE_KEY,
  U64_SIZE,
  apiKeyKey,
  attachmentKey,
  blockKey,
  decodeU64,
  encodeU64,
  evidenceKey,
  evidencePrefix,
  indexOfKey,
  indexRange,
  metaKey,
  prefixEnd,
  prefixRange,
  prefixed,
  secondaryPrefix,
} from './keys.js';
import { planFlush, type Tail } from './layout2.js';
import { LevelHandle, openLevel, type Db, type LevelStoreOptions } from './level-handle.js';
import { checkLayout, loadTail, readBundles, readDigestRange, readDigestRecords, readTileNodes, runStoreOver, type Reader } from './level-layout.js';
import { finishMigration } from './migrate-swap.js';
import { LazyIndexes } from './lazy-index.js';
import { MAX_RECORD_INDEX } from './run-index.js';
import { checkRecordValue, recordKey, recordKeyOf, recordRange, type RecordQuery, type RecordRow, type RecordWrite } from './records.js';
import { StoreUnavailableError, type AppendBatch, type ApiKeyRecord, type LedgerStore, type StoreHealth } from './store.js';

// LevelStore.open's error and options, kept importable from here.
export { StoreLockedError, type LevelStoreOptions } from './level-handle.js';
export { StoreLayoutError } from './level-layout.js';

const EMPTY = new Uint8Array(0);

/** A plain Uint8Array that owns its memory (LevelDB hands back Buffers; copy any pooled view). */
function own(v: Uint8Array): Uint8Array {
  if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) return new Uint8Array(v.buffer, 0, v.byteLength);
  return new Uint8Array(v);
}

function readU64Value(v: Uint8Array | undefined, what: string): bigint {
  if (v === undefined) return 0n;
  if (v.length !== U64_SIZE) throw new Error(`storage: ${what} value is ${v.length} bytes, want ${U64_SIZE}`);
  return decodeU64(v);
}

/** readCounts reads the stored size and block count (0 when unset). */
async function readCounts(db: Db): Promise<{ size: bigint; blocks: bigint }> {
  const [size, blocks] = await db.getMany([SIZE_KEY, BLOCK_COUNT_KEY]);
  return { size: readU64Value(size, 's:size'), blocks: readU64Value(blocks, 's:blocks') };
}

/**
 * LevelStore implements {@link LedgerStore} over one LevelDB directory. Open it with
 * {@link LevelStore.open}; it is the only writer of that directory until {@link LevelStore.close}.
 * See DESIGN.md §3 and contracts-free-ledger/SPEC.md#storage.
 */
export class LevelStore implements LedgerStore {
  readonly #db: Db;
  readonly #h: LevelHandle;
  /** Absolute path of the data directory. */
  readonly dir: string;
  #size: bigint;
  #blockCount: bigint;
  #appending = false;
  #appendingBlock = false;
  /** A reopen found more than was acknowledged (a failed write had landed): the pending write must be redone by its caller. */
  #grown = false;
  /**
   * Every API key record by secretHash, read once on first use and then kept in step by
   * putApiKey: this handle is the only writer of the directory (LevelDB lock), so the table is
   * exactly what is stored, and a revocation applies to the very next request. Authenticating is
   * then a map lookup instead of a LevelDB read per request (benchmark scenario 2). Reloaded after
   * a reopen, since a write reported as failed may have landed.
   */
  #apiKeys: Promise<Map<string, ApiKeyRecord>> | undefined;
  /** The acknowledged partial bundle, digest bundle and tiles the next flush extends (layout2.ts); always at #size. */
  #tail: Tail;
  /** The leaf-hash and content-digest indexes, lagging (lazy-index.ts); replaced after a reopen. */
  #indexes: LazyIndexes;
  /** Reads for the layout-2 helpers, through the handle. */
  readonly #reader: Reader;
  /** Bumped at each reopen: a merge of the indexes opened before it fails at its next read or write instead of touching the reopened database. */
  #generation = 0;

  private constructor(db: Db, dir: string, size: bigint, blockCount: bigint, options: LevelStoreOptions, tail: Tail) {
    this.#db = db;
    this.dir = dir;
    this.#size = size;
    this.#blockCount = blockCount;
    this.#tail = tail;
    this.#h = new LevelHandle(db, dir, options, { reloaded: () => this.#reloaded(), stale: () => this.#stale() });
    this.#reader = { getMany: (keys) => this.#h.use(() => this.#db.getMany([...keys])) };
    // Replaced by #openIndexes before the store is handed out.
    this.#indexes = undefined as unknown as LazyIndexes;
  }

  /**
   * #openIndexes (re)opens both run indexes on a new generation (clearing what a cut-short merge
   * left). While they open (at open, or inside a reopen, whose gate is held) they read the database
   * directly; afterwards every read and write goes through the handle, and a merge of an earlier
   * generation fails at its next call instead of touching the reopened database.
   */
  async #openIndexes(): Promise<void> {
    const generation = ++this.#generation;
    let opening = true;
    const store = runStoreOver(this.#db, (f) => {
      if (generation !== this.#generation) return Promise.reject(new Error('storage: run index merge stopped by a reopen'));
      return opening ? f() : this.#h.use(f);
    });
    const direct: Reader = { getMany: (keys) => this.#db.getMany([...keys]) };
    const tail = this.#tail;
    this.#indexes?.stop();
    // What the runs do not cover (lost with the unsynced writes of a crash) comes back from the tiles and digest bundles.
    this.#indexes = await LazyIndexes.open(store, tail.size, async (from, to) => {
      const ids: NodeId[] = [];
      for (let i = from; i < to; i++) ids.push({ level: 0, index: i });
      const leaves = await readTileNodes(direct, tail, ids);
      const digests = await readDigestRange(direct, tail, from, to);
      return { leaves, digests };
    });
    opening = false;
  }

  /** Index lag, merges and runs per level (for metrics and benchmarks). */
  get indexState(): LazyIndexes['state'] {
    return this.#indexes.state;
  }

  /** indexesIdle writes the lagging index records now and waits for the background merges (tests, benchmarks). */
  async indexesIdle(): Promise<void> {
    await this.#indexes.catchUp();
  }

  /**
   * LevelStore.open opens (creating if needed) the store in `dir` and loads its size and block
   * count. Requires: no other process or LevelStore has `dir` open, else it rejects at once with
   * {@link StoreLockedError} (`code: 'STORE_LOCKED'`, message naming the directory).
   */
  static async open(dir: string, options: LevelStoreOptions = {}): Promise<LevelStore> {
    const abs = resolve(dir);
    await finishMigration(abs); // a swap cut short completes here, never an empty store (migrate-swap.ts)
    const db = await openLevel(abs);
    try {
      await checkLayout(db, abs);
      const { size, blocks } = await readCounts(db);
      const store = new LevelStore(db, abs, size, blocks, options, await loadTail(db, size));
      await store.#openIndexes();
      return store;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  #open(): void {
    this.#h.assertOpen();
  }

  /** Successful reopens after failed writes (for tests and metrics). */
  get reopens(): number {
    return this.#h.reopens;
  }

  /** health reports whether writes (and reads) work now; see {@link StoreHealth}. */
  health(): StoreHealth {
    return this.#h.health();
  }

  /** After a reopen: the size and block count as stored now, and the API key table to be reread. */
  async #reloaded(): Promise<bigint> {
    const { size: stored, blocks: count } = await readCounts(this.#db);
    if (stored !== this.#size || count !== this.#blockCount) this.#grown = true;
    this.#apiKeys = undefined;
    // A write reported as failed may have landed: the tail and the runs are read again.
    this.#tail = await loadTail(this.#db, stored);
    await this.#openIndexes();
    this.#size = stored;
    this.#blockCount = count;
    return stored;
  }

  /** Once after a reopen that found more than was acknowledged: the error the next write is refused with. */
  #stale(): StoreUnavailableError | undefined {
    if (!this.#grown) return undefined;
    this.#grown = false;
    return new StoreUnavailableError(`storage reopened holding ${this.#size} entries and ${this.#blockCount} blocks: a write reported as failed had landed; retry`, false);
  }

  /** getSize returns the number of entries integrated (0 for a new store). */
  async getSize(): Promise<bigint> {
    this.#open();
    return this.#size;
  }

  /**
   * getEntries returns entries [start, start+count) that exist, in order, with one range scan.
   * Requires: start a uint64, count a non-negative safe integer.
   */
  async getEntries(start: bigint, count: number): Promise<Uint8Array[]> {
    this.#open();
    checkIndex(start, 'getEntries start');
    checkCount(count, 'getEntries count');
    const size = this.#size;
    if (count === 0 || start >= size) return [];
    const end = start + BigInt(count) < size ? start + BigInt(count) : size;
    return readBundles(this.#reader, this.#tail, start, end);
  }

  /** getAttachment returns the attachment of entry `index`, if any. Requires: index a uint64. */
  async getAttachment(index: bigint): Promise<Uint8Array | undefined> {
    this.#open();
    const v = await this.#h.use(() => this.#db.get(attachmentKey(index)));
    return v === undefined ? undefined : own(v);
  }

  /**
   * readNodes returns the node hashes for `ids`, same order, in one `getMany` round trip.
   * Requires: every node was written; a missing one throws `storage: node <level>/<index> missing`.
   */
  async readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    this.#open();
    checkNodeIds(ids);
    if (ids.length === 0) return [];
    return readTileNodes(this.#reader, this.#tail, ids);
  }

  /** lookupDigest returns the indexes of entries with content digest `{alg, hex}`, ascending (prefix scan). */
  async lookupDigest(alg: string, hex: string): Promise<bigint[]> {
    this.#open();
    const digest = checkDigestArg(alg, hex);
    const size = this.#size;
    const tail = this.#tail;
    // Candidates by the 8-byte prefix, confirmed against the digest bundles (a prefix can collide).
    const candidates = (await this.#indexes.digestCandidates(digest)).map(BigInt).filter((i) => i < size);
    if (candidates.length === 0) return [];
    const records = await readDigestRecords(this.#reader, tail, candidates);
    return candidates.filter((i) => records.get(i)?.some((r) => r.alg === alg && equalBytes(r.digest, digest)) === true);
  }

  /** lookupLeafHash returns the indexes of entries with this leaf hash, ascending (prefix scan). */
  async lookupLeafHash(leafHash: Uint8Array): Promise<bigint[]> {
    this.#open();
    checkHash(leafHash, 'lookupLeafHash leafHash');
    const size = this.#size;
    const tail = this.#tail;
    // Candidates by the 8-byte prefix, confirmed against the leaf (node 0/i of the tiles).
    const candidates = (await this.#indexes.leafCandidates(leafHash)).map(BigInt).filter((i) => i < size);
    if (candidates.length === 0) return [];
    const leaves = await readTileNodes(this.#reader, tail, candidates.map((index) => ({ level: 0, index })));
    return candidates.filter((_, j) => equalBytes(leaves[j] as Uint8Array, leafHash));
  }

  /** lookupSecondary returns up to `limit` indexes >= `start` under (`name`, `key`), ascending. */
  async lookupSecondary(name: string, key: string, start: bigint, limit: number): Promise<bigint[]> {
    this.#open();
    checkIndex(start, 'lookupSecondary start');
    checkCount(limit, 'lookupSecondary limit');
    const prefix = secondaryPrefix(name, key);
    if (limit === 0) return [];
    const keys = await this.#h.use(() => this.#db.keys({ gte: prefixed(prefix, start), lt: prefixEnd(prefix), limit }).all());
    const size = this.#size;
    return keys.map((k) => indexOfKey(k)).filter((i) => i < size);
  }

  /**
   * appendBatch atomically and durably appends one flush: ONE LevelDB write batch committed
   * with `sync: true` holding entries, attachments, nodes, both indexes and the new size. Requires:
   * no other appendBatch in flight (else it rejects: the log is the single writer) and a batch
   * accepted by checkAppendBatch (`first` = size, consistent lengths, 32-byte hashes, the exact
   * nodes the compact range created, indexes inside the batch). On rejection nothing is written.
   * An empty batch writes nothing. After a failed write it rejects with
   * {@link StoreUnavailableError} until the store has reopened (see the module comment).
   */
  async appendBatch(batch: AppendBatch): Promise<void> {
    this.#open();
    if (this.#appending) throw new Error('storage: appendBatch already in flight (the log is the single writer)');
    this.#appending = true;
    try {
      const prepared = () => {
        const { end, digestBytes } = checkAppendBatch(batch, this.#size);
        const first = batch.first;
        if (end === first) return undefined;
        if (end - 1n > BigInt(MAX_RECORD_INDEX)) throw new Error(`storage: layout 2 indexes entries below 2^40; entry ${end - 1n} is beyond`);
        const { entries, leafHashes, nodes, digests, attachments } = batch;
        const secondary = batch.secondary ?? [];
        // The digests in index order with their packed bytes (checkAppendBatch decoded them).
        const order = digests.map((_, i) => i);
        if (order.some((i) => i > 0 && (digests[i] as { index: bigint }).index < (digests[i - 1] as { index: bigint }).index)) {
          order.sort((a, b) => Number((digests[a] as { index: bigint }).index - (digests[b] as { index: bigint }).index));
        }
        const sorted = order.map((i) => ({ alg: (digests[i] as { alg: string }).alg, digest: digestBytes.subarray(32 * i, 32 * i + 32), index: (digests[i] as { index: bigint }).index }));
        const plan = planFlush(this.#tail, entries, nodes, sorted);
        const keys = new KeyArena(9 * attachments.length + 48 * secondary.length);
        // A chained batch builds one native LevelDB WriteBatch (it copies each key and value as
        // it is added) and commits it with a single fsynced write; it is ~2.5x faster than the
        // array form for thousands of puts. Nothing is visible until write() resolves.
        const wb = this.#db.batch();
        try {
          for (const o of plan.ops) if (o.type === 'put') wb.put(o.key, o.value);
          else wb.del(o.key);
          for (const a of attachments) wb.put(keys.attachment(a.index), a.bytes);
          for (const x of secondary) wb.put(keys.secondary(x.name, x.key, x.index), EMPTY);
          wb.put(SIZE_KEY, encodeU64(end));
        } catch (err) {
          void wb.close();
          throw err;
        }
        return { wb, end, tail: plan.tail, digests: sorted };
      };
      const done = await this.#h.write(prepared, async (p) => {
        if (p !== undefined) await p.wb.write({ sync: true });
      });
      if (done !== undefined) {
        // Size, tail and runs move together, synchronously: a reader sees all of one flush or none.
        this.#size = done.end;
        this.#tail = done.tail;
        this.#indexes.added(batch.first, batch.leafHashes, done.digests);
      }
    } finally {
      this.#appending = false;
    }
  }

  /** getBlockCount returns the number of blocks (the next height). */
  async getBlockCount(): Promise<bigint> {
    this.#open();
    return this.#blockCount;
  }

  /** getBlock returns the block at `height`, if any. Requires: height a uint64. */
  async getBlock(height: bigint): Promise<BlockJson | undefined> {
    this.#open();
    const v = await this.#h.use(() => this.#db.get(blockKey(height)));
    return v === undefined ? undefined : decodeStoredBlock(fromUtf8(v, 'stored block'), height);
  }

  /** getBlocks returns blocks [from, from+limit) that exist, in order, with one range scan. */
  async getBlocks(from: bigint, limit: number): Promise<BlockJson[]> {
    this.#open();
    checkIndex(from, 'getBlocks from');
    checkCount(limit, 'getBlocks limit');
    const count = this.#blockCount;
    if (limit === 0 || from >= count) return [];
    const end = from + BigInt(limit) < count ? from + BigInt(limit) : count;
    const rows = await this.#h.use(() => this.#db.iterator({ ...indexRange(PREFIX.block, from, end) }).all());
    if (BigInt(rows.length) !== end - from) throw new Error(`storage: blocks [${from}, ${end}) incomplete: got ${rows.length}`);
    return rows.map(([k, v], i) => {
      const height = from + BigInt(i);
      if (indexOfKey(k) !== height) throw new Error(`storage: block ${height} missing`);
      return decodeStoredBlock(fromUtf8(v, 'stored block'), height);
    });
  }

  /**
   * appendBlock durably (sync) writes the block at height = getBlockCount() and the new count in
   * one batch. Requires: a well-formed BlockJson at exactly that height, no appendBlock in flight.
   */
  async appendBlock(block: BlockJson): Promise<void> {
    this.#open();
    if (this.#appendingBlock) throw new Error('storage: appendBlock already in flight (the log is the single writer)');
    this.#appendingBlock = true;
    try {
      const height = await this.#h.write(
        () => {
          const at = this.#blockCount;
          return { at, text: checkBlockToAppend(block, at) };
        },
        (p) =>
          this.#db.batch(
            [
              { type: 'put', key: blockKey(p.at), value: utf8(p.text) },
              { type: 'put', key: BLOCK_COUNT_KEY, value: encodeU64(p.at + 1n) },
            ],
            { sync: true },
          ),
      );
      this.#blockCount = height.at + 1n;
    } finally {
      this.#appendingBlock = false;
    }
  }

  /** putEvidence durably (sync) stores block evidence (see {@link LedgerStore.putEvidence}). */
  async putEvidence(kind: string, height: bigint, value: Uint8Array): Promise<void> {
    this.#open();
    checkEvidence(kind, height, value, this.#blockCount);
    const key = evidenceKey(kind, height);
    await this.#h.write(
      () => undefined,
      () => this.#db.put(key, value, { sync: true }),
    );
  }

  /** listEvidence scans block evidence of `kind` from height `from`, ascending (one range scan). */
  async listEvidence(kind: string, from: bigint, limit: number): Promise<Array<{ height: bigint; value: Uint8Array }>> {
    this.#open();
    checkIndex(from, 'listEvidence from');
    checkCount(limit, 'listEvidence limit');
    if (limit === 0) return [];
    const prefix = evidencePrefix(kind);
    const rows = await this.#h.use(() => this.#db.iterator({ gte: prefixed(prefix, from), lt: prefixEnd(prefix), limit }).all());
    return rows.map(([k, v]) => ({ height: indexOfKey(k), value: new Uint8Array(v) }));
  }

  /** lastEvidence reads the block evidence of `kind` at the greatest height (one reverse seek). */
  async lastEvidence(kind: string): Promise<{ height: bigint; value: Uint8Array } | undefined> {
    this.#open();
    const prefix = evidencePrefix(kind);
    const [row] = await this.#h.use(() => this.#db.iterator({ gte: prefix, lt: prefixEnd(prefix), reverse: true, limit: 1 }).all());
    return row === undefined ? undefined : { height: indexOfKey(row[0]), value: new Uint8Array(row[1]) };
  }

  /** getMeta returns the named value, if set. */
  async getMeta(key: string): Promise<string | undefined> {
    this.#open();
    const v = await this.#h.use(() => this.#db.get(metaKey(key)));
    return v === undefined ? undefined : fromUtf8(v, `meta ${key}`);
  }

  /** putMeta durably (sync) sets a named value. Requires: key of 1–256 UTF-8 bytes, a string value. */
  async putMeta(key: string, value: string): Promise<void> {
    this.#open();
    checkMetaValue(value);
    const k = metaKey(key);
    await this.#h.write(
      () => undefined,
      () => this.#db.put(k, utf8(value), { sync: true }),
    );
  }

  /** putApiKey durably (sync) stores or replaces the record keyed by its secretHash. */
  async putApiKey(record: ApiKeyRecord): Promise<void> {
    this.#open();
    const text = checkApiKeyRecord(record);
    await this.#h.write(
      () => undefined,
      () => this.#db.put(apiKeyKey(record.secretHash), utf8(text), { sync: true }),
    );
    // After the write resolved (a load in flight read either version; this one is the newest).
    // A table whose load failed is dropped (the next lookup reads again): the write stands either way.
    const table = await this.#apiKeys?.catch(() => undefined);
    table?.set(record.secretHash, Object.freeze(decodeStoredApiKey(text)));
  }

  /** getApiKeyBySecretHash returns the record whose secret hashes to `secretHash`, if any (from the in-memory table). */
  async getApiKeyBySecretHash(secretHash: string): Promise<ApiKeyRecord | undefined> {
    this.#open();
    checkSecretHash(secretHash);
    if (this.#apiKeys === undefined) {
      const loading = this.listApiKeys().then((all) => new Map(all.map((k) => [k.secretHash, Object.freeze(k)])));
      this.#apiKeys = loading;
      // A failed load is not remembered: the next lookup reads again.
      loading.catch(() => {
        if (this.#apiKeys === loading) this.#apiKeys = undefined;
      });
    }
    return (await this.#apiKeys).get(secretHash);
  }

  /** listApiKeys returns every stored API key record, in secretHash order (one range scan). */
  async listApiKeys(): Promise<ApiKeyRecord[]> {
    this.#open();
    const values = await this.#h.use(() => this.#db.values(prefixRange(PREFIX.apiKey)).all());
    return values.map((v) => decodeStoredApiKey(fromUtf8(v, 'api key record')));
  }

  /** putRecords durably (sync) writes one table's rows in one batch (src/storage/records.ts). */
  async putRecords(table: string, rows: readonly RecordWrite[]): Promise<void> {
    this.#open();
    const ops = rows.map((r) => {
      const key = recordKey(table, r.key);
      if (r.value === undefined) return { type: 'del' as const, key };
      checkRecordValue(r.value);
      return { type: 'put' as const, key, value: utf8(r.value) };
    });
    if (ops.length > 0) await this.#h.write(() => undefined, () => this.#db.batch(ops, { sync: true }));
  }

  /** getRecord returns the value stored under (`table`, `key`), if any. */
  async getRecord(table: string, key: string): Promise<string | undefined> {
    this.#open();
    const v = await this.#h.use(() => this.#db.get(recordKey(table, key)));
    return v === undefined ? undefined : fromUtf8(v, `record ${table}`);
  }

  /** listRecords returns the rows of `table` in the query's range (one range scan). */
  async listRecords(table: string, query: RecordQuery): Promise<RecordRow[]> {
    this.#open();
    const range = recordRange(table, query);
    const rows = await this.#h.use(() => this.#db.iterator({ ...range, limit: query.limit, reverse: query.reverse === true }).all());
    return rows.map(([k, v]) => ({ key: recordKeyOf(table, k), value: fromUtf8(v, `record ${table}`) }));
  }

  /** close releases the LevelDB handle and its lock; later calls reject. Idempotent. */
  async close(): Promise<void> {
    // Merges are unsynced reorganizations: the one in flight finishes (or is cleared at the next open).
    await this.#indexes.close();
    return this.#h.close();
  }
}
