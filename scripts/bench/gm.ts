/**
 * Scenario 11: the 国密 profile (SPEC.md#crypto-suites) beside the default one, in the same run on
 * the same machine: scenarios 1 (append through the library), 5 (proofs) and 6 (audit replay) on a
 * `gm` log (SM3 tree, SM2 checkpoints) and on a `c2sp` log (SHA-256, Ed25519) of the same size,
 * the same entries and the same settings, one after the other. Each row is the gm figure with the
 * c2sp one as its baseline. The service installs node:crypto's native SHA-256 and SM3 (OpenSSL),
 * as run.ts does, so both suites hash natively.
 */
import { join } from 'node:path';
import { LocalSource } from '../../src/audit/local.js';
import { defaultWorkers } from '../../src/audit/pool.js';
import { runAudit } from '../../src/audit/replay.js';
import { generateSignerKey, type KeyPair } from '../../src/core/note.js';
import { C2SP, GM, type CryptoSuite } from '../../src/core/suite.js';
import type { EntryInput } from '../../src/log/ledger.js';
import { Ledger } from '../../src/log/ledger.js';
import { LevelStore } from '../../src/storage/level.js';
import { entryInput, log, packDigests, since, tempDir, type Row, type Sizes } from './common.js';
import { timeProofs, type Timing } from './proofs.js';

const KEYS: Record<CryptoSuite['id'], KeyPair> = {
  c2sp: generateSignerKey('bench.guzheng.example/c2sp', new Uint8Array(32).fill(11)),
  gm: generateSignerKey('bench.guzheng.example/gm', new Uint8Array(32).fill(11), 'sm2'),
};

/** The i-th benchmark entry with a digest of the suite's algorithm (a record is hashed by the log). */
function inputFor(suite: CryptoSuite, i: number, hex: string): EntryInput {
  const e = entryInput(i, hex);
  return e.type === 'record' ? e : { ...e, digest: { alg: suite.digestAlg, hex } };
}

interface SuiteFigures {
  readonly append: number;
  readonly inclusion: Timing;
  readonly consistency: Timing;
  readonly audit: number;
  readonly checkpoints: bigint;
}

async function runSuite(suite: CryptoSuite, n: number, sizes: Sizes): Promise<SuiteFigures> {
  const keys = KEYS[suite.id];
  const digests = packDigests(n);
  const dir = join(tempDir(`gm-${suite.id}`), 'ledger');
  let ledger = await Ledger.open({ store: await LevelStore.open(dir), signerKey: keys.signerKey, checkpointIntervalMs: 200 });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: sizes.submitters }, async (_, c) => {
      for (let i = next++; i < n; i = next++) await ledger.append([inputFor(suite, i, digests.hexAt(i))], `officer-${c % 16}`);
    }),
  );
  const append = n / since(t0);
  await ledger.close();
  log(`11 ${suite.id}: append ${Math.round(append)} entries/s`);

  ledger = await Ledger.open({ store: await LevelStore.open(dir), signerKey: keys.signerKey, checkpointIntervalMs: 3_600_000 });
  const inclusion = await timeProofs(n, sizes.proofs, (i) => ledger.inclusionProof(BigInt(i)));
  const consistency = await timeProofs(n, sizes.proofs, (i) => ledger.consistencyProof(BigInt(i + 1)));
  await ledger.close();
  log(`11 ${suite.id}: inclusion ${inclusion.concurrent.toFixed(1)} µs/proof, consistency ${consistency.concurrent.toFixed(1)} µs/proof (64 in flight)`);

  const t1 = performance.now();
  const src = await LocalSource.open(dir);
  const report = await runAudit(src, { verifierKey: keys.verifierKey, workers: defaultWorkers() });
  await src.close();
  const audit = n / since(t1);
  if (!report.ok) throw new Error(`bench: 11 ${suite.id}: the audit found problems`);
  log(`11 ${suite.id}: audit ${Math.round(audit)} entries/s`);
  return { append, inclusion, consistency, audit, checkpoints: report.checkpoints };
}

/** benchGm runs scenario 11. */
export async function benchGm(sizes: Sizes): Promise<Row[]> {
  const n = sizes.quick ? 20_000 : 200_000;
  log(`11: ${n} entries per suite, c2sp then gm`);
  const c = await runSuite(C2SP, n, sizes);
  const g = await runSuite(GM, n, sizes);
  const at = `${n.toLocaleString('en-US')} entries`;
  const base = (name: string, value: number, unit: string) => ({ name: `c2sp (SHA-256, Ed25519), same run: ${name}`, value, unit });
  return [
    {
      scenario: '11 国密 profile (gm)',
      metric: `append through Ledger.append, ${at}, ${sizes.submitters} concurrent submitters (scenario 1)`,
      value: g.append,
      unit: 'entries/s',
      baseline: base('append', c.append, 'entries/s'),
      ratio: g.append / c.append,
      note: `${g.checkpoints} SM2-signed checkpoints (c2sp: ${c.checkpoints} Ed25519)`,
    },
    {
      scenario: '11 国密 profile (gm)',
      metric: `inclusion proof at ${at}, in-process, 64 in flight (scenario 5)`,
      value: g.inclusion.concurrent,
      unit: 'µs/proof',
      baseline: base('inclusion', c.inclusion.concurrent, 'µs/proof'),
      ratio: c.inclusion.concurrent / g.inclusion.concurrent,
      note: `consistency ${g.consistency.concurrent.toFixed(1)} µs/proof (c2sp ${c.consistency.concurrent.toFixed(1)}); one at a time p50 ${g.inclusion.p50.toFixed(0)} µs (c2sp ${c.inclusion.p50.toFixed(0)})`,
    },
    {
      scenario: '11 国密 profile (gm)',
      metric: `audit replay of ${at} (${defaultWorkers()} workers), everything checked (scenario 6)`,
      value: g.audit,
      unit: 'entries/s',
      baseline: base('audit', c.audit, 'entries/s'),
      ratio: g.audit / c.audit,
    },
  ];
}
