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
 * - A failed write poisons the handle (see {@link LevelStore.health}). LevelDB appends every write
 *   to its log file; a write that fails half way (ENOSPC) leaves a torn record there, and on the
 *   next open LevelDB drops the log from that record on, including every later write that
 *   "succeeded" on the same handle: acknowledged entries would vanish after a crash. So after a
 *   failed write no further write reaches that handle: writes are refused with
 *   {@link StoreUnavailableError} until the store has been closed and reopened (which replays the
 *   log up to the torn record and starts a new log file). Writes are serialized, so no write can be
 *   in flight behind a failing one. Reopening waits for reads in flight and holds new ones for its
 *   few milliseconds; it is attempted at most every `retryMs`, and while the disk is full only once
 *   the free space could hold the log being replayed, so reads keep working on the old handle.
 */
import { readdirSync, statSync, statfsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Level } from 'level';
import type { BlockJson } from '../core/block.js';
import { MAX_SAFE_BIGINT, fromUtf8, utf8 } from '../core/bytes.js';
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
  digestPrefix,
  encodeU64,
  entryKey,
  evidenceKey,
  evidencePrefix,
  indexOfKey,
  indexRange,
  leafHashPrefix,
  metaKey,
  nodeKey,
  prefixEnd,
  prefixRange,
  prefixed,
  secondaryPrefix,
} from './keys.js';
import { checkRecordValue, recordKey, recordKeyOf, recordRange, type RecordQuery, type RecordRow, type RecordWrite } from './records.js';
import { StoreUnavailableError, type AppendBatch, type ApiKeyRecord, type LedgerStore, type StoreHealth } from './store.js';

/**
 * StoreLockedError is thrown by {@link LevelStore.open} when another Guzheng process (or another
 * LevelStore in this process) holds the data directory's LevelDB lock (DESIGN.md §4: one writer).
 */
export class StoreLockedError extends Error {
  /** Stable code for callers (CLI exit message, service start-up). */
  readonly code = 'STORE_LOCKED' as const;
  /** The data directory, resolved to an absolute path. */
  readonly dir: string;
  constructor(dir: string, options?: { cause?: unknown }) {
    super(`data directory ${dir} is in use by another Guzheng process (LevelDB lock held)`, options);
    this.name = 'StoreLockedError';
    this.dir = dir;
  }
}

type Db = Level<Uint8Array, Uint8Array>;

const EMPTY = new Uint8Array(0);

/** A plain Uint8Array that owns its memory (LevelDB hands back Buffers; copy any pooled view). */
function own(v: Uint8Array): Uint8Array {
  if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) return new Uint8Array(v.buffer, 0, v.byteLength);
  return new Uint8Array(v);
}

function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
}

function isLockError(err: unknown): boolean {
  if (errorCode(err) === 'LEVEL_LOCKED') return true;
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? err.cause : undefined;
  return errorCode(cause) === 'LEVEL_LOCKED';
}

/** Is this LevelDB (or fs) error a full disk? */
function isNoSpace(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === 'ENOSPC') return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && /no space left on device|ENOSPC/i.test(message)) return true;
  }
  return false;
}

/** Options of {@link LevelStore.open}. */
export interface LevelStoreOptions {
  /** Least time between two attempts to reopen after a failed write, ms (default 1,000). */
  readonly retryMs?: number;
  /** Free bytes wanted beyond the size of LevelDB's log files before reopening a full store (default 1 MiB). */
  readonly reserveBytes?: number;
  /** Where state changes (write failed, reopened) are reported (default: nowhere). */
  readonly onEvent?: (message: string) => void;
}

function readU64Value(v: Uint8Array | undefined, what: string): bigint {
  if (v === undefined) return 0n;
  if (v.length !== U64_SIZE) throw new Error(`storage: ${what} value is ${v.length} bytes, want ${U64_SIZE}`);
  return decodeU64(v);
}

/**
 * LevelStore implements {@link LedgerStore} over one LevelDB directory. Open it with
 * {@link LevelStore.open}; it is the only writer of that directory until {@link LevelStore.close}.
 * See DESIGN.md §3 and contracts-free-ledger/SPEC.md#storage.
 */
