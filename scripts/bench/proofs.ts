/**
 * Scenario 5: inclusion and consistency proofs from the stored tree (O(log n) node reads, nothing
 * rebuilt), at the size of scenario 1's ledger (1M in a full run) and at a large synthetic tree
 * (10M) filled through the same storage code (LevelStore.appendBatch, batches of 10,000, fsynced).
 * In-process: µs per proof, one at a time (latency) and 64 in flight (throughput). Over HTTP:
 * proofs/s with random indexes (load generator in a child process). Baseline: merkletreejs, which
 * keeps no tree on disk and must rebuild its tree after each append before it can prove the new
 * entry: the time of one rebuild + getProof at the same size.
 */
import { join } from 'node:path';
import { MerkleTree } from 'merkletreejs';
import { utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/core/crypto.js';
import { CompactRange } from '../../src/core/merkle/compact.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import type { NodeHash } from '../../src/core/merkle/node.js';
import { createApp } from '../../src/http/app.js';
import { Ledger } from '../../src/log/ledger.js';
import { LevelStore } from '../../src/storage/level.js';
import type { AppendBatch } from '../../src/storage/store.js';
import { BENCH_KEYS, type BuiltLedger } from './append.js';
import { log, percentile, since, tempDir, type Row, type Sizes } from './common.js';
import { listen, runLoad } from './http.js';

/**
 * syntheticFill writes `n` digest entries through LevelStore.appendBatch (entries, the leaf-hash
 * index, every tree node, the size; one synced batch per 10,000) and returns the directory.
 * Entry i is a canonical v1 digest entry whose digest is i in hex: valid, distinct, and cheap.
 */
async function syntheticFill(n: number): Promise<string> {
  const dir = join(tempDir('synthetic'), 'ledger');
  const store = await LevelStore.open(dir);
  const range = CompactRange.empty();
  const B = 10_000;
  const make = (first: number): AppendBatch => {
    const entries: Uint8Array[] = [];
    const leafHashes: Uint8Array[] = [];
    const nodes: NodeHash[] = [];
    for (let i = first; i < Math.min(n, first + B); i++) {
      const hex = i.toString(16).padStart(64, '0');
      const e = utf8(`{"digest":{"alg":"sha256","hex":"${hex}"},"meta":{},"receivedAt":"2026-03-01T00:00:00.000Z","submitter":"bench","type":"digest","v":1}`);
      const leaf = hashLeaf(e);
      entries.push(e);
      leafHashes.push(leaf);
      for (const node of range.append(leaf)) nodes.push(node);
    }
    // No digest-index records: proofs never read them, and they would add a key per entry.
    return { first: BigInt(first), entries, leafHashes, nodes, digests: [], attachments: [] };
  };
  const t0 = performance.now();
  let next = make(0);
  for (let first = 0; first < n; first += B) {
    // appendBatch checks and stages the batch synchronously, then waits for its fsynced write:
    // the next batch is made while that write runs.
    const written = store.appendBatch(next);
    if (first + B < n) next = make(first + B);
    await written;
    if ((first / B) % 100 === 99) log(`5: synthetic fill ${first + B} of ${n} (${Math.round((first + B) / since(t0))} entries/s)`);
  }
  await store.close();
  log(`5: synthetic fill of ${n} entries in ${since(t0).toFixed(0)} s`);
  return dir;
}

/** merkletreejs rebuild-and-prove at size n (RFC 6962 settings as in test/core/merkle.test.ts). */
function merkletreejsRebuild(leaves: readonly Buffer[], times: number): number {
  const nodeHash = (data: Buffer) => {
    const buf = new Uint8Array(1 + data.length);
    buf[0] = 1;
    buf.set(data, 1);
    return Buffer.from(sha256(buf));
  };
  let best = Infinity;
  for (let t = 0; t < times; t++) {
    const t0 = performance.now();
    const tree = new MerkleTree(leaves as Buffer[], nodeHash);
    const proof = tree.getProof(leaves[leaves.length - 1] as Buffer, leaves.length - 1);
    best = Math.min(best, performance.now() - t0);
    if (proof.length === 0 && leaves.length > 1) throw new Error('bench: merkletreejs gave an empty proof');
  }
  return best * 1000; // µs
}

export interface Timing {
  /** µs per proof, one at a time: p50. */
  readonly p50: number;
  readonly p99: number;
  /** µs per proof with 64 in flight (wall time / proofs). */
  readonly concurrent: number;
}

export async function timeProofs(n: number, count: number, prove: (i: number) => Promise<unknown>): Promise<Timing> {
  const rnd = () => Math.floor(Math.random() * n);
  for (let i = 0; i < 200; i++) await prove(rnd());
  const lat: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await prove(rnd());
    lat.push((performance.now() - t0) * 1000);
  }
  lat.sort((a, b) => a - b);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next++ < count) await prove(rnd());
    }),
  );
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), concurrent: ((performance.now() - t0) * 1000) / count };
}

