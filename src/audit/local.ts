/**
 * Audit source over a stopped data directory (or a backup copy of one), read straight from
 * LevelDB with the key layout of src/storage/keys.ts. It bypasses LevelStore on purpose: an
 * auditor must see exactly what is stored (gaps, extra keys, malformed values) rather than what a
 * well-behaved reader would return. LevelDB's lock still applies: a directory held by a running
 * server (or by a LevelStore in this process) fails fast with {@link StoreLockedError}.
 *
 * The directory is opened with classic-level's `multithreading` option, so replay workers open
 * the same database and read their own chunks: storage decoding is then as parallel as hashing.
 * Reads are range scans in key order plus one batched `hasMany` per chunk for the digest and
 * leaf-hash indexes, so memory stays constant.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Level } from 'level';
import { MAX_UINT64, fromUtf8, toHex } from '../core/bytes.js';
import { decodeEntry } from '../core/entry/codec.js';
import { HASH_SIZE, type TreeHasher } from '../core/merkle/hash.js';
import { buildProof, planConsistency } from '../core/merkle/plan.js';
import { StoreLockedError } from '../storage/level.js';
import { TSA_EVIDENCE, decodeStoredToken } from '../log/stamps.js';
import { COSIGNATURE_EVIDENCE } from '../log/cosignatures.js';
import { BLOCK_COUNT_KEY, PREFIX, SIZE_KEY, U64_SIZE, decodeU64, entryKey, evidenceKey, indexOfKey, indexRange, nodeKey, prefixEnd, prefixRange } from '../storage/keys.js';
import { IndexPrint } from './print.js';
import type { Problem } from './report.js';
import type { CountResult, EntryRead, IndexItem, IndexRange, LocalReads, StoredNodes } from './reads.js';
import { AuditAbort, type AuditSource, type BlockItem, type SourceInfo } from './source.js';

/** A LevelDB handle with raw binary keys and values. */
export type Db = Level<Uint8Array, Uint8Array>;

/** Most problems of one kind the final checks list before they stop looking. */
const FINISH_LIMIT = 10;

/**
 * Scans read up to this many bytes per round trip into LevelDB (classic-level's default is 16 KiB,
 * which turns one chunk's scan into dozens of thread-pool round trips).
 */
const HIGH_WATER = 16 * 1024 * 1024;

function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
}

function isLockError(err: unknown): boolean {
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? (err as { cause: unknown }).cause : undefined;
  return errorCode(err) === 'LEVEL_LOCKED' || errorCode(cause) === 'LEVEL_LOCKED';
}

/**
 * resolveLedgerDir finds the LevelDB directory: `<dir>/ledger` of a data directory
 * (src/setup.ts dataPaths), or `dir` itself when it is a LevelDB directory (e.g. a backup of
 * `ledger/`). Throws {@link AuditAbort} when neither exists.
 */
export function resolveLedgerDir(dir: string): string {
  const abs = resolve(dir);
  if (existsSync(join(abs, 'ledger', 'CURRENT'))) return join(abs, 'ledger');
  if (existsSync(join(abs, 'CURRENT'))) return abs;
  throw new AuditAbort(`no Guzheng ledger at ${abs} (want a data directory holding ledger/, or a LevelDB directory)`);
}

/**
 * openDb opens the LevelDB at `path` (an already resolved ledger directory) for reading, never
 * creating it, shareable with worker threads of this process. Throws {@link StoreLockedError}
 * when another process (or a LevelStore in this one) holds it.
 */
export async function openDb(path: string): Promise<Db> {
  // 'buffer' encodings: classic-level hands back Buffers (Uint8Arrays) natively; 'view' costs a transcode per item.
  const db: Db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false, multithreading: true });
  try {
    await db.open();
  } catch (err) {
    if (isLockError(err)) throw new StoreLockedError(path, { cause: err });
    throw new AuditAbort(`cannot open the LevelDB at ${path}: ${(err as Error).message}`, { cause: err });
  }
  return db;
}