export class LevelStore implements LedgerStore {
  readonly #db: Db;
  /** Absolute path of the data directory. */
  readonly dir: string;
  #size: bigint;
  #blockCount: bigint;
  #appending = false;
  #appendingBlock = false;
  #closed = false;
  readonly #o: Required<Omit<LevelStoreOptions, 'onEvent'>> & Pick<LevelStoreOptions, 'onEvent'>;
  /** Why writes are refused, since when; undefined while healthy. */
  #failure: { readonly error: unknown; readonly full: boolean; readonly since: string } | undefined;
  /** The handle is closed because reopening failed: reads are refused too. */
  #down = false;
  #lastReopenAt = 0;
  #reopening: Promise<void> | undefined;
  /** Tail of the chain that serializes writes. */
  #writes: Promise<unknown> = Promise.resolve();
  /** Operations using the handle now, and the gate a reopen holds them at. */
  #users = 0;
  #gate: Promise<void> | undefined;
  #idle: (() => void) | undefined;
  /** Successful reopens after failed writes (for tests and metrics). */
  reopens = 0;
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

  private constructor(db: Db, dir: string, size: bigint, blockCount: bigint, options: LevelStoreOptions) {
    this.#db = db;
    this.dir = dir;
    this.#size = size;
    this.#blockCount = blockCount;
    this.#o = { retryMs: options.retryMs ?? 1000, reserveBytes: options.reserveBytes ?? 1 << 20, onEvent: options.onEvent };
  }

