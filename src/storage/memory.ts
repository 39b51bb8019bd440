/**
 * MemoryStore: an in-memory {@link LedgerStore} for unit tests, held to the same conformance
 * suite as LevelStore (DESIGN.md §3, STYLE.md §9). Like Go tlog's `testHashStorage` it is strict
 * about access: reading a node that was never written throws, a batch whose `first` is not the
 * size is refused, a second concurrent append is refused. Byte arrays are copied in and out, so
 * no caller can change stored data by mutating an array it passed or got back.
 */
import type { BlockJson } from '../core/block.js';
import type { NodeId } from '../core/merkle/node.js';
import { toHex } from '../core/bytes.js';
import {
  checkApiKeyRecord,
  checkAppendBatch,
  checkBlockToAppend,
  checkCount,
  checkDigestArg,
  checkEvidence,
  checkEvidenceKind,
  checkHash,
  checkIndex,
  checkMetaKey,
  checkMetaValue,
  checkNodeIds,
  checkSecondary,
  checkSecretHash,
  decodeStoredApiKey,
  decodeStoredBlock,
} from './checks.js';
import { checkRecordKey, checkRecordQuery, checkRecordTable, checkRecordValue, compareRecordKeys, type RecordQuery, type RecordRow, type RecordWrite } from './records.js';
import type { AppendBatch, ApiKeyRecord, LedgerStore, StoreHealth } from './store.js';

function nodeName(level: number, index: bigint): string {
  return `${level}/${index}`;
}