/**
 * The key encoding of value-only scans ({@link collectValues}). classic-level's iterators hand
 * back a key even when only values were asked for (an empty one), and an empty Buffer costs
 * nearly as much to make as a full one: a third of the cost of each item. This encoding declares
 * the `utf8` format, so that key comes back as a (free) empty string, while it passes the range
 * bounds through as the bytes they are (classic-level takes a Buffer, a Uint8Array or a string for
 * a bound, whatever the format). Only for `iterator({ keys: false })`: `values()` would resolve
 * the format name again and encode the bounds as UTF-8 text, which is lossy.
 */
const NO_KEY = new Uint8Array(0);
const UNUSED_KEYS = {
  name: 'guzheng-audit-unused-keys',
  format: 'utf8' as const,
  encode: (key: Uint8Array): Uint8Array => key,
  decode: (): Uint8Array => NO_KEY,
};

/** collect reads up to `max` items of an iterator in as few round trips as possible, then closes it. */
async function collect<T>(it: { nextv(size: number): Promise<T[]>; close(): Promise<void> }, max: number): Promise<T[]> {
  let out: T[] = [];
  try {
    while (out.length < max) {
      const got = await it.nextv(max - out.length);
      if (got.length === 0) break;
      out = out.length === 0 ? got : out.concat(got);
    }
  } finally {
    await it.close();
  }
  return out;
}

/** collectValues reads the values of up to `max` keys of a range (see {@link UNUSED_KEYS}). */
async function collectValues(db: Db, range: { gte?: Uint8Array; lt?: Uint8Array; fillCache?: boolean; highWaterMarkBytes?: number }, max: number): Promise<Uint8Array[]> {
  const rows = await collect(db.iterator({ ...range, keys: false, keyEncoding: UNUSED_KEYS }), max);
  const out = new Array<Uint8Array>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = (rows[i] as [Uint8Array, Uint8Array])[1];
  return out;
}

/** A copy that owns its memory (LevelDB hands back Buffers that may share a pool). */
function own(v: Uint8Array): Uint8Array {
  return new Uint8Array(v);
}

function u64(v: Uint8Array | undefined, what: string): bigint {
  if (v === undefined) return 0n;
  if (v.length !== U64_SIZE) throw new AuditAbort(`${what} is ${v.length} bytes, want ${U64_SIZE}: the store is damaged beyond replay`);
  return decodeU64(v);
}

/** The end of the node family of one level: keys `n ‖ u8(level) ‖ …`. */
function levelEnd(level: number): Uint8Array {
  return prefixEnd(Uint8Array.of(PREFIX.node[0] as number, level));
}

/**
 * tailBelow tells whether the key's trailing u64 (big-endian) is below the one in `limit`; false
 * for a key too short to hold one (the caller then looks closer).
 */
function tailBelow(key: Uint8Array, limit: Uint8Array): boolean {
  if (key.length < 1 + U64_SIZE) return false;
  const at = key.length - U64_SIZE;
  for (let i = 0; i < U64_SIZE; i++) {
    const a = key[at + i] as number;
    const b = limit[i] as number;
    if (a !== b) return a < b;
  }
  return false;
}

/**
 * The reads of an audit over one LevelDB handle: used by the main thread and, over their own
 * handles to the same database, by the replay workers.
 */
export class LocalReader implements LocalReads {
  readonly #db: Db;
  /** The stored size, for messages (set by the main thread; workers pass it in the task). */
  size = 0n;
  readonly #digestPrefixes = new Map<string, Uint8Array>();

  constructor(db: Db) {
    this.#db = db;
  }

  get db(): Db {
    return this.#db;
  }