  /**
   * LevelStore.open opens (creating if needed) the store in `dir` and loads its size and block
   * count. Requires: no other process or LevelStore has `dir` open, else it rejects at once with
   * {@link StoreLockedError} (`code: 'STORE_LOCKED'`, message naming the directory).
   */
  static async open(dir: string, options: LevelStoreOptions = {}): Promise<LevelStore> {
    const abs = resolve(dir);
    const db: Db = new Level<Uint8Array, Uint8Array>(abs, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      if (isLockError(err)) throw new StoreLockedError(abs, { cause: err });
      throw err;
    }
    try {
      const [size, blocks] = await db.getMany([SIZE_KEY, BLOCK_COUNT_KEY]);
      return new LevelStore(db, abs, readU64Value(size, 's:size'), readU64Value(blocks, 's:blocks'), options);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  #open(): void {
    if (this.#closed) throw new Error(`storage: store ${this.dir} is closed`);
  }

  /** health reports whether writes (and reads) work now; see {@link StoreHealth}. */
  health(): StoreHealth {
    const f = this.#failure;
    if (f === undefined) return { state: 'ok' };
    return { state: this.#down ? 'down' : f.full ? 'full' : 'failed', since: f.since };
  }

  #unavailable(): StoreUnavailableError {
    const f = this.#failure;
    const full = f?.full ?? false;
    const what = this.#down
      ? 'storage is down: the database could not be reopened after a failed write'
      : full
        ? 'storage is full: no space left on device; writes are refused until space is freed'
        : 'storage failed a write; writes are refused until the database has been reopened';
    return new StoreUnavailableError(what, full, { cause: f?.error });
  }

  /**
   * #use runs `f` on the handle: after a reopen in progress, and counted, so a reopen waits for it.
   * While the store is down it first tries to reopen (rate-limited) and otherwise refuses.
   */
  async #use<T>(f: () => Promise<T>): Promise<T> {
    this.#open();
    while (this.#gate !== undefined) await this.#gate;
    if (this.#down) {
      await this.#reopen();
      if (this.#down) throw this.#unavailable();
      while (this.#gate !== undefined) await this.#gate;
    }
    this.#open();
    this.#users++;
    try {
      return await f();
    } finally {
      if (--this.#users === 0) this.#idle?.();
    }
  }

  /**
   * #write serializes a mutation: it runs after every earlier write has settled; if an earlier
   * write failed, only after a successful reopen. `commit` must perform exactly one LevelDB write;
   * if it fails, the handle is poisoned and the caller gets {@link StoreUnavailableError}.
   */
  #write<T>(prepare: () => T, commit: (prepared: T) => Promise<void>): Promise<T> {
    const run = async (): Promise<T> => {
      this.#open();
      if (this.#failure !== undefined) {
        await this.#reopen();
        if (this.#failure !== undefined) throw this.#unavailable();
      }
      if (this.#grown) {
        // The caller's view (size, block count) predates what the reopen found: let it resync.
        this.#grown = false;
        throw new StoreUnavailableError(`storage reopened holding ${this.#size} entries and ${this.#blockCount} blocks: a write reported as failed had landed; retry`, false);
      }
      return this.#use(async () => {
        const prepared = prepare();
        try {
          await commit(prepared);
        } catch (err) {
          this.#poison(err);
          throw this.#unavailable();
        }
        return prepared;
      });
    };
    const result = this.#writes.then(run, run);
    this.#writes = result.catch(() => undefined);
    return result;
  }

  #poison(err: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = { error: err, full: isNoSpace(err), since: new Date().toISOString() };
    this.#lastReopenAt = Date.now();
    this.#o.onEvent?.(`storage: a write failed (${(err as Error).message ?? String(err)}); refusing writes until the database can be reopened`);
  }

  /** Bytes free on the store's filesystem, and bytes a reopen needs (LevelDB replays its log files into a table). */
  #space(): { free: number; need: number } {
    let logs = 0;
    for (const name of readdirSync(this.dir)) if (name.endsWith('.log')) logs += statSync(join(this.dir, name)).size;
    const fs = statfsSync(this.dir);
    return { free: fs.bavail * fs.bsize, need: logs + this.#o.reserveBytes };
  }

  /**
   * #reopen closes and reopens the handle after a failed write (at most every `retryMs`; while the
   * disk is full, only when the free space could hold the replayed log, so that reads keep
   * working on the open handle meanwhile). It waits for operations in flight and holds new ones.
   * On success the failure is cleared and the size and block count are reloaded from disk (a write
   * whose fsync failed may or may not have landed). If LevelDB cannot open, the store is down.
   */
  #reopen(): Promise<void> {
    if (this.#reopening !== undefined) return this.#reopening;
    const failure = this.#failure;
    if (failure === undefined || this.#closed) return Promise.resolve();
    if (Date.now() - this.#lastReopenAt < this.#o.retryMs) return Promise.resolve();
    this.#lastReopenAt = Date.now();
    if (!this.#down && failure.full) {
      try {
        const { free, need } = this.#space();
        if (free < need) return Promise.resolve();
      } catch {
        return Promise.resolve();
      }
    }
    let release!: () => void;
    this.#gate = new Promise<void>((r) => (release = r));
    this.#reopening = (async () => {
      try {
        if (this.#users > 0) await new Promise<void>((r) => (this.#idle = r));
        this.#idle = undefined;
        try {
          if (this.#db.status === 'open') await this.#db.close();
          await this.#db.open();
          const [size, blocks] = await this.#db.getMany([SIZE_KEY, BLOCK_COUNT_KEY]);
          const stored = readU64Value(size, 's:size');
          const count = readU64Value(blocks, 's:blocks');
          if (stored !== this.#size || count !== this.#blockCount) this.#grown = true;
          this.#apiKeys = undefined;
          this.#size = stored;
          this.#blockCount = count;
        } catch (err) {
          if (!this.#down) this.#o.onEvent?.(`storage: reopening failed (${(err as Error).message ?? String(err)}); reads and writes are refused until it succeeds`);
          this.#down = true;
          this.#failure = { error: err, full: failure.full || isNoSpace(err), since: failure.since };
          return;
        }
        this.#down = false;
        this.#failure = undefined;
        this.reopens++;
        this.#o.onEvent?.(`storage: reopened after a failed write; writes resume at size ${this.#size}`);
      } finally {
        this.#gate = undefined;
        this.#reopening = undefined;
        release();
      }
    })();
    return this.#reopening;
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
    if (end - start === 1n) {
      // One entry (a receipt, a lookup): a point read costs a fraction of an iterator.
      const v = await this.#use(() => this.#db.get(entryKey(start)));
      if (v === undefined) throw new Error(`storage: entry ${start} missing`);
      return [own(v)];
    }
    const rows = await this.#use(() => this.#db.iterator({ ...indexRange(PREFIX.entry, start, end) }).all());
    if (BigInt(rows.length) !== end - start) throw new Error(`storage: entries [${start}, ${end}) incomplete: got ${rows.length}`);
    return rows.map(([k, v], i) => {
      if (indexOfKey(k) !== start + BigInt(i)) throw new Error(`storage: entry ${start + BigInt(i)} missing`);
      return own(v);
    });
  }

  /** getAttachment returns the attachment of entry `index`, if any. Requires: index a uint64. */
  async getAttachment(index: bigint): Promise<Uint8Array | undefined> {
    this.#open();
    const v = await this.#use(() => this.#db.get(attachmentKey(index)));
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
    const values = await this.#use(() => this.#db.getMany(ids.map((id) => nodeKey(id.level, id.index))));
    if (values.length !== ids.length) throw new Error(`storage: bad math: getMany returned ${values.length} values for ${ids.length} keys`);
    return values.map((v, i) => {
      const id = ids[i] as NodeId;
      if (v === undefined) throw new Error(`storage: node ${id.level}/${id.index} missing`);
      if (v.length !== 32) throw new Error(`storage: node ${id.level}/${id.index} is ${v.length} bytes, want 32`);
      return own(v);
    });
  }

  /** lookupDigest returns the indexes of entries with content digest `{alg, hex}`, ascending (prefix scan). */
  async lookupDigest(alg: string, hex: string): Promise<bigint[]> {
    this.#open();
    const digest = checkDigestArg(alg, hex);
    return this.#scanIndexes(digestPrefix(alg, digest));
  }

  /** lookupLeafHash returns the indexes of entries with this leaf hash, ascending (prefix scan). */
  async lookupLeafHash(leafHash: Uint8Array): Promise<bigint[]> {
    this.#open();
    checkHash(leafHash, 'lookupLeafHash leafHash');
    return this.#scanIndexes(leafHashPrefix(leafHash));
  }

  /** lookupSecondary returns up to `limit` indexes >= `start` under (`name`, `key`), ascending. */
  async lookupSecondary(name: string, key: string, start: bigint, limit: number): Promise<bigint[]> {
    this.#open();
    checkIndex(start, 'lookupSecondary start');
    checkCount(limit, 'lookupSecondary limit');
    const prefix = secondaryPrefix(name, key);
    if (limit === 0) return [];
    const keys = await this.#use(() => this.#db.keys({ gte: prefixed(prefix, start), lt: prefixEnd(prefix), limit }).all());
    const size = this.#size;
    return keys.map((k) => indexOfKey(k)).filter((i) => i < size);
  }

  /**
   * The indexes stored under `prefix`, ascending. Only acknowledged entries (index < size) are
   * returned: in the instant between a batch reaching disk and appendBatch resolving, its keys
   * are already visible to a scan but not yet part of the size.
   */
  async #scanIndexes(prefix: Uint8Array): Promise<bigint[]> {
    const keys = await this.#use(() => this.#db.keys(prefixRange(prefix)).all());
    const size = this.#size;
    const out: bigint[] = [];
    for (const k of keys) {
      if (k.length !== prefix.length + U64_SIZE) throw new Error('storage: malformed index key');
      const index = indexOfKey(k);
      if (index < size) out.push(index);
    }
    return out;
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
        const { entries, leafHashes, nodes, digests, attachments } = batch;
        const secondary = batch.secondary ?? [];
        const n = entries.length;
        // Entry i's index as a number while the log is below 2^53 (always, in practice): no
        // bigint per key. The keys go into a few shared buffers (KeyArena), same bytes as entryKey etc.
        const safe = end <= MAX_SAFE_BIGINT;
        const f = safe ? Number(first) : 0;
        const keys = new KeyArena(50 * n + 10 * nodes.length + 48 * digests.length + 9 * attachments.length + 48 * secondary.length);
        // A chained batch builds one native LevelDB WriteBatch (it copies each key and value as
        // it is added) and commits it with a single fsynced write; it is ~2.5x faster than the
        // array form for thousands of puts. Nothing is visible until write() resolves.
        const wb = this.#db.batch();
        try {
          for (let i = 0; i < n; i++) wb.put(keys.entry(safe ? f + i : first + BigInt(i)), entries[i] as Uint8Array);
          for (let i = 0; i < n; i++) wb.put(keys.leafHash(leafHashes[i] as Uint8Array, safe ? f + i : first + BigInt(i)), EMPTY);
          for (const node of nodes) wb.put(keys.node(node.level, node.index), node.hash);
          for (let i = 0; i < digests.length; i++) {
            const d = digests[i] as AppendBatch['digests'][number];
            wb.put(keys.digest(d.alg, digestBytes, 32 * i, d.index), EMPTY);
          }
          for (const a of attachments) wb.put(keys.attachment(a.index), a.bytes);
          for (const x of secondary) wb.put(keys.secondary(x.name, x.key, x.index), EMPTY);
          wb.put(SIZE_KEY, encodeU64(end));
        } catch (err) {
          void wb.close();
          throw err;
        }
        return { wb, end };
      };
      const done = await this.#write(prepared, async (p) => {
        if (p !== undefined) await p.wb.write({ sync: true });
      });
      if (done !== undefined) this.#size = done.end;
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
    const v = await this.#use(() => this.#db.get(blockKey(height)));
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
    const rows = await this.#use(() => this.#db.iterator({ ...indexRange(PREFIX.block, from, end) }).all());
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
      const height = await this.#write(
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
    await this.#write(
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
    const rows = await this.#use(() => this.#db.iterator({ gte: prefixed(prefix, from), lt: prefixEnd(prefix), limit }).all());
    return rows.map(([k, v]) => ({ height: indexOfKey(k), value: new Uint8Array(v) }));
  }

  /** lastEvidence reads the block evidence of `kind` at the greatest height (one reverse seek). */
  async lastEvidence(kind: string): Promise<{ height: bigint; value: Uint8Array } | undefined> {
    this.#open();
    const prefix = evidencePrefix(kind);
    const [row] = await this.#use(() => this.#db.iterator({ gte: prefix, lt: prefixEnd(prefix), reverse: true, limit: 1 }).all());
    return row === undefined ? undefined : { height: indexOfKey(row[0]), value: new Uint8Array(row[1]) };
  }

  /** getMeta returns the named value, if set. */
  async getMeta(key: string): Promise<string | undefined> {
    this.#open();
    const v = await this.#use(() => this.#db.get(metaKey(key)));
    return v === undefined ? undefined : fromUtf8(v, `meta ${key}`);
  }

  /** putMeta durably (sync) sets a named value. Requires: key of 1–256 UTF-8 bytes, a string value. */
  async putMeta(key: string, value: string): Promise<void> {
    this.#open();
    checkMetaValue(value);
    const k = metaKey(key);
    await this.#write(
      () => undefined,
      () => this.#db.put(k, utf8(value), { sync: true }),
    );
  }

  /** putApiKey durably (sync) stores or replaces the record keyed by its secretHash. */
  async putApiKey(record: ApiKeyRecord): Promise<void> {
    this.#open();
    const text = checkApiKeyRecord(record);
    await this.#write(
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
    const values = await this.#use(() => this.#db.values(prefixRange(PREFIX.apiKey)).all());
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
    if (ops.length > 0) await this.#write(() => undefined, () => this.#db.batch(ops, { sync: true }));
  }

  /** getRecord returns the value stored under (`table`, `key`), if any. */
  async getRecord(table: string, key: string): Promise<string | undefined> {
    this.#open();
    const v = await this.#use(() => this.#db.get(recordKey(table, key)));
    return v === undefined ? undefined : fromUtf8(v, `record ${table}`);
  }

  /** listRecords returns the rows of `table` in the query's range (one range scan). */
  async listRecords(table: string, query: RecordQuery): Promise<RecordRow[]> {
    this.#open();
    const range = recordRange(table, query);
    const rows = await this.#use(() => this.#db.iterator({ ...range, limit: query.limit, reverse: query.reverse === true }).all());
    return rows.map(([k, v]) => ({ key: recordKeyOf(table, k), value: fromUtf8(v, `record ${table}`) }));
  }

  /** close releases the LevelDB handle and its lock; later calls reject. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes;
    while (this.#gate !== undefined) await this.#gate;
    if (this.#db.status === 'open') await this.#db.close();
  }
}