async function proveAt(dir: string, n: number, sizes: Sizes, label: string): Promise<{ inclusion: Timing; consistency: Timing; httpInclusion: number; httpConsistency: number }> {
  const store = await LevelStore.open(dir);
  const ledger = await Ledger.open({ store, signerKey: BENCH_KEYS.signerKey, checkpointIntervalMs: 3_600_000 });
  const size = ledger.checkpointSize;
  if (size !== BigInt(n)) throw new Error(`bench: ${label}: checkpoint size ${size}, want ${n}`);
  const inclusion = await timeProofs(n, sizes.proofs, (i) => ledger.inclusionProof(BigInt(i)));
  const consistency = await timeProofs(n, sizes.proofs, (i) => ledger.consistencyProof(BigInt(i + 1)));
  log(`5 ${label}: inclusion p50 ${inclusion.p50.toFixed(0)} µs, 64 in flight ${inclusion.concurrent.toFixed(1)} µs/proof; consistency p50 ${consistency.p50.toFixed(0)} µs, ${consistency.concurrent.toFixed(1)} µs/proof`);
  const app = createApp({ ledger, store, config: { rateLimitPerKey: 0 }, log: () => {} });
  const server = await listen(app);
  const hi = await runLoad({ url: server.url, kind: 'inclusion', size: n, connections: 50, seconds: sizes.httpSeconds });
  const hc = await runLoad({ url: server.url, kind: 'consistency', size: n, connections: 50, seconds: sizes.httpSeconds });
  await server.close();
  await ledger.close();
  log(`5 ${label}: HTTP inclusion ${Math.round(hi.rps)} proofs/s (p99 ${hi.p99} ms), consistency ${Math.round(hc.rps)} proofs/s`);
  if (hi.non2xx + hi.errors + hc.non2xx + hc.errors > 0) throw new Error(`bench: ${label}: proof requests failed`);
  return { inclusion, consistency, httpInclusion: hi.rps, httpConsistency: hc.rps };
}

/** benchProofs runs scenario 5 on scenario 1's ledger and on a synthetic big tree. */
export async function benchProofs(sizes: Sizes, built: BuiltLedger): Promise<Row[]> {
  const rows: Row[] = [];
  const n1 = built.entries;
  const at1 = await proveAt(built.dir, n1, sizes, `${n1}`);
  // The baseline needs the leaves: read them back (not timed).
  const store = await LevelStore.open(built.dir);
  const leaves: Buffer[] = [];
  for (let i = 0; i < n1; i += 10_000) for (const e of await store.getEntries(BigInt(i), 10_000)) leaves.push(Buffer.from(hashLeaf(e)));
  await store.close();
  log(`5: merkletreejs rebuild + getProof at ${n1} leaves`);
  const rebuild = merkletreejsRebuild(leaves, sizes.rebuilds);
  leaves.length = 0;
  const speedup = rebuild / at1.inclusion.concurrent;
  const speedupSeq = rebuild / at1.inclusion.p50;
  log(`5: merkletreejs ${(rebuild / 1000).toFixed(0)} ms per rebuild-and-prove: ${Math.round(speedup)}x`);
  const big = sizes.bigTree;
  const bigDir = await syntheticFill(big);
  const atBig = await proveAt(bigDir, big, sizes, `${big}`);
  const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
  rows.push({
    scenario: '5 proofs',
    metric: `inclusion proof at ${label(n1)}, in-process, 64 in flight`,
    value: at1.inclusion.concurrent,
    unit: 'µs/proof',
    baseline: { name: `merkletreejs rebuild + getProof at ${label(n1)}`, value: rebuild, unit: 'µs' },
    ratio: speedup,
    goal: '≥ 1,000× faster than rebuild-and-prove',
    met: speedup >= 1000 && speedupSeq >= 1000,
    note: `one at a time: p50 ${at1.inclusion.p50.toFixed(0)} µs, p99 ${at1.inclusion.p99.toFixed(0)} µs (${Math.round(speedupSeq)}× at p50)`,
  });
  rows.push({
    scenario: '5 proofs',
    metric: `consistency proof at ${label(n1)}, in-process, 64 in flight`,
    value: at1.consistency.concurrent,
    unit: 'µs/proof',
    note: `one at a time: p50 ${at1.consistency.p50.toFixed(0)} µs, p99 ${at1.consistency.p99.toFixed(0)} µs`,
  });
  rows.push({
    scenario: '5 proofs',
    metric: `inclusion proof at ${label(big)} (synthetic fill), in-process, 64 in flight`,
    value: atBig.inclusion.concurrent,
    unit: 'µs/proof',
    goal: '≤ 200 µs per proof',
    met: atBig.inclusion.concurrent <= 200,
    note: `one at a time: p50 ${atBig.inclusion.p50.toFixed(0)} µs, p99 ${atBig.inclusion.p99.toFixed(0)} µs`,
  });
  rows.push({
    scenario: '5 proofs',
    metric: `consistency proof at ${label(big)}, in-process, 64 in flight`,
    value: atBig.consistency.concurrent,
    unit: 'µs/proof',
    goal: '≤ 200 µs per proof',
    met: atBig.consistency.concurrent <= 200,
    note: `one at a time: p50 ${atBig.consistency.p50.toFixed(0)} µs, p99 ${atBig.consistency.p99.toFixed(0)} µs`,
  });
  for (const [n, r] of [
    [n1, at1],
    [big, atBig],
  ] as const) {
    rows.push({
      scenario: '5 proofs',
      metric: `over HTTP at ${label(n)}: GET /v1/proof/inclusion (random index), 50 connections`,
      value: r.httpInclusion,
      unit: 'proofs/s',
      note: `consistency (GET /v1/proof/consistency, random from): ${Math.round(r.httpConsistency).toLocaleString('en-US')} proofs/s`,
    });
  }
  return rows;
}

