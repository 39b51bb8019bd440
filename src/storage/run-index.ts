/**
 * A hash index as sorted runs (docs/storage-v2.md, issue 17): the planned replacement of the
 * leaf-hash and digest indexes of layout 1, which write one LevelDB key per entry keyed by a hash
 * and were measured as the cost that keeps appends at a quarter of the raw baseline
 * (scripts/bench/layout-experiment.ts). Not used by the store yet.
 *
 * Each flush adds ONE run per index: its entries' records (the first 8 bytes of the hashed value
 * and the entry's index in 5 bytes), sorted, in pages of {@link PAGE_RECORDS} under sequential
 * keys, written by the caller in its own synced batch, so the index holds every acknowledged entry
 * the moment the entry is acknowledged. A merger folds every {@link FAN_IN} runs of a level into
 * one run of the next, in the background and unsynced: runs are only reorganized, never the sole
 * copy of anything (a merged run replaces its inputs in one atomic batch; a merge cut short by a
 * crash leaves pages no manifest names, which {@link RunIndex.open} clears). Each record is
 * rewritten about log_8(entries / flush size) times, always in sequential keys.
 *
 * A lookup reads, for every run, the one page (rarely two) whose fences can hold the prefix: the
 * fences (each page's first prefix) live in the run's manifest and in memory. An 8-byte prefix can
 * collide, so callers confirm each candidate against the entry itself.
 *
 * Keys (family byte `i`, then the index's own byte, e.g. `l` or `d`):
 *
 * | key | value |
 * |---|---|
 * | `i` ‖ id ‖ `m` ‖ u8(level) ‖ u64be(first) | manifest: u64be(end) ‖ u64be(records) ‖ 8-byte fence per page |
 * | `i` ‖ id ‖ `p` ‖ u8(level) ‖ u64be(first) ‖ u32be(page) | up to 256 records of 13 bytes |
 * | `i` ‖ id ‖ `w` | a merge in flight: u8(level) ‖ u64be(first) of the run being written |
 * | `i` ‖ id ‖ `g` ‖ u8(level) ‖ u64be(first) | a replaced run whose pages are still to be cleared |
 *
 * A run at level L covers the entries [first, end) (the flushes it merged, consecutive).
 */

/** Bytes of one record: an 8-byte prefix of the indexed value and a 5-byte big-endian index. */
export const RECORD_SIZE = 13;
/** Bytes of the prefix kept per record. */
export const PREFIX_SIZE = 8;
/** Records per page. */
export const PAGE_RECORDS = 256;
/** Runs of one level merged into one run of the next. */
export const FAN_IN = 8;
/** Greatest entry index a record can hold (5 bytes). */
export const MAX_RECORD_INDEX = 2 ** 40 - 1;
/** Deletes per write when a merge clears its inputs. */
const CLEAR_BATCH_KEYS = 65_536;
/** Pages written per unsynced batch of a merge. */
const MERGE_BATCH_PAGES = 512;

/** One write of a batch. */
export type RunOp = { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array } | { readonly type: 'del'; readonly key: Uint8Array };

/** What the index needs of the database (the store passes its serialized LevelDB handle). */
export interface RunStore {
  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
  /** The rows with keys in [gte, lt), in key order, at most `limit`. */
  range(gte: Uint8Array, lt: Uint8Array, limit: number): Promise<Array<[Uint8Array, Uint8Array]>>;
  /** Writes `ops` as ONE atomic batch, unsynced (merges only reorganize what is durable). */
  write(ops: readonly RunOp[]): Promise<void>;
}

/** A run as the manifest describes it. */
interface Run {
  readonly level: number;
  readonly first: number;
  readonly end: number;
  readonly records: number;
  /** 8 bytes per page: the page's first prefix. */
  readonly fences: Uint8Array;
}

/** Key bytes of the index runs (see the table above): the family, then each kind of key. */
export const FAMILY = 0x69; // 'i'
export const MANIFEST = 0x6d; // 'm'
export const PAGE = 0x70; // 'p'
export const MERGING = 0x77; // 'w'
export const GARBAGE = 0x67; // 'g'