function ascending(set: Set<bigint> | undefined): bigint[] {
  if (set === undefined) return [];
  return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * MemoryStore implements {@link LedgerStore} with Maps, for tests. Same refusals and errors as
 * LevelStore; nothing survives the object. See contracts-free-ledger/SPEC.md#storage.
 */
export class MemoryStore implements LedgerStore {
  #size = 0n;
  readonly #entries = new Map<bigint, Uint8Array>();
  readonly #attachments = new Map<bigint, Uint8Array>();
  readonly #nodes = new Map<string, Uint8Array>();
  readonly #digests = new Map<string, Set<bigint>>();
  readonly #leafHashes = new Map<string, Set<bigint>>();
  readonly #secondary = new Map<string, Set<bigint>>();
  readonly #blocks: string[] = [];
  readonly #meta = new Map<string, string>();
  /** Record tables: table -> key -> value. */
  readonly #records = new Map<string, Map<string, string>>();
  readonly #evidence = new Map<string, Map<bigint, Uint8Array>>();
  readonly #apiKeys = new Map<string, string>();
  #appending = false;
  #appendingBlock = false;
  #closed = false;
  /** Number of nodes returned by readNodes so far (tests may assert access counts). */
  nodeReads = 0;

  #open(): void {
    if (this.#closed) throw new Error('storage: memory store is closed');
  }

  /** health is always ok: memory never fills up here. */
  health(): StoreHealth {
    return { state: 'ok' };
  }

  /** getSize returns the number of entries integrated. */
  async getSize(): Promise<bigint> {
    this.#open();
    return this.#size;
  }

  /** getEntries returns copies of entries [start, start+count) that exist, in order. */
  async getEntries(start: bigint, count: number): Promise<Uint8Array[]> {
    this.#open();
    checkIndex(start, 'getEntries start');
    checkCount(count, 'getEntries count');
    const out: Uint8Array[] = [];
    for (let i = start; i < this.#size && out.length < count; i++) {
      const e = this.#entries.get(i);
      if (e === undefined) throw new Error(`storage: entry ${i} missing`);
      out.push(e.slice());
    }
    return out;
  }

  /** getAttachment returns a copy of the attachment of entry `index`, if any. */
  async getAttachment(index: bigint): Promise<Uint8Array | undefined> {
    this.#open();
    checkIndex(index, 'getAttachment index');
    return this.#attachments.get(index)?.slice();
  }

  /** readNodes returns copies of the node hashes; a never-written node throws naming it. */
  async readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    this.#open();
    checkNodeIds(ids);
    return ids.map((id) => {
      const h = this.#nodes.get(nodeName(id.level, id.index));
      if (h === undefined) throw new Error(`storage: node ${id.level}/${id.index} missing`);
      this.nodeReads++;
      return h.slice();
    });
  }

  /** lookupDigest returns the indexes of entries with content digest `{alg, hex}`, ascending. */
  async lookupDigest(alg: string, hex: string): Promise<bigint[]> {
    this.#open();
    checkDigestArg(alg, hex);
    return ascending(this.#digests.get(`${alg}\0${hex}`));
  }

  /** lookupLeafHash returns the indexes of entries with this leaf hash, ascending. */
  async lookupLeafHash(leafHash: Uint8Array): Promise<bigint[]> {
    this.#open();
    checkHash(leafHash, 'lookupLeafHash leafHash');
    return ascending(this.#leafHashes.get(toHex(leafHash)));
  }

  /** lookupSecondary returns up to `limit` indexes >= `start` under (`name`, `key`), ascending. */
  async lookupSecondary(name: string, key: string, start: bigint, limit: number): Promise<bigint[]> {
    this.#open();
    checkSecondary(name, key, 'secondary index');
    checkIndex(start, 'lookupSecondary start');
    checkCount(limit, 'lookupSecondary limit');
    return ascending(this.#secondary.get(`${name}\0${key}`)).filter((i) => i >= start).slice(0, limit);
  }

  /**
   * appendBatch validates the batch exactly as LevelStore does, yields once (as real I/O would,
   * so a concurrent second call is observable and refused), then applies it all at once.
   */
  async appendBatch(batch: AppendBatch): Promise<void> {
    this.#open();
    if (this.#appending) throw new Error('storage: appendBatch already in flight (the log is the single writer)');
    this.#appending = true;
    try {
      const { end } = checkAppendBatch(batch, this.#size);
      // Copy everything before yielding: the caller may reuse its arrays once we return.
      const entries = batch.entries.map((e) => e.slice());
      const leafHashes = batch.leafHashes.map((h) => toHex(h));
      const nodes = batch.nodes.map((n) => [nodeName(n.level, n.index), n.hash.slice()] as const);
      const digests = batch.digests.map((d) => [`${d.alg}\0${d.hex}`, d.index] as const);
      const attachments = batch.attachments.map((a) => [a.index, a.bytes.slice()] as const);
      const secondary = (batch.secondary ?? []).map((x) => [`${x.name}\0${x.key}`, x.index] as const);
      const first = batch.first;
      await Promise.resolve();
      this.#open();
      entries.forEach((e, i) => this.#entries.set(first + BigInt(i), e));
      leafHashes.forEach((h, i) => addIndex(this.#leafHashes, h, first + BigInt(i)));
      for (const [k, h] of nodes) this.#nodes.set(k, h);
      for (const [k, i] of digests) addIndex(this.#digests, k, i);
      for (const [i, b] of attachments) this.#attachments.set(i, b);
      for (const [k, i] of secondary) addIndex(this.#secondary, k, i);
      this.#size = end;
    } finally {
      this.#appending = false;
    }
  }

  /** getBlockCount returns the number of blocks. */
  async getBlockCount(): Promise<bigint> {
    this.#open();
    return BigInt(this.#blocks.length);
  }

  /** getBlock returns (a copy of) the block at `height`, if any. */
  async getBlock(height: bigint): Promise<BlockJson | undefined> {
    this.#open();
    checkIndex(height, 'getBlock height');
    if (height >= BigInt(this.#blocks.length)) return undefined;
    return decodeStoredBlock(this.#blocks[Number(height)] as string, height);
  }

  /** getBlocks returns blocks [from, from+limit) that exist, in order. */
  async getBlocks(from: bigint, limit: number): Promise<BlockJson[]> {
    this.#open();
    checkIndex(from, 'getBlocks from');
    checkCount(limit, 'getBlocks limit');
    const out: BlockJson[] = [];
    for (let h = from; h < BigInt(this.#blocks.length) && out.length < limit; h++) {
      out.push(decodeStoredBlock(this.#blocks[Number(h)] as string, h));
    }
    return out;
  }

  /** appendBlock stores the block at height = getBlockCount(); refuses any other height. */
  async appendBlock(block: BlockJson): Promise<void> {
    this.#open();
    if (this.#appendingBlock) throw new Error('storage: appendBlock already in flight (the log is the single writer)');
    this.#appendingBlock = true;
    try {
      const text = checkBlockToAppend(block, BigInt(this.#blocks.length));
      await Promise.resolve();
      this.#open();
      this.#blocks.push(text);
    } finally {
      this.#appendingBlock = false;
    }
  }

  /** putEvidence stores block evidence (see {@link LedgerStore.putEvidence}). */
  async putEvidence(kind: string, height: bigint, value: Uint8Array): Promise<void> {
    this.#open();
    checkEvidence(kind, height, value, BigInt(this.#blocks.length));
    let byHeight = this.#evidence.get(kind);
    if (byHeight === undefined) this.#evidence.set(kind, (byHeight = new Map()));
    byHeight.set(height, value.slice());
  }

  /** listEvidence lists block evidence of `kind` from height `from`, ascending. */
  async listEvidence(kind: string, from: bigint, limit: number): Promise<Array<{ height: bigint; value: Uint8Array }>> {
    this.#open();
    checkEvidenceKind(kind);
    checkIndex(from, 'listEvidence from');
    checkCount(limit, 'listEvidence limit');
    const rows = [...(this.#evidence.get(kind) ?? new Map<bigint, Uint8Array>()).entries()].filter(([h]) => h >= from);
    rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return rows.slice(0, limit).map(([height, value]) => ({ height, value: value.slice() }));
  }

  /** lastEvidence returns the block evidence of `kind` at the greatest height, if any. */
  async lastEvidence(kind: string): Promise<{ height: bigint; value: Uint8Array } | undefined> {
    this.#open();
    checkEvidenceKind(kind);
    let last: { height: bigint; value: Uint8Array } | undefined;
    for (const [height, value] of this.#evidence.get(kind) ?? []) if (last === undefined || height > last.height) last = { height, value: value.slice() };
    return last;
  }

  /** getMeta returns the named value, if set. */
  async getMeta(key: string): Promise<string | undefined> {
    this.#open();
    checkMetaKey(key);
    return this.#meta.get(key);
  }

  /** putMeta sets a named value. */
  async putMeta(key: string, value: string): Promise<void> {
    this.#open();
    checkMetaKey(key);
    checkMetaValue(value);
    this.#meta.set(key, value);
  }

  /** putApiKey stores or replaces the record keyed by its secretHash. */
  async putApiKey(record: ApiKeyRecord): Promise<void> {
    this.#open();
    const text = checkApiKeyRecord(record);
    this.#apiKeys.set(record.secretHash, text);
  }

  /** getApiKeyBySecretHash returns (a copy of) the record for `secretHash`, if any. */
  async getApiKeyBySecretHash(secretHash: string): Promise<ApiKeyRecord | undefined> {
    this.#open();
    checkSecretHash(secretHash);
    const text = this.#apiKeys.get(secretHash);
    return text === undefined ? undefined : decodeStoredApiKey(text);
  }

  /** listApiKeys returns every record in secretHash order (as LevelStore's key order). */
  async listApiKeys(): Promise<ApiKeyRecord[]> {
    this.#open();
    return [...this.#apiKeys.keys()].sort().map((k) => decodeStoredApiKey(this.#apiKeys.get(k) as string));
  }

  /** putRecords writes one table's rows (src/storage/records.ts); all are checked before any is applied. */
  async putRecords(table: string, rows: readonly RecordWrite[]): Promise<void> {
    this.#open();
    checkRecordTable(table);
    for (const r of rows) {
      checkRecordKey(r.key);
      if (r.value !== undefined) checkRecordValue(r.value);
    }
    let t = this.#records.get(table);
    if (t === undefined) this.#records.set(table, (t = new Map()));
    for (const r of rows) {
      if (r.value === undefined) t.delete(r.key);
      else t.set(r.key, r.value);
    }
  }

  /** getRecord returns the value stored under (`table`, `key`), if any. */
  async getRecord(table: string, key: string): Promise<string | undefined> {
    this.#open();
    checkRecordTable(table);
    checkRecordKey(key);
    return this.#records.get(table)?.get(key);
  }

  /** listRecords returns the rows of `table` in the query's range, in LevelStore's key order. */
  async listRecords(table: string, query: RecordQuery): Promise<RecordRow[]> {
    this.#open();
    checkRecordTable(table);
    checkRecordQuery(query);
    const { gte, lt } = query;
    const keys = [...(this.#records.get(table)?.keys() ?? [])]
      .filter((k) => (gte === undefined || compareRecordKeys(k, gte) >= 0) && (lt === undefined || compareRecordKeys(k, lt) < 0))
      .sort(compareRecordKeys);
    if (query.reverse === true) keys.reverse();
    return keys.slice(0, query.limit).map((key) => ({ key, value: this.#records.get(table)?.get(key) as string }));
  }

  /** close marks the store closed; later calls reject. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
  }
}

function addIndex(map: Map<string, Set<bigint>>, key: string, index: bigint): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(index);
}
