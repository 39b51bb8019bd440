/**
 * The index half of a local replay (replay.ts, step 4): the digest and leaf-hash indexes must list
 * every entry and nothing else. Each chunk folds the records its entries call for into keyed
 * fingerprints (print.ts); workers scan the parts of the indexes' runs (layout 2,
 * src/storage/run-index.ts; docs/storage-v2.md), check them against their manifests and
 * fingerprint what is stored; this folds both (multiset sums) and compares them. Only when they differ does it locate the difference: a second
 * pass that looks every expected record up, then a scan for records naming the wrong entry.
 * Records of entries the replay already found damaged are expected to differ and are not reported
 * again. Apart from the engine because it shares with it only the executor and the problem list.
 */
import { equalBytes } from '../core/bytes.js';
import type { CryptoSuite } from '../core/suite.js';
import { CHUNK_SIZE, type ChunkResult } from './chunk.js';
import { quiet, type Executor } from './pool.js';
import { addPrint } from './print.js';
import type { ProblemList } from './problem-list.js';
import type { CountResult, IndexRange } from './reads.js';
import type { Problem } from './report.js';
import type { AuditSource } from './source.js';

/** Entries known to be damaged, remembered to keep index findings about them out of the report. */
const MAX_BAD_ENTRIES = 100_000;

type IndexKind = 'digest-index' | 'leaf-index';


/** The index fingerprints of one replay: expected from the chunks, actual from scans on the workers. */
export class IndexPrints {
  readonly #source: AuditSource;
  readonly #suite: CryptoSuite;
  readonly #size: bigint;
  readonly #executor: Executor;
  readonly #problems: ProblemList;
  readonly #expected = { 'digest-index': new Uint8Array(32), 'leaf-index': new Uint8Array(32) };
  readonly #actual = { 'digest-index': new Uint8Array(32), 'leaf-index': new Uint8Array(32) };
  readonly #counted = { 'digest-index': 0n, 'leaf-index': 0n };
  readonly #beyondFound = { 'digest-index': false, 'leaf-index': false };
  readonly #beyond: Partial<Record<IndexKind, Problem>> = {};
  readonly #beyondCount = { 'digest-index': 0, 'leaf-index': 0 };
  readonly #badEntries = new Set<bigint>();
  #badOverflow = false;
  readonly #ranges: IndexRange[];
  readonly #counting: Array<Promise<{ range: IndexRange; r: CountResult }>> = [];
  /** Records counted per run (`kind level/first`), against its manifest's count. */
  readonly #perRun = new Map<string, { range: IndexRange; count: bigint }>();
  readonly #countsPerChunk: number;

  /** Requires: `size` is the size the replay covers; the source's index ranges (if any) are taken now. */
  constructor(source: AuditSource, suite: CryptoSuite, size: bigint, executor: Executor, problems: ProblemList) {
    this.#source = source;
    this.#suite = suite;
    this.#size = size;
    this.#executor = executor;
    this.#problems = problems;
    this.#ranges = source.indexRanges?.(suite.digestAlg) ?? [];
    const chunksTotal = Number((size + BigInt(CHUNK_SIZE) - 1n) / BigInt(CHUNK_SIZE));
    this.#countsPerChunk = Math.max(1, Math.ceil(this.#ranges.length / Math.max(1, chunksTotal)));
  }