/** runKey returns `i ‖ id ‖ kind ‖ u8(level) ‖ u64be(first) [‖ u32be(page)]`. */
export function runKey(id: number, kind: number, level: number, first: number, page?: number): Uint8Array {
  const out = new Uint8Array(page === undefined ? 12 : 16);
  const v = new DataView(out.buffer);
  out[0] = FAMILY;
  out[1] = id;
  out[2] = kind;
  out[3] = level;
  v.setUint32(4, Math.floor(first / 2 ** 32));
  v.setUint32(8, first >>> 0);
  if (page !== undefined) v.setUint32(12, page);
  return out;
}

function kindPrefix(id: number, kind: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: new Uint8Array([FAMILY, id, kind]), lt: new Uint8Array([FAMILY, id, kind + 1]) };
}

/** The key range of every page of one run. */
function pageRange(id: number, level: number, first: number): { gte: Uint8Array; lt: Uint8Array } {
  const gte = runKey(id, PAGE, level, first, 0);
  const lt = runKey(id, PAGE, level, first, 0);
  new DataView(lt.buffer).setUint32(12, 0xffff_ffff);
  return { gte, lt };
}

function compareRecords(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let i = 0; i < RECORD_SIZE; i++) {
    const d = (a[ao + i] as number) - (b[bo + i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

function comparePrefix(a: Uint8Array, ao: number, prefix: Uint8Array): number {
  for (let i = 0; i < PREFIX_SIZE; i++) {
    const d = (a[ao + i] as number) - (prefix[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

function recordIndex(page: Uint8Array, at: number): number {
  return (page[at + 8] as number) * 2 ** 32 + new DataView(page.buffer, page.byteOffset + at + 9, 4).getUint32(0);
}

/**
 * sortRecords builds the sorted records of a flush: `values[i]` (at least 8 bytes) is entry
 * `first + i`'s indexed value. Requires: first + values.length - 1 ≤ MAX_RECORD_INDEX.
 */
export function sortRecords(first: number, values: readonly Uint8Array[], indexes?: readonly number[]): Uint8Array {
  if (!Number.isSafeInteger(first) || first < 0 || first + values.length - 1 > MAX_RECORD_INDEX) throw new RangeError(`run index: entries [${first}, ${first + values.length}) beyond 2^40`);
  if (indexes !== undefined && indexes.length !== values.length) throw new RangeError(`run index: ${indexes.length} indexes for ${values.length} values`);
  // Each record's sort key as numbers (the prefix's two big-endian halves, then the index): a
  // sort of numbers, not of 13-byte comparisons (this sort ran at 5 % of a library append's CPU).
  const n = values.length;
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  const at = new Float64Array(n);
  values.forEach((value, i) => {
    const index = indexes === undefined ? first + i : (indexes[i] as number);
    if (!Number.isSafeInteger(index) || index < 0 || index > MAX_RECORD_INDEX) throw new RangeError(`run index: entry ${index} beyond 2^40`);
    if (value.length < PREFIX_SIZE) throw new RangeError(`run index: value of entry ${index} is ${value.length} bytes, want at least ${PREFIX_SIZE}`);
    hi[i] = (((value[0] as number) << 24) | ((value[1] as number) << 16) | ((value[2] as number) << 8) | (value[3] as number)) >>> 0;
    lo[i] = (((value[4] as number) << 24) | ((value[5] as number) << 16) | ((value[6] as number) << 8) | (value[7] as number)) >>> 0;
    at[i] = index;
  });
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (hi[a] as number) - (hi[b] as number) || (lo[a] as number) - (lo[b] as number) || (at[a] as number) - (at[b] as number));
  const sorted = new Uint8Array(n * RECORD_SIZE);
  const view = new DataView(sorted.buffer);
  order.forEach((i, k) => {
    const o = k * RECORD_SIZE;
    view.setUint32(o, hi[i] as number);
    view.setUint32(o + 4, lo[i] as number);
    const index = at[i] as number;
    sorted[o + 8] = Math.floor(index / 2 ** 32);
    view.setUint32(o + 9, index >>> 0);
  });
  return sorted;
}

function manifestValue(run: Run): Uint8Array {
  const out = new Uint8Array(16 + run.fences.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, Math.floor(run.end / 2 ** 32));
  v.setUint32(4, run.end >>> 0);
  v.setUint32(8, Math.floor(run.records / 2 ** 32));
  v.setUint32(12, run.records >>> 0);
  out.set(run.fences, 16);
  return out;
}

function parseManifest(key: Uint8Array, value: Uint8Array): Run {
  if (key.length !== 12 || value.length < 16 || (value.length - 16) % PREFIX_SIZE !== 0) throw new Error('storage: malformed run index manifest');
  const k = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const run = {
    level: key[3] as number,
    first: k.getUint32(4) * 2 ** 32 + k.getUint32(8),
    end: v.getUint32(0) * 2 ** 32 + v.getUint32(4),
    records: v.getUint32(8) * 2 ** 32 + v.getUint32(12),
    fences: value.slice(16),
  };
  if (run.end < run.first || Math.ceil(run.records / PAGE_RECORDS) !== run.fences.length / PREFIX_SIZE) throw new Error('storage: run index manifest inconsistent');
  return run;
}

/** pagesOf splits sorted records into page writes and fences. */
function pagesOf(id: number, level: number, first: number, records: Uint8Array, fromPage = 0): { ops: RunOp[]; fences: Uint8Array } {
  const pages = Math.ceil(records.length / RECORD_SIZE / PAGE_RECORDS);
  const fences = new Uint8Array(pages * PREFIX_SIZE);
  const ops: RunOp[] = [];
  for (let p = 0; p < pages; p++) {
    const from = p * PAGE_RECORDS * RECORD_SIZE;
    const page = records.subarray(from, Math.min(records.length, from + PAGE_RECORDS * RECORD_SIZE));
    fences.set(page.subarray(0, PREFIX_SIZE), p * PREFIX_SIZE);
    ops.push({ type: 'put', key: runKey(id, PAGE, level, first, fromPage + p), value: page });
  }
  return { ops, fences };
}

/**
 * RunIndex is one index (`id`: a byte naming it, e.g. 0x6c for leaf hashes) over a {@link RunStore}.
 * One writer: the store that owns the database.
 */
export class RunIndex {
  readonly #store: RunStore;
  readonly #id: number;
  /** Runs by level, oldest first. */
  readonly #levels: Run[][] = [];
  #merging: Promise<void> | undefined;
  #closed = false;
  /** Merges finished (for tests and metrics). */
  merges = 0;
  /** A merge failed: the message (merging stops; lookups and appends go on). */
  lastError: string | undefined;

  private constructor(store: RunStore, id: number) {
    this.#store = store;
    this.#id = id;
  }

  /**
   * open reads the manifests of index `id` and clears what a crash left half done: the pages of a
   * merge in flight (no manifest names them) and those of replaced runs.
   */
  static async open(store: RunStore, id: number): Promise<RunIndex> {
    if (!Number.isInteger(id) || id < 0 || id > 255) throw new RangeError(`run index: id ${id} is not a byte`);
    const x = new RunIndex(store, id);
    const m = kindPrefix(id, MANIFEST);
    for (let from = m.gte; ; ) {
      const rows = await store.range(from, m.lt, 1024);
      for (const [k, v] of rows) x.#add(parseManifest(k, v));
      if (rows.length < 1024) break;
      from = concatOne(rows.at(-1)?.[0] as Uint8Array);
    }
    const [merging] = await store.getMany([new Uint8Array([FAMILY, id, MERGING])]);
    if (merging !== undefined) {
      const mv = new DataView(merging.buffer, merging.byteOffset, merging.byteLength);
      await x.#clearPages(merging[0] as number, mv.getUint32(1) * 2 ** 32 + mv.getUint32(5));
      await store.write([{ type: 'del', key: new Uint8Array([FAMILY, id, MERGING]) }]);
    }
    const g = kindPrefix(id, GARBAGE);
    for (const [k] of await store.range(g.gte, g.lt, 1 << 20)) {
      const kv = new DataView(k.buffer, k.byteOffset, k.byteLength);
      await x.#clearPages(k[3] as number, kv.getUint32(4) * 2 ** 32 + kv.getUint32(8));
      await store.write([{ type: 'del', key: k }]);
    }
    return x;
  }

  #add(run: Run): void {
    const level = (this.#levels[run.level] ??= []);
    level.push(run);
    level.sort((a, b) => a.first - b.first);
  }

  /** Runs per level (for tests and metrics). */
  get shape(): number[] {
    return Array.from({ length: this.#levels.length }, (_, i) => this.#levels[i]?.length ?? 0);
  }

  /**
   * flushOps returns the writes that add the run of entries [first, end) (`at.end`, else first +
   * values.length), for the caller's batch: `values[i]` is entry `first + i`'s indexed value (or
   * entry `at.indexes[i]`'s, each in [first, end): an index where not every entry has a value, such
   * as content digests). A range with no value still gets a run (no pages): the runs then tell
   * which entries they cover ({@link covered}). Call {@link added} once that batch is written.
   */
  flushOps(first: number, values: readonly Uint8Array[], at?: { readonly end: number; readonly indexes: readonly number[] }): { ops: RunOp[]; run: unknown } {
    const end = at?.end ?? first + values.length;
    if (end === first) return { ops: [], run: undefined };
    const records = sortRecords(first, values, at?.indexes);
    const { ops, fences } = pagesOf(this.#id, 0, first, records);
    const run: Run = { level: 0, first, end, records: values.length, fences };
    ops.push({ type: 'put', key: runKey(this.#id, MANIFEST, 0, first), value: manifestValue(run) });
    return { ops, run };
  }

  /**
   * append writes the run of entries [first, end) itself, as one unsynced batch (a lagging index,
   * rebuilt from the entries after a crash), and adds it. Arguments as {@link flushOps}.
   */
  async append(first: number, values: readonly Uint8Array[], at?: { readonly end: number; readonly indexes: readonly number[] }): Promise<void> {
    const { ops, run } = this.flushOps(first, values, at);
    if (ops.length > 0) await this.#store.write(ops);
    this.added(run);
  }

  /** added records a run whose {@link flushOps} are written, and merges in the background when a level is full. */
  added(run: unknown): void {
    if (run === undefined) return;
    this.#add(run as Run);
    this.#scheduleMerge();
  }

  /** covered is the end of the range [0, covered) of entries the runs describe, without a gap. */
  get covered(): number {
    const runs = this.#levels.flatMap((l) => l ?? []).sort((a, b) => a.first - b.first);
    let end = 0;
    for (const r of runs) {
      if (r.first > end) break;
      if (r.end > end) end = r.end;
    }
    return end;
  }

  #scheduleMerge(): void {
    if (this.#merging !== undefined || this.#closed || this.lastError !== undefined) return;
    // The full level with the most runs (the lowest of equals): taking always the lowest full level
    // starved level 1 while level 0 kept filling (184 level-1 runs after a 17M-entry fill).
    let level = -1;
    this.#levels.forEach((l, i) => {
      if (l !== undefined && l.length >= FAN_IN && (level < 0 || l.length > (this.#levels[level] as Run[]).length)) level = i;
    });
    if (level < 0) return;
    this.#merging = this.#merge(level)
      .then(() => {
        this.merges++;
      })
      .catch((err: unknown) => {
        this.lastError = err instanceof Error ? err.message : String(err);
      })
      .finally(() => {
        this.#merging = undefined;
        this.#scheduleMerge();
      });
  }

  /** idle resolves once no merge runs (tests; close). */
  async idle(): Promise<void> {
    while (this.#merging !== undefined) await this.#merging;
  }

  /** close stops merging after the one in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
  }

  /** #merge folds the oldest FAN_IN runs of `level` into one run of level + 1 (see the module comment). */
  async #merge(level: number): Promise<void> {
    const inputs = (this.#levels[level] as Run[]).slice(0, FAN_IN);
    const first = (inputs[0] as Run).first;
    const end = (inputs.at(-1) as Run).end;
    const id = this.#id;
    const marker = new Uint8Array(9);
    marker[0] = level + 1;
    new DataView(marker.buffer).setUint32(1, Math.floor(first / 2 ** 32));
    new DataView(marker.buffer).setUint32(5, first >>> 0);
    // The marker goes with the first pages (one atomic batch): each write of a merge queues behind
    // the fsynced flushes in LevelDB's one write queue, so a merge makes as few as it can.
    const markerOp: RunOp = { type: 'put', key: new Uint8Array([FAMILY, id, MERGING]), value: marker };
    // A k-way merge over the inputs' pages, read a page at a time.
    const cursors = await Promise.all(inputs.map((r) => this.#cursor(r)));
    const fences: Uint8Array[] = [];
    let out = new Uint8Array(PAGE_RECORDS * RECORD_SIZE);
    let filled = 0;
    let page = 0;
    let records = 0;
    let pending: RunOp[] = [markerOp];
    const emit = async (last: boolean) => {
      if (filled > 0) {
        fences.push(out.slice(0, PREFIX_SIZE));
        pending.push({ type: 'put', key: runKey(id, PAGE, level + 1, first, page++), value: out.slice(0, filled) });
        out = new Uint8Array(PAGE_RECORDS * RECORD_SIZE);
        filled = 0;
      }
      if (pending.length >= MERGE_BATCH_PAGES || (last && pending.length > 0)) {
        await this.#store.write(pending);
        pending = [];
      }
    };
    for (;;) {
      let best = -1;
      for (let c = 0; c < cursors.length; c++) {
        const cur = cursors[c] as Cursor;
        if (cur.page === undefined) continue;
        if (best < 0 || compareRecords(cur.page, cur.at, (cursors[best] as Cursor).page as Uint8Array, (cursors[best] as Cursor).at) < 0) best = c;
      }
      if (best < 0) break;
      const cur = cursors[best] as Cursor;
      // A record at a time, copied by hand and without a Promise per record: merges run on the
      // event loop beside the appends, and an allocation and an await per record kept them behind.
      const page = cur.page as Uint8Array;
      for (let b = 0; b < RECORD_SIZE; b++) out[filled + b] = page[cur.at + b] as number;
      filled += RECORD_SIZE;
      records++;
      const more = cur.advance();
      if (more !== undefined) await more;
      if (filled === out.length) await emit(false);
    }
    await emit(true);
    const fenceBytes = new Uint8Array(fences.length * PREFIX_SIZE);
    fences.forEach((f, i) => fenceBytes.set(f, i * PREFIX_SIZE));
    const merged: Run = { level: level + 1, first, end, records, fences: fenceBytes };
    if (records !== inputs.reduce((a, r) => a + r.records, 0)) throw new Error(`run index: merge of level ${level} lost records`);
    // The swap: the merged run's manifest in, the inputs' manifests out and, when they are not too
    // many, their pages too, in one batch; else the inputs are marked as garbage and cleared after.
    const pageCount = inputs.reduce((a, r) => a + r.fences.length / PREFIX_SIZE, 0);
    const inline = pageCount <= CLEAR_BATCH_KEYS;
    await this.#store.write([
      { type: 'put', key: runKey(id, MANIFEST, level + 1, first), value: manifestValue(merged) },
      ...inputs.flatMap((r): RunOp[] => [
        { type: 'del', key: runKey(id, MANIFEST, r.level, r.first) },
        ...(inline
          ? Array.from({ length: r.fences.length / PREFIX_SIZE }, (_, p): RunOp => ({ type: 'del', key: runKey(id, PAGE, r.level, r.first, p) }))
          : [{ type: 'put' as const, key: runKey(id, GARBAGE, r.level, r.first), value: new Uint8Array(0) }]),
      ]),
      { type: 'del', key: new Uint8Array([FAMILY, id, MERGING]) },
    ]);
    (this.#levels[level] as Run[]).splice(0, FAN_IN);
    this.#add(merged);
    if (inline) return;
    for (const r of inputs) {
      await this.#clearPages(r.level, r.first);
      await this.#store.write([{ type: 'del', key: runKey(id, GARBAGE, r.level, r.first) }]);
    }
  }

  /** #clearPages deletes every page of the run (level, first), in batches. */
  async #clearPages(level: number, first: number): Promise<void> {
    const r = pageRange(this.#id, level, first);
    for (;;) {
      const rows = await this.#store.range(r.gte, r.lt, 1024);
      if (rows.length === 0) return;
      await this.#store.write(rows.map(([key]) => ({ type: 'del', key })));
      if (rows.length < 1024) return;
    }
  }

  /** #cursor walks the records of `run` in order, reading its pages 32 at a time. */
  async #cursor(run: Run): Promise<Cursor> {
    const pages = run.fences.length / PREFIX_SIZE;
    const range = pageRange(this.#id, run.level, run.first);
    let buffered: Uint8Array[] = [];
    let next = 0;
    const read = async (): Promise<Uint8Array | undefined> => {
      if (buffered.length === 0) {
        if (next >= pages) return undefined;
        const rows = await this.#store.range(runKey(this.#id, PAGE, run.level, run.first, next), range.lt, 32);
        buffered = rows.map(([, v]) => v);
        if (buffered.length === 0) throw new Error(`storage: run index page ${run.level}/${run.first}/${next} missing`);
      }
      const v = buffered.shift() as Uint8Array;
      next++;
      if (v.length === 0 || v.length % RECORD_SIZE !== 0) throw new Error(`storage: run index page ${run.level}/${run.first}/${next - 1} malformed`);
      return v;
    };
    const cur: Cursor = {
      page: await read(),
      at: 0,
      advance: () => {
        cur.at += RECORD_SIZE;
        if (cur.page === undefined || cur.at < cur.page.length) return undefined;
        return read().then((page) => {
          cur.page = page;
          cur.at = 0;
        });
      },
    };
    return cur;
  }

  /**
   * lookup returns the indexes of entries whose indexed value starts with `prefix` (its first 8
   * bytes), ascending: candidates, which the caller confirms (an 8-byte prefix can collide).
   */
  async lookup(value: Uint8Array): Promise<number[]> {
    if (value.length < PREFIX_SIZE) throw new RangeError(`run index: lookup value is ${value.length} bytes, want at least ${PREFIX_SIZE}`);
    const prefix = value.subarray(0, PREFIX_SIZE);
    for (let attempt = 0; ; attempt++) {
      const runs = this.#levels.flatMap((l) => l ?? []);
      const keys: Uint8Array[] = [];
      for (const run of runs) for (const p of candidatePages(run, prefix)) keys.push(runKey(this.#id, PAGE, run.level, run.first, p));
      const pages = await this.#store.getMany(keys);
      // A merge may have replaced a run between the snapshot and the read: read again.
      if (pages.some((p) => p === undefined)) {
        if (attempt < 3) continue;
        throw new Error('storage: run index pages missing');
      }
      const out: number[] = [];
      for (const page of pages as Uint8Array[]) {
        for (let at = lowerBound(page, prefix); at < page.length && comparePrefix(page, at, prefix) === 0; at += RECORD_SIZE) out.push(recordIndex(page, at));
      }
      return out.sort((a, b) => a - b);
    }
  }
}

interface Cursor {
  page: Uint8Array | undefined;
  at: number;
  /** Moves to the next record: at once inside a page, or a Promise when the next page must be read. */
  advance(): Promise<void> | undefined;
}

/**
 * candidatePages returns the pages of `run` that can hold records with `prefix`: those whose fence
 * (first prefix) equals it, and the last one whose fence is below it (such records may end there).
 */
function candidatePages(run: Run, prefix: Uint8Array): number[] {
  const pages = run.fences.length / PREFIX_SIZE;
  let lo = 0;
  let hi = pages;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (comparePrefix(run.fences, mid * PREFIX_SIZE, prefix) < 0) lo = mid + 1;
    else hi = mid;
  }
  const out: number[] = lo > 0 ? [lo - 1] : [];
  for (let p = lo; p < pages && comparePrefix(run.fences, p * PREFIX_SIZE, prefix) === 0; p++) out.push(p);
  return out;
}

/** lowerBound returns the offset of the first record of `page` whose prefix is ≥ `prefix`. */
function lowerBound(page: Uint8Array, prefix: Uint8Array): number {
  let lo = 0;
  let hi = page.length / RECORD_SIZE;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (comparePrefix(page, mid * RECORD_SIZE, prefix) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo * RECORD_SIZE;
}

/** concatOne returns `key ‖ 0x00`: the smallest key after `key`. */
function concatOne(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}