  /** readEntries reads entries [start, start + count), stopping at the first missing one. */
  async readEntries(start: bigint, count: number): Promise<EntryRead> {
    const range = indexRange(PREFIX.entry, start, start + BigInt(count));
    const values = await collectValues(this.#db, { ...range, fillCache: false, highWaterMarkBytes: HIGH_WATER }, count);
    let n = values.length;
    let gap: Problem | undefined;
    if (n < count) {
      // Fewer values than wanted: find the first index that is not stored.
      const keys = await collect(this.#db.keys({ ...range, highWaterMarkBytes: HIGH_WATER }), count);
      n = keys.findIndex((k, i) => indexOfKey(k) !== start + BigInt(i));
      if (n === -1) n = keys.length;
      const missing = start + BigInt(n);
      const [next] = await this.#db.keys({ gte: entryKey(missing), lt: prefixEnd(PREFIX.entry), limit: 1 }).all();
      gap = {
        kind: 'entry-missing',
        index: missing,
        message: `entry ${missing} is not stored, but the stored size is ${this.size}; the tree cannot be replayed past it`,
        expected: `entry ${missing}`,
        found: next === undefined ? 'no entry at or after it' : `the next stored entry is ${indexOfKey(next)}`,
      };
    }
    let total = 0;
    for (let i = 0; i < n; i++) total += (values[i] as Uint8Array).length;
    const data = new Uint8Array(total);
    const lengths = new Uint32Array(n);
    let off = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i] as Uint8Array;
      data.set(v, off);
      lengths[i] = v.length;
      off += v.length;
    }
    const rows = n === 0 ? [] : await collect(this.#db.iterator({ ...indexRange(PREFIX.attachment, start, start + BigInt(n)), highWaterMarkBytes: HIGH_WATER }), n);
    // classic-level copies each value into a Buffer of its own: no further copy is needed.
    const attachments = rows.map(([k, v]) => ({ offset: Number(indexOfKey(k) - start), bytes: v }));
    return { data, lengths, attachments, ...(gap ? { gap } : {}) };
  }

  /** readNodes reads the stored hashes of nodes [start, start + count) at `level`. */
  async readNodes(level: number, start: bigint, count: number): Promise<StoredNodes> {
    const range = { gte: nodeKey(level, start), lt: nodeKey(level, start + BigInt(count)), fillCache: false, highWaterMarkBytes: HIGH_WATER };
    const hashes = new Uint8Array(count * HASH_SIZE);
    const values = await collectValues(this.#db, range, count);
    const missing: number[] = [];
    let malformed: Map<number, Uint8Array> | undefined;
    const put = (i: number, v: Uint8Array) => {
      if (v.length === HASH_SIZE) hashes.set(v, i * HASH_SIZE);
      else (malformed ??= new Map()).set(i, own(v));
    };
    if (values.length === count) {
      values.forEach((v, i) => put(i, v));
    } else {
      const rows = await collect(this.#db.iterator(range), count);
      const seen = new Uint8Array(count);
      for (const [k, v] of rows) {
        const i = Number(indexOfKey(k) - start);
        seen[i] = 1;
        put(i, v);
      }
      seen.forEach((s, i) => s === 0 && missing.push(i));
    }
    return { hashes, missing, ...(malformed ? { malformed } : {}) };
  }

  #digestPrefix(alg: string): Uint8Array {
    let p = this.#digestPrefixes.get(alg);
    if (p === undefined) {
      const a = new TextEncoder().encode(alg);
      p = new Uint8Array(PREFIX.digest.length + a.length + 1);
      p.set(PREFIX.digest, 0);
      p.set(a, PREFIX.digest.length);
      this.#digestPrefixes.set(alg, p);
    }
    return p;
  }

  /**
   * checkIndexes looks up each item's digest and leaf-hash records (one `hasMany` for all) and
   * reports every one missing. Random reads: the replay fingerprints instead, and this locates.
   */
  async checkIndexes(items: readonly IndexItem[]): Promise<{ problems: Problem[]; lookups: number }> {
    const chosen = items;
    if (chosen.length === 0) return { problems: [], lookups: 0 };
    const keys: Uint8Array[] = [];
    for (const it of chosen) {
      const p = this.#digestPrefix(it.alg);
      const d = new Uint8Array(p.length + HASH_SIZE + U64_SIZE);
      d.set(p, 0);
      d.set(it.digest, p.length);
      new DataView(d.buffer).setBigUint64(p.length + HASH_SIZE, it.index, false);
      const l = new Uint8Array(1 + HASH_SIZE + U64_SIZE);
      l[0] = PREFIX.leafHash[0] as number;
      l.set(it.leafHash, 1);
      new DataView(l.buffer).setBigUint64(1 + HASH_SIZE, it.index, false);
      keys.push(d, l);
    }
    const has = await this.#db.hasMany(keys);
    const problems: Problem[] = [];
    chosen.forEach((it, i) => {
      if (has[2 * i] !== true) {
        problems.push({
          kind: 'digest-index',
          index: it.index,
          message: `the digest index does not list entry ${it.index} under its digest`,
          expected: `${it.alg}:${toHex(it.digest)} → ${it.index}`,
          found: 'no such index record',
        });
      }
      if (has[2 * i + 1] !== true) {
        problems.push({
          kind: 'leaf-index',
          index: it.index,
          message: `the leaf-hash index does not list entry ${it.index} under its leaf hash`,
          expected: `${toHex(it.leafHash)} → ${it.index}`,
          found: 'no such index record',
        });
      }
    });
    return { problems, lookups: keys.length };
  }

  /**
   * countRange scans the index records in one key range: counts them, fingerprints them with
   * `secret`, and flags those naming an entry at or beyond `size`.
   */
  async countRange(range: IndexRange, size: bigint, secret: Uint8Array): Promise<CountResult> {
    // Keys only: values decoded as (empty) strings, which costs less than a Buffer each.
    const it = this.#db.iterator<Uint8Array, string>({ gte: range.gte, lt: range.lt, values: false, valueEncoding: 'utf8', fillCache: false, highWaterMarkBytes: HIGH_WATER });
    let count = 0;
    const beyond: Problem[] = [];
    const print = new IndexPrint(secret);
    const sizeKey = new Uint8Array(U64_SIZE);
    new DataView(sizeKey.buffer).setBigUint64(0, size, false);
    try {
      for (;;) {
        const rows = await it.nextv(65_536);
        if (rows.length === 0) break;
        count += rows.length;
        for (const [k] of rows) {
          print.add(k);
          // Compare the key's trailing u64 with the size bytewise (big-endian), no BigInt per key.
          if (!tailBelow(k, sizeKey) && beyond.length < FINISH_LIMIT) {
            const index = k.length >= 1 + U64_SIZE ? indexOfKey(k) : size;
            if (index >= size) beyond.push({ kind: range.kind, index, message: `an index record names entry ${index}, beyond the stored size ${size}`, found: toHex(k) });
          }
        }
      }
    } finally {
      await it.close();
    }
    return { count: BigInt(count), print: print.bytes(), beyond };
  }

  /**
   * locateWrongRecords scans one index and returns the records that name an entry whose digest
   * (or leaf hash, with `tree`: the log's suite's, SPEC.md#crypto-suites) is not the one in the
   * record. Slow (a random read per record): only run when the counts say such records exist.
   */
  async locateWrongRecords(kind: 'digest-index' | 'leaf-index', tree: TreeHasher): Promise<Problem[]> {
    const problems: Problem[] = [];
    const it = this.#db.keys({ ...prefixRange(kind === 'digest-index' ? PREFIX.digest : PREFIX.leafHash), highWaterMarkBytes: HIGH_WATER });
    try {
      for (;;) {
        const keys = await it.nextv(1024);
        if (keys.length === 0 || problems.length >= FINISH_LIMIT) break;
        const indexes = keys.map((k) => indexOfKey(k));
        const entries = await this.#db.getMany(indexes.map((i) => entryKey(i)));
        keys.forEach((k, j) => {
          const e = entries[j];
          const index = indexes[j] as bigint;
          if (e === undefined || problems.length >= FINISH_LIMIT) return;
          const body = k.subarray(0, k.length - U64_SIZE);
          let want: Uint8Array;
          if (kind === 'leaf-index') {
            want = new Uint8Array([PREFIX.leafHash[0] as number, ...tree.hashLeaf(e)]);
          } else {
            try {
              const entry = decodeEntry(e);
              const p = this.#digestPrefix(entry.digest.alg);
              want = new Uint8Array(p.length + HASH_SIZE);
              want.set(p, 0);
              for (let b = 0; b < HASH_SIZE; b++) want[p.length + b] = parseInt(entry.digest.hex.slice(2 * b, 2 * b + 2), 16);
            } catch {
              return; // the entry itself is reported
            }
          }
          if (toHex(want) !== toHex(body)) {
            problems.push({
              kind,
              index,
              message: `an index record names entry ${index}, whose ${kind === 'digest-index' ? 'digest' : 'leaf hash'} is different`,
              expected: toHex(want.subarray(want.length - HASH_SIZE)),
              found: toHex(body.subarray(body.length - HASH_SIZE)),
            });
          }
        });
      }
    } finally {
      await it.close();
    }
    return problems;
  }
}

/** Reads a stopped Guzheng data directory for an audit. */
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

  private constructor(db: Db, path: string) {
    this.#db = db;
    this.path = path;
    this.description = `data directory ${path}`;
    this.reader = new LocalReader(db);
    this.local = { path, reader: this.reader };
  }

  /**
   * LocalSource.open opens the LevelDB of `dir` (see {@link resolveLedgerDir}) without creating
   * anything. Requires: no process holds it, else {@link StoreLockedError}.
   */
  static async open(dir: string): Promise<LocalSource> {
    const path = resolveLedgerDir(dir);
    return new LocalSource(await openDb(path), path);
  }

  async start(): Promise<SourceInfo> {
    const [size, blocks] = await this.#db.getMany([SIZE_KEY, BLOCK_COUNT_KEY]);
    this.reader.size = u64(size, 's:size');
    this.#blockCount = u64(blocks, 's:blocks');
    return { size: this.reader.size };
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
    const values = await this.#db.getMany(plan.ids.map((id) => nodeKey(id.level, id.index)));
    const hashes = values.map((v, i) => {
      if (v === undefined || v.length !== HASH_SIZE) throw new Error(`node ${plan.ids[i]?.level}/${plan.ids[i]?.index} is not stored`);
      return own(v);
    });
    return buildProof(plan, hashes, tree);
  }

  /**
   * indexRanges splits both indexes into 257 key ranges each (by the first byte of the digest or
   * leaf hash), so workers count them in parallel. The digest index is split under `digestAlg`,
   * the log's suite's (SPEC.md#crypto-suites), where its records are; the first and last ranges
   * still cover the rest of the family, so a record of any other algorithm is counted too.
   */
  indexRanges(digestAlg: string = 'sha256'): IndexRange[] {
    const out: IndexRange[] = [];
    const split = (kind: 'digest-index' | 'leaf-index', family: Uint8Array, head: Uint8Array) => {
      // [family, head‖00), [head‖b, head‖b+1) for b = 0..254, [head‖ff, end of family)
      out.push({ kind, gte: family, lt: Uint8Array.of(...head, 0) });
      for (let b = 0; b < 255; b++) out.push({ kind, gte: Uint8Array.of(...head, b), lt: Uint8Array.of(...head, b + 1) });
      out.push({ kind, gte: Uint8Array.of(...head, 255), lt: prefixEnd(family) });
    };
    split('digest-index', PREFIX.digest, Uint8Array.of(...PREFIX.digest, ...new TextEncoder().encode(digestAlg), 0));
    split('leaf-index', PREFIX.leafHash, PREFIX.leafHash);
    return out;
  }

  async finish(size: bigint): Promise<Problem[]> {
    const problems: Problem[] = [];
    const after = async (family: Uint8Array, from: bigint): Promise<bigint | undefined> => {
      const [k] = await this.#db.keys({ ...indexRange(family, from, MAX_UINT64 + 1n), limit: 1 }).all();
      return k === undefined ? undefined : indexOfKey(k);
    };
    const extraEntry = await after(PREFIX.entry, size);
    if (extraEntry !== undefined) {
      problems.push({ kind: 'entry-extra', index: extraEntry, message: `entry ${extraEntry} is stored beyond the stored size ${size} (was the size rewritten to hide entries?)`, expected: `no entry at or after ${size}`, found: `entry ${extraEntry}` });
    }
    const extraAttachment = await after(PREFIX.attachment, size);
    if (extraAttachment !== undefined) {
      problems.push({ kind: 'attachment', index: extraAttachment, message: `an attachment is stored for entry ${extraAttachment}, beyond the stored size ${size}` });
    }
    for (let level = 0; level <= 63; level++) {
      const from = size >> BigInt(level);
      const [k] = await this.#db.keys({ gte: nodeKey(level, from), lt: levelEnd(level), limit: 1 }).all();
      if (k !== undefined) {
        const node = indexOfKey(k);
        problems.push({ kind: 'node-extra', level, node, message: `tree node ${level}/${node} is stored, but a tree of ${size} entries has only ${from} complete nodes at level ${level}` });
      }
    }
    return problems;
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}
