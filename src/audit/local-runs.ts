/**
 * The leaf-hash and content-digest indexes of a layout-2 data directory, as the local audit reads
 * them (src/storage/run-index.ts; contracts-free-ledger/SPEC.md#storage, docs/storage-v2.md):
 * sorted runs of 13-byte records (the first 8 bytes of the leaf hash or digest, then the entry
 * index in 5 bytes, big-endian) in pages under
 *
 * | key | value |
 * |---|---|
 * | `i` ‖ id ‖ `m` ‖ u8(level) ‖ u64be(first) | manifest: u64be(end) ‖ u64be(records) ‖ 8-byte fence per page |
 * | `i` ‖ id ‖ `p` ‖ u8(level) ‖ u64be(first) ‖ u32be(page) | up to 256 records, sorted |
 * | `i` ‖ id ‖ `w` | a merge in flight: u8(level) ‖ u64be(first) of the run being written |
 * | `i` ‖ id ‖ `g` ‖ u8(level) ‖ u64be(first) | a replaced run whose pages are still to be cleared |
 *
 * with id `l` (0x6c) for leaf hashes and `d` (0x64) for digests. Only runs a manifest names are
 * the index: the pages of a merge in flight or of a replaced run are leftovers the store clears
 * at its next open. Here: the manifests ({@link readManifests}), the scan of one part of a run
 * against its manifest ({@link scanPart}), and the exact record lookups that locate a missing
 * record ({@link lookupRecords}). The structure checks over all runs and the scan for records
 * naming the wrong entry are in local-runs-finish.ts.
 */
import { toHex } from '../core/bytes.js';
import { DIGEST_INDEX, LEAF_INDEX } from '../storage/layout2.js';
import { FAMILY, GARBAGE, MANIFEST, MERGING, PAGE, PAGE_RECORDS, PREFIX_SIZE, RECORD_SIZE, runKey } from '../storage/run-index.js';

// The run keys' bytes and runKey come from the store's own module, so the audit reads what it writes.
export { FAMILY, GARBAGE, MANIFEST, MERGING, PAGE, runKey };
import { FINISH_LIMIT, HIGH_WATER, type Db } from './local-db.js';
import { IndexPrint } from './print.js';
import type { CountResult, IndexItem, IndexRange } from './reads.js';
import type { Problem } from './report.js';

/** Which index. */
export type IndexKind = 'digest-index' | 'leaf-index';


/** Pages of one run a worker scans as one job. */
export const PART_PAGES = 4096;

/** The id byte of an index's keys. */
export function indexId(kind: IndexKind): number {
  return kind === 'leaf-index' ? LEAF_INDEX : DIGEST_INDEX;
}

/** What an index is called in messages. */
export function indexName(kind: IndexKind): string {
  return kind === 'leaf-index' ? 'leaf-hash index' : 'digest index';
}


/** The bounds of every key `i ‖ id ‖ kind ‖ …`. */
export function kindRange(id: number, kind: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: Uint8Array.of(FAMILY, id, kind), lt: Uint8Array.of(FAMILY, id, kind + 1) };
}

/** The exclusive end of the page keys of run (level, first). */
export function pagesEnd(id: number, level: number, first: number): Uint8Array {
  const out = new Uint8Array(17);
  out.set(runKey(id, PAGE, level, first, 0xffff_ffff));
  return out;
}

/** u64 (as a safe number) at `at` of `b`, or -1 beyond 2^53. */
function u64(b: Uint8Array, at: number): number {
  const v = new DataView(b.buffer, b.byteOffset + at, 8);
  const hi = v.getUint32(0);
  return hi >= 2 ** 21 ? -1 : hi * 2 ** 32 + v.getUint32(4);
}

/** The entry index of the record at `at` of `page` (5 bytes after the prefix). */
export function recordIndex(page: Uint8Array, at: number): number {
  return (page[at + 8] as number) * 2 ** 32 + (((page[at + 9] as number) << 24) | ((page[at + 10] as number) << 16) | ((page[at + 11] as number) << 8) | (page[at + 12] as number)) >>> 0;
}

