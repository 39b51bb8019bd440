/**
 * Checks over all the runs of a layout-2 index (local-runs.ts; src/storage/run-index.ts;
 * contracts-free-ledger/SPEC.md#storage, docs/storage-v2.md) that no single part scan can make:
 *
 * - the runs' manifests cover a prefix [0, covered) of the entries exactly once, covered ≤ size
 *   (the indexes lag behind the appends and are completed by the store at its next open:
 *   contracts-free-ledger/SPEC.md#layout-2): a gap with runs after it leaves entries out of the
 *   index for good, an overlap lists them twice, a run past the size lists entries that do not exist;
 * - no page is stored that neither a manifest, the merge in flight (`w`) nor a replaced run (`g`)
 *   names;
 * - (only when the fingerprints disagree and no record is missing) every record names an entry
 *   whose leaf hash or digest starts with the record's prefix ({@link locateWrongRecords}).
 */
import { toHex } from '../core/bytes.js';
import { decodeEntry } from '../core/entry/codec.js';
import type { TreeHasher } from '../core/merkle/hash.js';
import { BUNDLE, bundleKey } from '../storage/layout2.js';
import { PREFIX_SIZE, RECORD_SIZE } from '../storage/run-index.js';
import { walkBundle } from './local-entries.js';
import { FINISH_LIMIT, HIGH_WATER, type Db } from './local-db.js';
import { FAMILY, GARBAGE, MERGING, PAGE, indexId, indexName, kindRange, pagesEnd, recordIndex, runKey, type IndexKind, type RunInfo } from './local-runs.js';
import type { Problem } from './report.js';

/** finishRuns checks that the runs of `kind` tile a prefix of [0, size) and that no page lies outside a run. */
export async function finishRuns(db: Db, kind: IndexKind, runs: readonly RunInfo[], size: bigint): Promise<Problem[]> {
  const problems: Problem[] = [];
  const name = indexName(kind);
  const sorted = [...runs].sort((a, b) => a.first - b.first || a.level - b.level);
  let next = 0;
  let nextRun = '';
  for (const r of sorted) {
    if (problems.length >= FINISH_LIMIT) break;
    const here = `run ${r.level}/${r.first}`;
    if (r.first > next) {
      // Runs are written in order, each after the one before: a hole with runs after it is not lag.
      problems.push({ kind, index: BigInt(next), message: `no run of the ${name} covers entries [${next}, ${r.first}), though ${here} covers entries after them: the index does not list them`, expected: `a run from entry ${next}`, found: `${here} from entry ${r.first}` });
    } else if (r.first < next) {
      problems.push({ kind, index: BigInt(r.first), message: `${here} and ${nextRun} of the ${name} both cover entries [${r.first}, ${Math.min(next, r.end)}): the index lists them twice`, expected: `a run from entry ${next}`, found: `${here} from entry ${r.first}` });
    }
    if (r.end > next) {
      next = r.end;
      nextRun = here;
    }
  }
  if (BigInt(next) > size) {
    problems.push({ kind, index: size, message: `${nextRun} of the ${name} covers entries up to ${next}, beyond the stored size ${size}`, expected: `runs up to entry ${size}`, found: `runs up to entry ${next}` });
  }
  problems.push(...(await orphanPages(db, kind, runs)));
  return problems;
}

/** orphanPages lists runs whose pages are stored though nothing names them (one seek per run). */
async function orphanPages(db: Db, kind: IndexKind, runs: readonly RunInfo[]): Promise<Problem[]> {
  const id = indexId(kind);
  const known = new Set(runs.map((r) => `${r.level}/${r.first}`));
  const [merging] = await db.getMany([Uint8Array.of(FAMILY, id, MERGING)]);
  if (merging !== undefined && merging.length === 9) known.add(`${merging[0]}/${readU64(merging, 1)}`);
  for (const k of await db.keys({ ...kindRange(id, GARBAGE), limit: 1 << 20 }).all()) if (k.length === 12) known.add(`${k[3]}/${readU64(k, 4)}`);
  const problems: Problem[] = [];
  const pages = kindRange(id, PAGE);
  let cursor = pages.gte;
  while (problems.length < FINISH_LIMIT) {
    const [k] = await db.keys({ gte: cursor, lt: pages.lt, limit: 1 }).all();
    if (k === undefined) break;
    if (k.length !== 16) {
      problems.push({ kind, message: `a page key of the ${indexName(kind)} is malformed`, found: toHex(k) });
      cursor = Uint8Array.of(...k, 0);
      continue;
    }
    const level = k[3] as number;
    const first = readU64(k, 4);
    if (!known.has(`${level}/${first}`)) {
      problems.push({ kind, index: BigInt(first), message: `pages of run ${level}/${first} of the ${indexName(kind)} are stored, but no manifest names that run (nor a merge in flight, nor a replaced run)`, expected: 'no such pages', found: `run ${level}/${first}` });
    }
    cursor = pagesEnd(id, level, first);
  }
  return problems;
}