  /** post starts the scans of the next `n` key ranges (default: one chunk's share of them). */
  post(n: number = this.#countsPerChunk): void {
    for (const range of this.#ranges.splice(0, n)) this.#counting.push(quiet(this.#executor.runCount(range, this.#size).then((r) => ({ range, r }))));
  }

  /** absorb folds in a replayed chunk's expected fingerprints and the entries it found damaged. */
  absorb(r: ChunkResult): void {
    if (r.prints !== undefined) {
      addPrint(this.#expected['digest-index'], r.prints.digest);
      addPrint(this.#expected['leaf-index'], r.prints.leaf);
    }
    for (const b of r.badEntries) {
      if (this.#badEntries.size < MAX_BAD_ENTRIES) this.#badEntries.add(b);
      else this.#badOverflow = true;
    }
  }

  /**
   * settle runs the scans not yet started, folds in every scan's count and fingerprint, and
   * reports the records naming entries beyond the size (the first of each index, the rest
   * counted). Requires: every chunk has been absorbed.
   */
  async settle(warn: (message: string) => void): Promise<void> {
    this.post(this.#ranges.length);
    for (const { range, r } of await Promise.all(this.#counting)) {
      this.#counted[range.kind] += r.count;
      addPrint(this.#actual[range.kind], r.print);
      for (const p of r.problems) this.#problems.add(p);
      const run = `${range.kind} ${range.level}/${range.first}`;
      const sum = this.#perRun.get(run) ?? { range, count: 0n };
      sum.count += r.count;
      this.#perRun.set(run, sum);
      for (const p of r.beyond) {
        this.#beyondFound[range.kind] = true;
        const firstSoFar = this.#beyond[range.kind];
        if (firstSoFar === undefined || (p.index ?? 0n) < (firstSoFar.index ?? 0n)) this.#beyond[range.kind] = p;
        this.#beyondCount[range.kind]++;
      }
    }
    // Each run holds as many records as its manifest says (lookups read pages by its fences).
    for (const { range, count } of this.#perRun.values()) {
      if (count === BigInt(range.records)) continue;
      this.#problems.add({
        kind: range.kind,
        index: BigInt(range.first),
        message: `run ${range.level}/${range.first} of the ${range.kind === 'leaf-index' ? 'leaf-hash' : 'digest'} index holds ${count} records in its pages, but its manifest says ${range.records}`,
        expected: `${range.records} records`,
        found: `${count} records`,
      });
    }
    // Records naming entries beyond the size: list the first of each index, count the rest.
    for (const kind of ['digest-index', 'leaf-index'] as const) {
      const p = this.#beyond[kind];
      if (p === undefined) continue;
      const more = this.#beyondCount[kind] - 1;
      this.#problems.add(more > 0 ? { ...p, message: `${p.message} (and ${more} more such record${more === 1 ? '' : 's'})` } : p);
      if (more > 0) this.#problems.addUnlisted({ [kind]: more });
    }
    if (this.#badOverflow) warn(`more than ${MAX_BAD_ENTRIES} damaged entries: index findings about some of them may be listed too`);
  }

  /** differing lists the indexes whose stored records fingerprint otherwise than expected. Requires: settled. */
  differing(): IndexKind[] {
    return (['digest-index', 'leaf-index'] as const).filter((k) => !equalBytes(this.#expected[k], this.#actual[k]));
  }

  /**
   * locate finds out where the fingerprints of `kinds` differ, over entries [0, replayed). First
   * it looks up every expected record (a second pass over the entries, `lookup` mode); then, if
   * that finds no missing record, it scans the index for records that name the wrong entry.
   * Returns the index lookups it made.
   */
  async locate(kinds: readonly IndexKind[], replayed: bigint): Promise<number> {
    const reader = this.#source.local?.reader;
    if (reader === undefined) return 0;
    const problems = this.#problems;
    let lookups = 0;
    const found = new Map<IndexKind, number>(kinds.map((k) => [k, 0]));
    const depth = Math.max(2, this.#executor.workers * 3);
    const queue: Array<Promise<ChunkResult>> = [];
    const take = async () => {
      const r = await (queue.shift() as Promise<ChunkResult>);
      for (const p of r.problems) {
        const kind = p.kind as IndexKind;
        if (!found.has(kind)) continue;
        found.set(kind, (found.get(kind) ?? 0) + 1);
        problems.add(p);
      }
      problems.addUnlisted(Object.fromEntries(Object.entries(r.unlisted).filter(([k]) => found.has(k as IndexKind))));
      lookups += r.indexLookups;
    };
    for (let start = 0n; start < replayed; start += BigInt(CHUNK_SIZE)) {
      const count = replayed - start < BigInt(CHUNK_SIZE) ? Number(replayed - start) : CHUNK_SIZE;
      const indexedTo = reader.indexedTo;
      queue.push(quiet(this.#executor.runChunk({ start, count, snapshots: [], indexMode: 'lookup', ...(indexedTo !== undefined ? { indexedTo } : {}) })));
      if (queue.length >= depth) await take();
    }
    while (queue.length > 0) await take();
    for (const kind of kinds) {
      if ((found.get(kind) ?? 0) > 0 || this.#beyondFound[kind]) continue;
      const wrong = (await reader.locateWrongRecords(kind, this.#suite.tree)).filter((p) => p.index === undefined || !this.#badEntries.has(p.index));
      for (const p of wrong) problems.add(p);
      // With no record missing or wrong, the difference is the records of entries already reported.
      if (wrong.length > 0 || this.#badEntries.size > 0) continue;
      problems.add(
        {
          kind,
          message: `the ${kind === 'digest-index' ? 'digest' : 'leaf-hash'} index holds other records than the entries call for (${this.#counted[kind]} records for ${this.#size} entries)`,
          expected: `${this.#size} records, one per entry`,
          found: `${this.#counted[kind]} records`,
        },
        this.#size,
      );
    }
    return lookups;
  }
}
