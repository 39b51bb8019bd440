/**
 * Scenario 14 (issue 17 item 4): a log at scale. Builds the largest log it can within a time
 * budget (target 100,000,000 entries; `Sizes.scaleMinutes`, 40 in a full run, 0.5 with `--quick`,
 * `GUZHENG_BENCH_SCALE_MINUTES` overrides; `GUZHENG_BENCH_SCALE_ENTRIES` overrides the target), then
 * measures at the size reached: inclusion and consistency proofs in-process (as scenario 5), the
 * start-up of the service on that data directory, bytes on disk per entry, and the process's
 * memory during the fill and the proofs.
 *
 * The code path of the fill. Scenario 5's synthetic fill (`syntheticFill` in proofs.ts, not
 * exported) writes through {@link LevelStore.appendBatch}, and so does this one: the very method
 * the ledger's sequencer (src/log/sequencer.ts, `Sequencer` flush) calls for every flush, with a
 * batch built the way that flush builds it: leaves hashed, the compact range extended with
 * `CompactRange.appendTo`, and entries, leaf hashes, every new tree node, one digest-index record
 * per entry and the new size handed over as ONE write batch committed with `sync: true`, checked
 * by `checkAppendBatch`. So the key layout, the LevelDB writes and the fsyncs are the real log's,
 * and the log then opens through `Ledger.open` (recovery from the stored right edge, the first
 * checkpoint signed) like any other. Unlike scenario 5, the batches carry the digest index: the
 * ledger writes it for every entry, and leaving it out would understate the disk per entry.
 * What the fill skips is the part of `Ledger.append` before the store: validating and encoding
 * each submission (the entries are one template, checked byte for byte against `buildEntry` at
 * the start of every batch) and the group-commit queue; batches hold 10,000 entries, as scenario
 * 5's do (a busy ledger flushes up to 4,096). Scenario 1 measures that part; this one measures
 * what grows with the log.
 *
 * Each entry is a canonical v1 digest entry (no attachment, no case), so the raw bytes per entry
 * are its leaf data alone. Its digest is the SHA-256 of `bench content <i>`, as scenario 1's
 * digests are, not scenario 5's index in hex: an index in hex is mostly leading zeros, which would
 * let Snappy shrink the entries and the digest index far below what real digests allow (a quick
 * run measured 185 B/entry on disk with them, 285 with these) and flatter the disk figure. The fill
 * stops at the target, when the budget runs out, or when the file system holding the temporary
 * directory has less than 4 GiB free.
 */
import { readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { equalBytes, toHex, utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/core/crypto.js';
import { buildEntry } from '../../src/core/entry/index.js';
import { CompactRange } from '../../src/core/merkle/compact.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import type { NodeHash } from '../../src/core/merkle/node.js';
import { createApp } from '../../src/http/app.js';
import { Ledger } from '../../src/log/ledger.js';
import { LevelStore } from '../../src/storage/level.js';
import type { AppendBatch } from '../../src/storage/store.js';
import { BENCH_KEYS } from './append.js';
import { duBytes, fmt, log, percentile, since, tempDir, type Row, type Sizes } from './common.js';
import { listen } from './http.js';
import { timeProofs, type Timing } from './proofs.js';

/** Entries per fsynced batch (scenario 5's). */
const BATCH = 10_000;
/** The fill stops when the temporary directory's file system has less than this free. */
const MIN_FREE_BYTES = 4 * 1024 ** 3;
/** Seconds between progress lines. */
const PROGRESS_SECONDS = 10;
const RECEIVED_AT = '2026-03-01T00:00:00.000Z';
const SUBMITTER = 'bench';
const MiB = 1024 ** 2;

/** Entry i's digest: SHA-256 of a distinct content, lowercase hex (as common.ts makeDigests). */
function digestHex(i: number): string {
  return toHex(sha256(utf8(`bench content ${i}`)));
}

/** The leaf data of a digest entry, spelled directly (scenario 5's template; checked against buildEntry). */
function leafData(hex: string): Uint8Array {
  return utf8(`{"digest":{"alg":"sha256","hex":"${hex}"},"meta":{},"receivedAt":"${RECEIVED_AT}","submitter":"${SUBMITTER}","type":"digest","v":1}`);
}

/** One RSS sample: when, how many entries were written by then, the process's resident set. */
interface Sample {
  readonly t: number;
  readonly entries: number;
  readonly rss: number;
}

/** RssSampler records process.memoryUsage.rss() every `everyMs` (and whenever asked). */
class RssSampler {
  readonly samples: Sample[] = [];
  peak = 0;
  readonly #entries: () => number;
  readonly #timer: NodeJS.Timeout;

  constructor(entries: () => number, everyMs = 250) {
    this.#entries = entries;
    this.#timer = setInterval(() => this.sample(), everyMs);
    this.#timer.unref();
    this.sample();
  }

  sample(): number {
    const rss = process.memoryUsage.rss();
    this.samples.push({ t: performance.now(), entries: this.#entries(), rss });
    if (rss > this.peak) this.peak = rss;
    return rss;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.sample();
  }
}

/** The kernel's peak resident set of this process (VmHWM), bytes; undefined off Linux. */
function vmHwm(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * rssSplit reads the resident set's two parts (Linux): anonymous memory (heaps: what "bounded"
 * is about) and file-backed pages (LevelDB maps up to 1,000 table files; the kernel reclaims
 * those pages under pressure, so they grow with the log without being the process's own).
 */
function rssSplit(): { anon: number; file: number } | undefined {
  try {
    const st = readFileSync('/proc/self/status', 'utf8');
    const a = /^RssAnon:\s+(\d+) kB$/m.exec(st);
    const f = /^RssFile:\s+(\d+) kB$/m.exec(st);
    return a && f ? { anon: Number(a[1]) * 1024, file: Number(f[1]) * 1024 } : undefined;
  } catch {
    return undefined;
  }
}

/** resetHwm sets VmHWM back to the current RSS (Linux ≥ 4.0: `5` to clear_refs); false if it cannot. */
function resetHwm(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? 'n/a' : `${Math.round(bytes / MiB).toLocaleString('en-US')} MiB`;
}

interface Filled {
  readonly entries: number;
  readonly seconds: number;
  /** Time spent making batches (digests, leaf hashes, compact range), overlapped with the writes. */
  readonly buildSeconds: number;
  /** Sum of the entries' leaf bytes. */
  readonly entryBytes: number;
  readonly stop: 'target' | 'budget' | 'disk';
  /** performance.now() when each batch was durable. */
  readonly marks: readonly number[];
  readonly t0: number;
  readonly sampler: RssSampler;
  /** VmHWM at the end of the fill (reset at its start). */
  readonly hwm: number | undefined;
  /** The JS heap in use at the end of the fill. */
  readonly heapUsed: number;
  /** The resident set's anonymous and file-backed parts at the end of the fill. */
  readonly split: { anon: number; file: number } | undefined;
}

/**
 * fill appends digest entries to the LevelStore in `dir` through LevelStore.appendBatch, batches
 * of {@link BATCH} as the sequencer's flush builds them, until `target` entries, the budget, or
 * the free-space floor. Each batch is made while the previous one's fsynced write runs.
 */
async function fill(dir: string, target: number, budgetMs: number): Promise<Filled> {
  const store = await LevelStore.open(dir);
  const range = CompactRange.empty();
  let written = 0;
  let buildMs = 0;
  const make = (first: number): { batch: AppendBatch; bytes: number } => {
    const b0 = performance.now();
    const count = Math.min(BATCH, target - first);
    const entries = new Array<Uint8Array>(count);
    const leafHashes = new Array<Uint8Array>(count);
    const nodes: NodeHash[] = [];
    const digests = new Array<{ alg: string; hex: string; index: bigint }>(count);
    let bytes = 0;
    for (let k = 0; k < count; k++) {
      const hex = digestHex(first + k);
      const e = leafData(hex);
      if (k === 0) {
        const want = buildEntry({ type: 'digest', digest: { alg: 'sha256', hex }, meta: {}, submitter: SUBMITTER, receivedAt: RECEIVED_AT }).bytes;
        if (!equalBytes(e, want)) throw new Error(`bench: 14: synthetic entry ${first} is not the bytes Ledger.append would store`);
      }
      const leaf = hashLeaf(e);
      entries[k] = e;
      leafHashes[k] = leaf;
      // As Sequencer's flush: the range's size before the append is the entry's index.
      const index = range.appendTo(leaf, nodes);
      digests[k] = { alg: 'sha256', hex, index };
      bytes += e.length;
    }
    buildMs += performance.now() - b0;
    return { batch: { first: BigInt(first), entries, leafHashes, nodes, digests, attachments: [], secondary: [] }, bytes };
  };
  const hwmReset = resetHwm();
  const sampler = new RssSampler(() => written);
  const marks: number[] = [];
  let entryBytes = 0;
  let stop: Filled['stop'] = 'target';
  const t0 = performance.now();
  const deadline = t0 + budgetMs;
  let lastLog = t0;
  let lastLogEntries = 0;
  let lastDiskCheck = 0;
  let next = make(0);
  while (written < target) {
    const now = performance.now();
    if (now >= deadline) {
      stop = 'budget';
      break;
    }
    if (now - lastDiskCheck >= 1000) {
      lastDiskCheck = now;
      if (freeBytes(dir) < MIN_FREE_BYTES) {
        stop = 'disk';
        log(`14: fewer than ${mib(MIN_FREE_BYTES)} free under ${dir}: the fill stops here`);
        break;
      }
    }
    // appendBatch checks and stages the batch synchronously, then waits for its fsynced write:
    // the next batch is made while that write runs.
    const writing = store.appendBatch(next.batch);
    const done = next;
    const end = written + done.batch.entries.length;
    if (end < target) next = make(end);
    await writing;
    written = end;
    entryBytes += done.bytes;
    const t = performance.now();
    marks.push(t);
    if (t - lastLog >= PROGRESS_SECONDS * 1000) {
      const rss = sampler.sample();
      log(
        `14: ${written.toLocaleString('en-US')} entries, ${Math.round(written / since(t0)).toLocaleString('en-US')} entries/s (last ${((t - lastLog) / 1000).toFixed(0)} s: ${Math.round((written - lastLogEntries) / ((t - lastLog) / 1000)).toLocaleString('en-US')}), RSS ${mib(rss)} (anonymous ${mib(rssSplit()?.anon)}, JS heap ${mib(process.memoryUsage().heapUsed)})`,
      );
      lastLog = t;
      lastLogEntries = written;
    }
  }
  const seconds = since(t0);
  sampler.stop();
  const hwm = hwmReset ? vmHwm() : undefined;
  const heapUsed = process.memoryUsage().heapUsed;
  // The indexes lag the appends (src/storage/lazy-index.ts): how far, and how long close takes to write the rest.
  const index = store.indexState;
  const tc = performance.now();
  await store.close();
  log(`14: at the end of the fill the indexes lagged ${index.lag.toLocaleString('en-US')} entries (${index.merges} merges done, runs per level ${index.leafShape.join('/')}${index.error !== undefined ? `, error: ${index.error}` : ''}); close took ${since(tc).toFixed(1)} s`);
  if (written < 2) throw new Error(`bench: 14: the fill wrote ${written} entries (stopped by ${stop}); proofs need at least 2`);
  log(`14: filled ${written.toLocaleString('en-US')} entries in ${seconds.toFixed(0)} s (${Math.round(written / seconds).toLocaleString('en-US')} entries/s), stopped by ${stop}; peak RSS ${mib(sampler.peak)}`);
  return { entries: written, seconds, buildSeconds: buildMs / 1000, entryBytes, stop, marks, t0, sampler, hwm, heapUsed, split: rssSplit() };
}

interface Opened {
  readonly ledger: Ledger;
  readonly close: () => Promise<void>;
  /** ms: LevelStore.open, then Ledger.open, then createApp + listen. */
  readonly store: number;
  readonly open: number;
  readonly listen: number;
}

/**
 * openService opens the data directory as scenario 5 serves it: LevelStore.open, Ledger.open
 * (recovery, a checkpoint signed if the tree grew), createApp and listen on 127.0.0.1. Summaries
 * are off: a log grown through the ledger keeps them current and reads nothing for them at start,
 * while this synthetic log never had any and would start a catch-up over every entry.
 */
async function openService(dir: string): Promise<Opened> {
  const t0 = performance.now();
  const store = await LevelStore.open(dir);
  const t1 = performance.now();
  const ledger = await Ledger.open({ store, signerKey: BENCH_KEYS.signerKey, checkpointIntervalMs: 3_600_000, summaries: false });
  const t2 = performance.now();
  const server = await listen(createApp({ ledger, store, config: { rateLimitPerKey: 0 }, log: () => {} }));
  const t3 = performance.now();
  return {
    ledger,
    store: t1 - t0,
    open: t2 - t1,
    listen: t3 - t2,
    close: async () => {
      await server.close();
      await ledger.close();
    },
  };
}

const total = (o: Opened) => o.store + o.open + o.listen;

/** The rate (entries/s) over batches [from, to) of the fill. */
function rateOver(f: Filled, from: number, to: number): number {
  const marks = f.marks;
  if (to <= from) return NaN;
  const start = from === 0 ? f.t0 : (marks[from - 1] as number);
  const entries = Math.min(f.entries, to * BATCH) - from * BATCH;
  return entries / (((marks[to - 1] as number) - start) / 1000);
}

/** benchScale runs scenario 14. */
export async function benchScale(sizes: Sizes): Promise<Row[]> {
  const target = sizes.scaleEntries;
  const budgetMs = sizes.scaleMinutes * 60_000;
  log(`14: a log at scale: up to ${target.toLocaleString('en-US')} entries or ${fmt(sizes.scaleMinutes)} min (GUZHENG_BENCH_SCALE_MINUTES), through LevelStore.appendBatch`);
  const dataDir = tempDir('scale');
  const dir = join(dataDir, 'ledger');
  const f = await fill(dir, target, budgetMs);
  const n = f.entries;
  const size = n.toLocaleString('en-US');

  // Proofs, in the first open after the fill (which signs the log's first checkpoint).
  const first = await openService(dir);
  if (first.ledger.checkpointSize !== BigInt(n)) throw new Error(`bench: 14: checkpoint size ${first.ledger.checkpointSize}, want ${n}`);
  const hwmReset = resetHwm();
  const proofSampler = new RssSampler(() => n);
  let inclusion: Timing;
  let consistency: Timing;
  try {
    inclusion = await timeProofs(n, sizes.proofs, (i) => first.ledger.inclusionProof(BigInt(i)));
    consistency = await timeProofs(n, sizes.proofs, (i) => first.ledger.consistencyProof(BigInt(i + 1)));
  } finally {
    proofSampler.stop();
    await first.close();
  }
  const proofHwm = hwmReset ? vmHwm() : undefined;
  log(`14: at ${size}: inclusion p50 ${inclusion.p50.toFixed(0)} µs, 64 in flight ${inclusion.concurrent.toFixed(1)} µs/proof; consistency p50 ${consistency.p50.toFixed(0)} µs, ${consistency.concurrent.toFixed(1)} µs/proof; peak RSS ${mib(proofSampler.peak)}`);

  // Start-up: three opens of the closed directory, each timed to listen.
  const opens: Opened[] = [];
  for (let k = 0; k < 3; k++) {
    const o = await openService(dir);
    await o.close();
    opens.push(o);
    log(`14: start-up ${k + 1} of 3: ${total(o).toFixed(0)} ms (store ${o.store.toFixed(0)}, ledger ${o.open.toFixed(0)}, listen ${o.listen.toFixed(0)})`);
  }
  const byTotal = [...opens].sort((a, b) => total(a) - total(b));
  const median = byTotal[1] as Opened;

  const disk = duBytes(dataDir);
  const raw = f.entryBytes / n;
  // What layout 2 stores per entry before Snappy: the entry and its 2-byte length in a bundle, two
  // node hashes in the tiles (2n − 1 nodes), a digest record (slot, length, 'sha256', 32 bytes)
  // and two 13-byte index records; keys: one per 256 entries for bundles, digest bundles and
  // level-0 tiles, one per 256 records for each index's pages.
  const layoutBytes = raw + 2 + 64 + (2 + 6 + 32) + 2 * 13;
  const keysPerEntry = 5 / 256;

  // Memory: RSS when the fill passed 25, 50, 100 % of the size reached; peak per quarter of it.
  const samples = f.sampler.samples;
  const rssAt = (p: number) => samples.find((s) => s.entries >= p * n)?.rss;
  const quarters = [0, 1, 2, 3].map((q) => {
    let peak: number | undefined;
    for (const s of samples) if (s.entries > (q * n) / 4 && s.entries <= ((q + 1) * n) / 4) peak = Math.max(peak ?? 0, s.rss);
    return peak;
  });
  const [, q2, , q4] = quarters;
  const bounded = q2 === undefined || q4 === undefined ? undefined : q4 <= 1.25 * q2;

  const batches = f.marks.length;
  const tenth = Math.max(1, Math.floor(batches / 10));
  const rate = n / f.seconds;
  const rateFirst = rateOver(f, 0, tenth);
  const rateLast = rateOver(f, batches - tenth, batches);
  const quick = sizes.quick ? ' (quick run)' : '';
  const lat = (t: Timing) => `one at a time: p50 ${t.p50.toFixed(0)} µs, p99 ${t.p99.toFixed(0)} µs; ${sizes.proofs.toLocaleString('en-US')} proofs each way, random indexes`;
  const rows: Row[] = [
    {
      scenario: '14 scale',
      metric: `log size reached within the fill budget of ${fmt(sizes.scaleMinutes)} min${quick}, synthetic fill through LevelStore.appendBatch`,
      value: n,
      unit: 'entries',
      goal: `${target.toLocaleString('en-US')} entries`,
      met: n >= target,
      note: `stopped by ${f.stop === 'target' ? 'reaching the target' : f.stop === 'budget' ? 'the budget' : 'the free-space floor (4 GiB)'} after ${f.seconds.toFixed(0)} s; ${batches.toLocaleString('en-US')} fsynced batches of up to ${BATCH.toLocaleString('en-US')} digest entries (layout 2: entry bundles, digest bundles and tiles or their pieces, size; the indexes written behind, unsynced)`,
    },
    {
      scenario: '14 scale',
      metric: `fill rate to ${size} entries (LevelStore.appendBatch, ${BATCH.toLocaleString('en-US')} per fsynced batch)`,
      value: rate,
      unit: 'entries/s',
      note: `first tenth of the batches ${fmt(rateFirst)} entries/s, last tenth ${fmt(rateLast)} entries/s; making the batches (digests, leaf hashes, compact range) took ${f.buildSeconds.toFixed(0)} s of the ${f.seconds.toFixed(0)}, each while the previous batch was written`,
    },
    ...([
      ['inclusion', inclusion],
      ['consistency', consistency],
    ] as const).map(([kind, m]) => ({
      scenario: '14 scale',
      metric: `${kind} proof at ${size}, in-process, 64 in flight`,
      value: m.concurrent,
      unit: 'µs/proof',
      goal: '≤ 200 µs per proof',
      met: m.concurrent <= 200,
      note: lat(m),
    })),
    {
      scenario: '14 scale',
      metric: `start-up on the ${size}-entry data directory, closed before: LevelStore.open → Ledger.open → listen, median of 3`,
      value: total(median),
      unit: 'ms',
      goal: '≤ 2 s',
      met: total(median) <= 2000,
      note: `opens ${opens.map((o) => total(o).toFixed(0)).join(', ')} ms; the median: store ${median.store.toFixed(0)} ms, ledger ${median.open.toFixed(0)} ms, listen ${median.listen.toFixed(0)} ms. The first open after the fill (it signs the first checkpoint): ${total(first).toFixed(0)} ms. Summaries off; the OS page cache is warm (same process, just written)`,
    },
    {
      scenario: '14 scale',
      metric: `bytes on disk per entry at ${size} (the data directory after close)`,
      value: disk / n,
      unit: 'B/entry',
      baseline: { name: 'raw entry bytes (leaf data; these entries have no attachment)', value: raw, unit: 'B/entry' },
      ratio: disk / f.entryBytes,
      goal: 'ratio ≤ 1.1',
      met: disk / f.entryBytes <= 1.1,
      note: `${mib(disk)} on disk; layout 2 stores about ${layoutBytes.toFixed(0)} B per entry before compression (entry + length ${(raw + 2).toFixed(0)}, tree 64, digest record 40, index records 26) in about ${keysPerEntry.toFixed(2)} keys per entry; ratio = disk / raw (lower is better)`,
    },
    {
      scenario: '14 scale',
      metric: `peak RSS during the fill to ${size} entries`,
      value: f.sampler.peak / MiB,
      unit: 'MiB',
      goal: 'bounded: the last quarter of the fill peaks ≤ 1.25 × the second',
      ...(bounded !== undefined ? { met: bounded } : {}),
      note: `sampled every 250 ms; VmHWM over the fill ${mib(f.hwm)}. RSS when the fill began ${mib(samples[0]?.rss)}, at 25 % of it ${mib(rssAt(0.25))}, 50 % ${mib(rssAt(0.5))}, 100 % ${mib(rssAt(1))}; peak per quarter ${quarters.map(mib).join(', ')}; JS heap in use at the end ${mib(f.heapUsed)}; at the end anonymous ${mib(f.split?.anon)}, file-backed (LevelDB's mapped tables) ${mib(f.split?.file)}`,
    },
    {
      scenario: '14 scale',
      metric: `peak RSS during the proofs at ${size} entries`,
      value: proofSampler.peak / MiB,
      unit: 'MiB',
      note: `sampled every 250 ms; VmHWM over the proofs ${mib(proofHwm)}; one-at-a-time and 64-in-flight proofs, both kinds; p99 of the samples ${mib(percentile(proofSampler.samples.map((s) => s.rss).sort((a, b) => a - b), 99))}`,
    },
  ];
  return rows;
}