function readU64(b: Uint8Array, at: number): number {
  const v = new DataView(b.buffer, b.byteOffset + at, 8);
  return v.getUint32(0) * 2 ** 32 + v.getUint32(4);
}

/** The first 8 bytes of the value entry `e` is indexed under, or undefined when it does not decode. */
function valueOf(kind: IndexKind, e: Uint8Array, tree: TreeHasher): Uint8Array | undefined {
  if (kind === 'leaf-index') return tree.hashLeaf(e).subarray(0, PREFIX_SIZE);
  try {
    const hex = decodeEntry(e).digest.hex;
    return Uint8Array.from({ length: PREFIX_SIZE }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
  } catch {
    return undefined; // the entry itself is reported
  }
}

/**
 * locateWrongRecords scans every run of `kind` for records naming an entry below `size` (and in
 * their run) whose leaf hash (with `tree`, the log's suite's: SPEC.md#crypto-suites) or digest does
 * not start with the record's prefix, recomputed from the stored entry. Slow (the entries of a
 * page's records are read at random): only run when the fingerprints say such records exist.
 */
export async function locateWrongRecords(db: Db, kind: IndexKind, runs: readonly RunInfo[], size: bigint, tree: TreeHasher): Promise<Problem[]> {
  const id = indexId(kind);
  const problems: Problem[] = [];
  for (const r of runs) {
    const it = db.iterator({ gte: runKey(id, PAGE, r.level, r.first, 0), lt: pagesEnd(id, r.level, r.first), highWaterMarkBytes: HIGH_WATER });
    try {
      for (;;) {
        const rows = await it.nextv(16);
        if (rows.length === 0 || problems.length >= FINISH_LIMIT) break;
        for (const [, page] of rows) {
          const at: number[] = [];
          for (let o = 0; o + RECORD_SIZE <= page.length; o += RECORD_SIZE) {
            const i = recordIndex(page, o);
            if (BigInt(i) < size && i >= r.first && i < r.end) at.push(o);
          }
          const bundles = [...new Set(at.map((o) => Math.floor(recordIndex(page, o) / BUNDLE)))];
          const values = bundles.length === 0 ? [] : await db.getMany(bundles.map((b) => bundleKey(b)));
          const byBundle = new Map(bundles.map((b, j) => [b, values[j]]));
          const walks = new Map(bundles.map((b, j) => [b, values[j] === undefined ? undefined : walkBundle(values[j] as Uint8Array)]));
          for (const o of at) {
            if (problems.length >= FINISH_LIMIT) break;
            const index = recordIndex(page, o);
            const bundle = byBundle.get(Math.floor(index / BUNDLE));
            const walk = walks.get(Math.floor(index / BUNDLE));
            if (bundle === undefined || walk === undefined) continue; // reported as missing entries
            const slot = index % BUNDLE;
            const off = walk.offsets[slot];
            if (off === undefined) continue;
            const want = valueOf(kind, bundle.subarray(off, off + (walk.lengths[slot] as number)), tree);
            if (want === undefined || toHex(want) === toHex(page.subarray(o, o + PREFIX_SIZE))) continue;
            problems.push({
              kind,
              index: BigInt(index),
              message: `an index record names entry ${index}, whose ${kind === 'digest-index' ? 'digest' : 'leaf hash'} starts otherwise`,
              expected: toHex(want),
              found: toHex(page.subarray(o, o + PREFIX_SIZE)),
            });
          }
        }
      }
    } finally {
      await it.close();
    }
    if (problems.length >= FINISH_LIMIT) break;
  }
  return problems;
}
