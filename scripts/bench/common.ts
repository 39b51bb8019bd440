/**
 * Shared pieces of the benchmark harness (scripts/bench/run.ts): sizes, the result rows, the
 * entry generator, temporary directories, timing and on-disk size.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/core/crypto.js';
import type { EntryInput } from '../../src/log/ledger.js';

/** The sizes of one run: `--quick` (CI, < 2 min) or full (< 20 min, plus scenario 14's fill budget). */
export interface Sizes {
  readonly quick: boolean;
  /** Scenario 1: entries appended through the library API (also the ledger of 5, 6, 7). */
  readonly appendEntries: number;
  /** Scenario 1: concurrent submitters. */
  readonly submitters: number;
  /** Scenario 5: the large tree (synthetic fill). */
  readonly bigTree: number;
  /** Scenario 5: proofs timed per tree. */
  readonly proofs: number;
  /** Scenario 5: merkletreejs rebuilds timed (each at the ledger's size). */
  readonly rebuilds: number;
  /** Scenarios 2–5 over HTTP: seconds per load run. */
  readonly httpSeconds: number;
  /** Scenario 8: entries hypercore appends. */
  readonly peerEntries: number;
  /** Scenario 14: the size the log at scale aims for (`GUZHENG_BENCH_SCALE_ENTRIES` overrides). */
  readonly scaleEntries: number;
  /** Scenario 14: minutes its fill may take at most (`GUZHENG_BENCH_SCALE_MINUTES` overrides). */
  readonly scaleMinutes: number;
}

export const QUICK: Sizes = {
  quick: true,
  appendEntries: 50_000,
  submitters: 1000,
  bigTree: 100_000,
  proofs: 5_000,
  rebuilds: 1,
  httpSeconds: 5,
  peerEntries: 50_000,
  scaleEntries: 100_000_000,
  scaleMinutes: 0.5,
};

export const FULL: Sizes = {
  quick: false,
  appendEntries: 1_000_000,
  submitters: 1000,
  bigTree: 10_000_000,
  proofs: 20_000,
  rebuilds: 1,
  httpSeconds: 10,
  peerEntries: 1_000_000,
  scaleEntries: 100_000_000,
  scaleMinutes: 40,
};

/**
 * withEnv applies the size overrides of the environment to `sizes`: `GUZHENG_BENCH_SCALE_MINUTES`
 * (scenario 14's fill budget, a positive decimal, e.g. `0.5` or `90`) and
 * `GUZHENG_BENCH_SCALE_ENTRIES` (its target, a positive integer). Requires: each set variable
 * well formed, else it throws naming it (a typo must not silently run a 40-minute fill).
 */
export function withEnv(sizes: Sizes, env: NodeJS.ProcessEnv): Sizes {
  const num = (name: string, integer: boolean): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    const v = Number(text);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(v > 0) || (integer && !Number.isSafeInteger(v))) {
      throw new Error(`bench: ${name} got ${JSON.stringify(text)}, want a positive ${integer ? 'integer' : 'number'}`);
    }
    return v;
  };
  const minutes = num('GUZHENG_BENCH_SCALE_MINUTES', false);
  const entries = num('GUZHENG_BENCH_SCALE_ENTRIES', true);
  return { ...sizes, ...(minutes !== undefined ? { scaleMinutes: minutes } : {}), ...(entries !== undefined ? { scaleEntries: entries } : {}) };
}

/** One line of the results table. */
export interface Row {
  /** Scenario number and short name, e.g. `1 append (library)`. */
  readonly scenario: string;
  /** What was measured, e.g. `entries/s`. */
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** The baseline measured in the same run, when the scenario has one. */
  readonly baseline?: { readonly name: string; readonly value: number; readonly unit: string };
  /** value / baseline (or baseline / value for times: always "higher is better for Guzheng"). */
  readonly ratio?: number;
  /** The goal, in words. */
  readonly goal?: string;
  readonly met?: boolean;
  readonly note?: string;
}

/** A row whose ratio is `value / baseline` (rates: higher is better). */
export function rateRow(r: Omit<Row, 'ratio'> & { baseline: NonNullable<Row['baseline']> }): Row {
  return { ...r, ratio: r.value / r.baseline.value };
}

const dirs: string[] = [];

/** tempDir makes a directory under the OS temp dir, removed by {@link cleanup}. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `guzheng-bench-${prefix}-`));
  dirs.push(d);
  return d;
}

/** cleanup removes every directory made by {@link tempDir}. */
export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** duBytes sums the sizes of the regular files under `dir` (what the ledger occupies). */
export function duBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += duBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

/** log prints a progress line on stderr (the table goes to stdout). */
export function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** seconds since `t0` (a performance.now() value). */
export function since(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/** percentile of sorted numbers (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/**
 * Digests of the entries the benchmark anchors: SHA-256 of a distinct content per entry,
 * computed before any timing starts.
 */
export function makeDigests(n: number): string[] {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = toHex(sha256(utf8(`bench content ${i}`)));
  return out;
}

/**
 * The same digests packed into one buffer (32 bytes each) for large runs: a million hex strings
 * would sit in the heap the ledger's garbage collector has to walk. `hexAt(i)` spells one.
 */
export function packDigests(n: number): { hexAt(i: number): string } {
  const packed = new Uint8Array(32 * n);
  for (let i = 0; i < n; i++) packed.set(sha256(utf8(`bench content ${i}`)), 32 * i);
  return { hexAt: (i) => toHex(packed.subarray(32 * i, 32 * i + 32)) };
}

const CASE = '衡环罚〔2026〕12号';

/**
 * entryInput is the i-th benchmark entry, the mix an evidence log sees: an enforcement document
 * (with its case), an HJ 212-style monitoring record (JSON, stored as an attachment) and a
 * client-computed digest, in turn. `hex` is the entry's precomputed content digest.
 */
export function entryInput(i: number, hex: string): EntryInput {
  switch (i % 3) {
    case 0:
      return { type: 'document', digest: { alg: 'sha256', hex }, meta: { name: `现场检查笔录-${i}.pdf`, mediaType: 'application/pdf', size: 184_320 + i, caseId: CASE } };
    case 1:
      return {
        type: 'record',
        record: { mn: '88888880000001', dataTime: '2026-03-01T08:00:00+08:00', cn: '2011', pollutants: { a34004: { rtd: (i % 500) / 10, flag: 'N' }, a01001: { rtd: 21.5, flag: 'N' } } },
        meta: { source: 'HS-AQ-0001', dataTime: '2026-03-01T08:00:00+08:00' },
      };
    default:
      return { type: 'digest', digest: { alg: 'sha256', hex }, meta: { name: `IMG_${i}.jpg`, mediaType: 'image/jpeg' } };
  }
}

/** The JSON body of entry i for POST /v1/entries (record or digest: the HTTP entry types). */
export function entryJson(i: number, hex: string): Record<string, unknown> {
  if (i % 2 === 1) {
    return { type: 'record', record: { mn: '88888880000001', dataTime: '2026-03-01T08:00:00+08:00', cn: '2011', pollutants: { a34004: { rtd: (i % 500) / 10, flag: 'N' } } }, meta: { source: 'HS-AQ-0001' } };
  }
  return { type: 'digest', digest: { alg: 'sha256', hex }, meta: { name: `IMG_${i}.jpg`, mediaType: 'image/jpeg', caseId: CASE } };
}

/** fmt renders a number for the table: 3 significant digits, thousands separated. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString('en-US');
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}