/** compareAt compares `n` bytes of `a` at `ao` with `b` at `bo`. */
export function compareAt(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): number {
  for (let i = 0; i < n; i++) {
    const d = (a[ao + i] as number) - (b[bo + i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** One run as its manifest describes it. */
export interface RunInfo {
  readonly kind: IndexKind;
  readonly level: number;
  readonly first: number;
  readonly end: number;
  readonly records: number;
  /** 8 bytes per page: the page's first prefix. */
  readonly fences: Uint8Array;
}

/** readManifests reads every manifest of one index, in key order; a malformed one is a problem and is left out. */
export async function readManifests(db: Db, kind: IndexKind): Promise<{ runs: RunInfo[]; problems: Problem[] }> {
  const runs: RunInfo[] = [];
  const problems: Problem[] = [];
  const it = db.iterator({ ...kindRange(indexId(kind), MANIFEST), highWaterMarkBytes: HIGH_WATER });
  try {
    for (;;) {
      const rows = await it.nextv(1024);
      if (rows.length === 0) break;
      for (const [k, v] of rows) {
        const level = k[3] as number;
        const first = k.length === 12 ? u64(k, 4) : -1;
        const end = v.length >= 16 ? u64(v, 0) : -1;
        const records = v.length >= 16 ? u64(v, 8) : -1;
        const pages = (v.length - 16) / PREFIX_SIZE;
        const ok = first >= 0 && end >= first && records >= 0 && Number.isInteger(pages) && pages === Math.ceil(records / PAGE_RECORDS);
        if (!ok) {
          if (problems.length < FINISH_LIMIT) problems.push({ kind, message: `a manifest of the ${indexName(kind)} is malformed (key ${toHex(k)}, ${v.length} bytes): its run cannot be read`, found: toHex(v.subarray(0, 16)) });
          continue;
        }
        runs.push({ kind, level, first, end, records, fences: new Uint8Array(v.subarray(16)) });
      }
    }
  } finally {
    await it.close();
  }
  return { runs, problems };
}

/** runParts splits runs into the parts workers scan (at most {@link PART_PAGES} pages each). */
export function runParts(runs: readonly RunInfo[]): IndexRange[] {
  const out: IndexRange[] = [];
  for (const r of runs) {
    const pages = r.fences.length / PREFIX_SIZE;
    for (let from = 0; from === 0 || from < pages; from += PART_PAGES) {
      const to = Math.min(pages, from + PART_PAGES);
      out.push({ kind: r.kind, level: r.level, first: r.first, end: r.end, records: r.records, pages, fromPage: from, toPage: to, fences: r.fences.slice(from * PREFIX_SIZE, to * PREFIX_SIZE) });
    }
  }
  return out;
}

/**
 * scanPart scans pages [fromPage, toPage) of one run (the last part: every page key of the run
 * from fromPage on) and checks them against the manifest: pages numbered without a gap, each of
 * 1–256 whole records, its first prefix the fence, records strictly ascending (also across the
 * part's end), each naming an entry of [first, end); it counts and fingerprints the records, and
 * flags those naming an entry at or beyond `size`.
 */
export async function scanPart(db: Db, r: IndexRange, size: bigint, secret: Uint8Array): Promise<CountResult> {
  const id = indexId(r.kind);
  const name = `run ${r.level}/${r.first} of the ${indexName(r.kind)}`;
  const last = r.toPage >= r.pages;
  const print = new IndexPrint(secret);
  const problems: Problem[] = [];
  const beyond: Problem[] = [];
  // Sorted with the run's first entry unless a record names another.
  const flag = (p: Problem) => void (problems.length < FINISH_LIMIT && problems.push({ index: BigInt(r.first), ...p, kind: r.kind }));
  const it = db.iterator({ gte: runKey(id, PAGE, r.level, r.first, r.fromPage), lt: last ? pagesEnd(id, r.level, r.first) : runKey(id, PAGE, r.level, r.first, r.toPage), fillCache: false, highWaterMarkBytes: HIGH_WATER });
  let count = 0;
  let expectPage = r.fromPage;
  let prev: Uint8Array | undefined;
  let prevAt = 0;
  // Entry indexes of records are below 2^40: compared as numbers, not a bigint per record.
  const limit = size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
  try {
    for (;;) {
      const rows = await it.nextv(1024);
      if (rows.length === 0) break;
      for (const [k, v] of rows) {
        const page = k.length === 16 ? new DataView(k.buffer, k.byteOffset + 12, 4).getUint32(0) : -1;
        if (page !== expectPage) {
          if (page > expectPage && expectPage < r.pages) flag({ kind: r.kind, message: `${name}: page${page - 1 > expectPage ? `s ${expectPage}..${Math.min(page, r.pages) - 1} are` : ` ${expectPage} is`} not stored (its manifest lists ${r.pages} pages)`, expected: `page ${expectPage}`, found: page < 0 ? `key ${toHex(k)}` : `page ${page}` });
          if (page < 0) continue;
        }
        expectPage = page + 1;
        if (page >= r.pages) flag({ kind: r.kind, message: `${name}: page ${page} is stored beyond the ${r.pages} pages its manifest lists`, found: `${v.length / RECORD_SIZE} records` });
        if (v.length === 0 || v.length % RECORD_SIZE !== 0 || v.length > PAGE_RECORDS * RECORD_SIZE) {
          flag({ kind: r.kind, message: `${name}: page ${page} is ${v.length} bytes, want 1..${PAGE_RECORDS} records of ${RECORD_SIZE}`, found: `${v.length} bytes` });
          continue;
        }
        if (page < r.pages && compareAt(v, 0, r.fences, (page - r.fromPage) * PREFIX_SIZE, PREFIX_SIZE) !== 0) {
          flag({ kind: r.kind, message: `${name}: page ${page} starts with another prefix than its manifest's fence`, expected: toHex(r.fences.subarray((page - r.fromPage) * PREFIX_SIZE, (page - r.fromPage + 1) * PREFIX_SIZE)), found: toHex(v.subarray(0, PREFIX_SIZE)) });
        }
        for (let at = 0; at < v.length; at += RECORD_SIZE) {
          if (prev !== undefined && compareAt(prev, prevAt, v, at, RECORD_SIZE) >= 0) {
            flag({ kind: r.kind, message: `${name}: records out of order in page ${page} (a lookup can miss them)`, expected: `after ${toHex(prev.subarray(prevAt, prevAt + RECORD_SIZE))}`, found: toHex(v.subarray(at, at + RECORD_SIZE)) });
          }
          prev = v;
          prevAt = at;
          const index = recordIndex(v, at);
          if (index >= limit) {
            if (beyond.length < FINISH_LIMIT) beyond.push({ kind: r.kind, index: BigInt(index), message: `an index record names entry ${index}, beyond the stored size ${size}`, found: toHex(v.subarray(at, at + RECORD_SIZE)) });
          } else if (index < r.first || index >= r.end) {
            flag({ kind: r.kind, index: BigInt(index), message: `${name} covers entries [${r.first}, ${r.end}) but a record in its page ${page} names entry ${index}`, found: toHex(v.subarray(at, at + RECORD_SIZE)) });
          }
          print.addAt(v, at, RECORD_SIZE);
          count++;
        }
      }
    }
  } finally {
    await it.close();
  }
  if (expectPage < r.toPage) flag({ kind: r.kind, message: `${name}: page${r.toPage - 1 > expectPage ? `s ${expectPage}..${r.toPage - 1} are` : ` ${expectPage} is`} not stored (its manifest lists ${r.pages} pages)`, expected: `page ${expectPage}`, found: 'nothing' });
  if (!last && prev !== undefined) {
    // The order across the part's end: the next part's first record must follow this one's last.
    const [next] = await db.getMany([runKey(id, PAGE, r.level, r.first, r.toPage)]);
    if (next !== undefined && next.length >= RECORD_SIZE && compareAt(prev, prevAt, next, 0, RECORD_SIZE) >= 0) {
      flag({ kind: r.kind, message: `${name}: records out of order at page ${r.toPage} (a lookup can miss them)`, expected: `after ${toHex(prev.subarray(prevAt, prevAt + RECORD_SIZE))}`, found: toHex(next.subarray(0, RECORD_SIZE)) });
    }
  }
  return { count: BigInt(count), print: print.bytes(), beyond, problems };
}

/** The record an entry calls for: the first 8 bytes of `value`, then the index in 5 bytes. */
export function recordOf(value: Uint8Array, index: bigint): Uint8Array {
  const out = new Uint8Array(RECORD_SIZE);
  out.set(value.subarray(0, PREFIX_SIZE));
  out[8] = Number(index >> 32n) & 0xff;
  new DataView(out.buffer).setUint32(9, Number(index & 0xffff_ffffn));
  return out;
}

/** coveredPrefix is the end of the prefix [0, covered) the runs cover without a gap (RunIndex.covered). */
export function coveredPrefix(runs: readonly RunInfo[]): number {
  let end = 0;
  for (const r of [...runs].sort((a, b) => a.first - b.first)) {
    if (r.first > end) break;
    if (r.end > end) end = r.end;
  }
  return end;
}

/** The pages of `run` that can hold records with the prefix of `record` (as RunIndex.lookup reads them). */
function candidatePages(run: RunInfo, record: Uint8Array): number[] {
  const pages = run.fences.length / PREFIX_SIZE;
  let lo = 0;
  let hi = pages;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareAt(run.fences, mid * PREFIX_SIZE, record, 0, PREFIX_SIZE) < 0) lo = mid + 1;
    else hi = mid;
  }
  const out: number[] = lo > 0 ? [lo - 1] : [];
  for (let p = lo; p < pages && compareAt(run.fences, p * PREFIX_SIZE, record, 0, PREFIX_SIZE) === 0; p++) out.push(p);
  return out;
}

/**
 * lookupRecords looks each item's leaf-hash and digest records up exactly as the store would find
 * them (the candidate pages of the run covering the entry, else of every run) and reports each
 * one that is not there.
 */
export async function lookupRecords(db: Db, runs: Readonly<Record<IndexKind, readonly RunInfo[]>>, items: readonly IndexItem[]): Promise<{ problems: Problem[]; lookups: number }> {
  const problems: Problem[] = [];
  let lookups = 0;
  for (const kind of ['digest-index', 'leaf-index'] as const) {
    const id = indexId(kind);
    const all = runs[kind];
    // Entries past what the runs cover lag (the store indexes them at its next open): not looked up.
    const covered = BigInt(coveredPrefix(all));
    const want = items.filter((it) => it.index < covered).map((it) => ({ it, record: recordOf(kind === 'leaf-index' ? it.leafHash : it.digest, it.index) }));
    const search = async (pick: (i: number) => readonly RunInfo[], todo: typeof want): Promise<typeof want> => {
      const keys = new Map<string, Uint8Array>();
      const plan = todo.map((w) => pick(Number(w.it.index)).flatMap((run) => candidatePages(run, w.record).map((p) => {
        const key = runKey(id, PAGE, run.level, run.first, p);
        keys.set(toHex(key), key);
        return toHex(key);
      })));
      const names = [...keys.keys()];
      const values = names.length === 0 ? [] : await db.getMany([...keys.values()]);
      const pages = new Map(names.map((n, i) => [n, values[i]]));
      lookups += todo.length;
      return todo.filter((w, i) => !(plan[i] as string[]).some((n) => has(pages.get(n), w.record)));
    };
    const covering = (i: number) => all.filter((r) => r.first <= i && i < r.end);
    let missing = await search(covering, want);
    if (missing.length > 0) missing = await search(() => all, missing);
    for (const { it } of missing) {
      problems.push({
        kind,
        index: it.index,
        message: `the ${indexName(kind)} does not list entry ${it.index} under its ${kind === 'leaf-index' ? 'leaf hash' : 'digest'}`,
        expected: kind === 'leaf-index' ? `${toHex(it.leafHash)} → ${it.index}` : `${it.alg}:${toHex(it.digest)} → ${it.index}`,
        found: 'no such index record',
      });
    }
  }
  return { problems, lookups };
}

/** has tells whether a page (sorted 13-byte records) holds `record` exactly. */
function has(page: Uint8Array | undefined, record: Uint8Array): boolean {
  if (page === undefined) return false;
  let lo = 0;
  let hi = Math.floor(page.length / RECORD_SIZE);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareAt(page, mid * RECORD_SIZE, record, 0, RECORD_SIZE);
    if (c === 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return false;
}
