/**
 * Scenario 6: `guzheng audit` replay (runAudit over a LocalSource, default workers: one per CPU)
 * of scenario 1's ledger, against the hash limit: one one-shot SHA-256 (node:crypto `hash`) of
 * each of the same entries, on one worker thread (own heap), entries already in memory.
 */
import { Worker } from 'node:worker_threads';
import { LocalSource } from '../../src/audit/local.js';
import { runAudit } from '../../src/audit/replay.js';
import { defaultWorkers } from '../../src/audit/pool.js';
import { LevelStore } from '../../src/storage/level.js';
import { BENCH_KEYS, type BuiltLedger } from './append.js';
import { log, since, type Row, type Sizes } from './common.js';

/**
 * hashLimit hashes every entry once (one-shot SHA-256, node:crypto `hash`) on a fresh worker
 * thread, as the audit's replay workers do: its own small heap, so the figure is the hash and
 * not the garbage collection of this process's large one. Best of three passes.
 */
function hashLimit(packed: Uint8Array, ends: Uint32Array): Promise<{ rate: number; x: number }> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { hash } = require('node:crypto');
    const { packed, ends } = workerData;
    let best = 0, x = 0;
    for (let pass = 0; pass < 3; pass++) {
      const t = performance.now();
      let start = 0;
      for (let i = 0; i < ends.length; i++) {
        const end = ends[i];
        x ^= hash('sha256', packed.subarray(start, end), 'buffer')[0];
        start = end;
      }
      best = Math.max(best, ends.length / ((performance.now() - t) / 1000));
    }
    parentPort.postMessage({ rate: best, x });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { packed, ends } });
    w.once('message', (m: { rate: number; x: number }) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

/** benchAudit runs scenario 6. */
export async function benchAudit(_sizes: Sizes, built: BuiltLedger): Promise<Row[]> {
  const n = built.entries;
  const store = await LevelStore.open(built.dir);
  // Packed into one buffer: a million separate small ArrayBuffers would slow every GC the
  // hashing loop triggers, and measure V8's ArrayBuffer tracking instead of SHA-256.
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < n; i += 10_000) {
    for (const e of await store.getEntries(BigInt(i), 10_000)) {
      parts.push(e);
      total += e.length;
    }
  }
  await store.close();
  const packed = new Uint8Array(total);
  const ends = new Uint32Array(n);
  let off = 0;
  parts.forEach((e, i) => {
    packed.set(e, off);
    off += e.length;
    ends[i] = off;
  });
  parts.length = 0;
  const { rate: hashRate, x } = await hashLimit(packed, ends);
  log(`6: one-shot SHA-256 of ${n} entries: ${Math.round(hashRate)} entries/s (${x})`);
  const workers = defaultWorkers();
  const t0 = performance.now();
  const src = await LocalSource.open(built.dir);
  const report = await runAudit(src, { verifierKey: BENCH_KEYS.verifierKey, workers });
  await src.close();
  const rate = n / since(t0);
  if (!report.ok) throw new Error(`bench: the audit found problems: ${JSON.stringify(report.problems.slice(0, 3), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  log(`6: audit of ${n} entries: ${Math.round(rate)} entries/s with ${workers} workers`);
  const ratio = rate / hashRate;
  return [
    {
      scenario: '6 audit replay',
      metric: `runAudit of ${n.toLocaleString('en-US')} entries (${workers} workers), everything checked`,
      value: rate,
      unit: 'entries/s',
      baseline: { name: 'one-shot SHA-256 of the same entries, one worker thread', value: hashRate, unit: 'entries/s' },
      ratio,
      goal: 'ratio ≥ 0.4',
      met: ratio >= 0.4,
      note: `includes worker start-up and block signature checks (${report.checkpoints} blocks)`,
    },
  ];
}
