/**
 * The log with witnesses (SPEC.md#witnesses): three real `guzheng witness serve` processes beside
 * the real service. Receipts wait for the policy's quorum and carry the cosignatures; the
 * checkpoint, blocks and bundles carry them too; verifiers enforce the policy; one witness killed
 * with SIGKILL under load never stops anchoring and catches up after a restart; a witness whose
 * state was rolled back is reported; a forked log is refused by every honest witness (the fork
 * keeps the refusals), and a monitor with the policy writes the split-view fraud proof; a fork
 * with another root for the very size the witnesses cosigned gets a 422 from each of them, and
 * each witness still serves the honest root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockHash, parseBlock, verifyBlockChain, type BlockJson } from '../../src/core/block.js';
import { toHex } from '../../src/core/bytes.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { openCosigned } from '../../src/core/cosignature.js';
import { verifyConsistency } from '../../src/core/merkle/verify.js';
import { parsePolicy, type Policy } from '../../src/core/policy.js';
import { monitorOnce } from '../../src/audit/monitor.js';
import { RemoteSource } from '../../src/audit/remote.js';
import { runAudit } from '../../src/audit/replay.js';
import { formatReport } from '../../src/audit/report.js';
import { parseVerifierKey } from '../../src/core/note.js';
import { verifyBundle, verifyReceipt } from '../../src/verifier/index.js';
import { TEST_LOG, newDir, startServer, type TestServer } from '../http/helpers.js';
import { cli, kill9, post as postCheckpoint, serve, stop, type Served } from './process.js';

const dir = mkdtempSync(join(tmpdir(), 'guzheng-log-witnesses-'));
const CASE = '衡环罚〔2026〕W号';
const names = ['court', 'procuratorate', 'notary'];
const witnesses: Array<{ data: string; vkey: string; served: Served; port: number }> = [];
let policyText: string;
let policy: Policy;
let s: TestServer;

function init(data: string, name: string): string {
  const r = cli(['witness', 'init', '--data', data, '--name', name]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').at(-1)!;
}

async function startWitness(data: string, port = 0): Promise<Served> {
  return serve(data, ['--log', TEST_LOG.verifierKey, '--port', String(port)]);
}

async function post(path: string, body: unknown): Promise<{ index: string; receipt: { checkpoint: string } }> {
  const res = await fetch(`${s.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${s.keys.submit}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return (await res.json()) as { index: string; receipt: { checkpoint: string } };
}

type Health = { witnesses?: string; witnessedSize?: string; witnessDetail?: Array<{ name: string; anomalies: number; consecutiveFailures: number; cosignedSize?: string }> };
const health = async (srv = s) => (await (await fetch(`${srv.url}/healthz`)).json()) as Health;

async function until(what: string, f: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  for (const name of names) {
    const data = join(dir, name);
    const vkey = init(data, `witness.test/${name}`);
    const served = await startWitness(data);
    witnesses.push({ data, vkey, served, port: Number(new URL(served.url).port) });
  }
  policyText =
    `log ${TEST_LOG.verifierKey}\n` +
    witnesses.map((w, i) => `witness ${names[i]} ${w.vkey} ${w.served.url}\n`).join('') +
    `group two-of-three 2 ${names.join(' ')}\nquorum two-of-three\n`;
  policy = parsePolicy(policyText);
  s = await startServer({ ledger: { witnessPolicy: policy, witnessTimeoutMs: 1500 }, deps: { policy } });
  // Each witness process compiles its code on its first request, which on a loaded machine can take
  // longer than the log waits for a quorum: the tests start once every witness has answered once.
  await post('/v1/entries?wait=receipt', { type: 'record', record: { warmup: true } });
  await until('every witness answered once', async () => (await health()).witnesses === '3/3', 60_000);
}, 120_000);

afterAll(async () => {
  await s?.destroy();
  for (const w of witnesses) await stop(w.served).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('a log with three witnesses (quorum two of three)', () => {
  it('hands out receipts cosigned to quorum that verify against the policy, each witness with its own time', async () => {
    const r = await post('/v1/entries?wait=receipt', { type: 'record', record: { station: 'HS-001' }, meta: { caseId: CASE } });
    const opened = openCosigned(r.receipt.checkpoint, TEST_LOG.verifierKey, policy.witnesses.map((w) => w.key));
    expect(opened.cosignatures.length).toBeGreaterThanOrEqual(2);
    const report = await verifyReceipt(r.receipt, { trustedKeys: [TEST_LOG.verifierKey], policy });
    expect(report.valid).toBe(true);
    const check = report.checks.find((c) => c.id === 'cosignatures');
    expect(check?.status, check?.message).toBe('pass');
    expect(check?.message).toMatch(/witness (court|procuratorate|notary) had seen this checkpoint by 20\d\d-/);
    expect(report.facts.cosignatures?.met).toBe(true);
    // Without a policy the cosignatures are ignored, as C2SP requires.
    expect((await verifyReceipt(r.receipt, { trustedKeys: [TEST_LOG.verifierKey] })).valid).toBe(true);
    // A policy naming a witness that did not cosign, all of whose members are required, fails.
    const strict = parsePolicy(`${policyText.replace(/quorum two-of-three\n$/, '')}witness ghost ${init(join(dir, 'ghost'), 'witness.test/ghost')} http://127.0.0.1:9/\nquorum ghost\n`);
    const unmet = await verifyReceipt(r.receipt, { trustedKeys: [TEST_LOG.verifierKey], policy: strict });
    expect(unmet.valid).toBe(false);
    expect(unmet.checks.find((c) => c.id === 'cosignatures')?.code).toBe('QUORUM_NOT_MET');
  });

  it('serves the cosigned checkpoint and blocks (the block hashes do not change), and bundles carry it', async () => {
    await until('every witness cosigned', async () => (await health()).witnesses === '3/3');
    const note = await (await fetch(`${s.url}/checkpoint`)).text();
    expect(openCosigned(note, TEST_LOG.verifierKey, policy.witnesses.map((w) => w.key)).cosignatures.length).toBeGreaterThanOrEqual(1);
    const { blocks } = (await (await fetch(`${s.url}/v1/blocks?from=0&limit=1000`)).json()) as { blocks: Array<BlockJson & { hash: string }> };
    const parsed = blocks.map(({ hash, ...j }) => {
      expect(hash).toBe(toHex(blockHash(parseBlock(j))));
      return parseBlock(j);
    });
    expect(parsed.some((b) => openCosigned(b.checkpoint, TEST_LOG.verifierKey, policy.witnesses.map((w) => w.key)).cosignatures.length > 0)).toBe(true);
    verifyBlockChain(parsed, TEST_LOG.verifierKey);
    const bundle = await (await fetch(`${s.url}/v1/cases/${encodeURIComponent(CASE)}/bundle`, { headers: { authorization: `Bearer ${s.keys.submit}` } })).json();
    expect((await verifyBundle(bundle, { trustedKeys: [TEST_LOG.verifierKey], policy })).valid).toBe(true);
  });

  it('keeps anchoring when a witness is killed with SIGKILL under load, and the witness catches up after a restart', async () => {
    const victim = witnesses[2]!;
    const load = Array.from({ length: 60 }, (_, i) => post('/v1/entries?wait=receipt', { type: 'record', record: { load: i } }));
    await new Promise((r) => setTimeout(r, 20));
    await kill9(victim.served);
    const results = await Promise.all(load);
    for (const r of results.slice(-10)) {
      expect((await verifyReceipt(r.receipt, { trustedKeys: [TEST_LOG.verifierKey], policy })).valid).toBe(true);
    }
    await post('/v1/entries?wait=receipt', { type: 'record', record: { after: 'kill' } });
    await until('the killed witness shows as failing', async () => (await health()).witnesses === '2/3');
    victim.served = await startWitness(victim.data, victim.port);
    await post('/v1/entries?wait=receipt', { type: 'record', record: { after: 'restart' } });
    await until('all three witnesses cosign again', async () => (await health()).witnesses === '3/3', 40_000);
  }, 90_000);

  it('audits clean against the policy; no witness ever cosigned a checkpoint inconsistent with the log', async () => {
    const source = new RemoteSource(s.url, parseVerifierKey(TEST_LOG.verifierKey), { apiKey: s.keys.audit });
    const report = await runAudit(source, { verifierKey: TEST_LOG.verifierKey, policy });
    await source.close();
    expect(report.ok, formatReport(report)).toBe(true);
    expect(report.witnesses?.blocksMeetingQuorum).toBeGreaterThan(0n);
    const latest = openCheckpoint(await (await fetch(`${s.url}/checkpoint`)).text(), TEST_LOG.verifierKey).checkpoint;
    for (const w of witnesses) {
      const at = await fetch(`${w.served.url}/${toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(latest.origin))))}/checkpoint`);
      expect(at.status).toBe(200);
      const seen = openCheckpoint(await at.text(), TEST_LOG.verifierKey).checkpoint;
      expect(seen.size <= latest.size).toBe(true);
      const proof = (await (await fetch(`${s.url}/v1/proof/consistency?from=${seen.size}&to=${latest.size}`)).json()) as { path: string[] };
      verifyConsistency(seen.size, latest.size, proof.path.map((h) => Uint8Array.from(Buffer.from(h, 'hex'))), seen.root, latest.root);
    }
  });

  it('reports a witness whose state was rolled back', async () => {
    const w = witnesses[1]!;
    await stop(w.served);
    const backup = join(dir, 'rollback-copy');
    cpSync(w.data, backup, { recursive: true });
    w.served = await startWitness(w.data, w.port);
    for (let i = 0; i < 3; i++) await post('/v1/entries?wait=receipt', { type: 'record', record: { before: 'rollback', i } });
    await until('the witness cosigned the newer checkpoints', async () => {
      const d = (await health()).witnessDetail?.find((x) => x.name === names[1]);
      return d?.consecutiveFailures === 0 && BigInt(d.cosignedSize ?? '0') >= s.ledger.checkpointSize;
    });
    await stop(w.served);
    rmSync(w.data, { recursive: true, force: true });
    cpSync(backup, w.data, { recursive: true });
    expect(existsSync(join(w.data, 'witness-key'))).toBe(true);
    w.served = await startWitness(w.data, w.port);
    await post('/v1/entries?wait=receipt', { type: 'record', record: { after: 'rollback' } });
    await until('the rollback is reported', async () => ((await health()).witnessDetail?.find((x) => x.name === names[1])?.anomalies ?? 0) > 0);
  }, 60_000);
});

describe('a forked log', () => {
  let fork: TestServer;

  beforeAll(async () => {
    // The operator signs, with the same key, a history the witnesses have not seen: entries that
    // differ from the log's, past its size.
    fork = await startServer({ dir: newDir(), ledger: { witnessPolicy: policy, witnessTimeoutMs: 1500 } });
    const size = Number(s.ledger.checkpointSize);
    for (let i = 0; i < size + 5; i += 50) {
      const entries = Array.from({ length: Math.min(50, size + 5 - i) }, (_, j) => ({ type: 'record', record: { forged: i + j } }));
      const res = await fetch(`${fork.url}/v1/entries/batch?wait=receipt`, { method: 'POST', headers: { authorization: `Bearer ${fork.keys.submit}`, 'content-type': 'application/json' }, body: JSON.stringify({ entries }) });
      expect(res.status).toBe(201);
    }
  }, 60_000);

  afterAll(async () => {
    await fork?.destroy();
  });

  it('is refused by every honest witness; the fork keeps the refusals as evidence and gets no cosignature', async () => {
    await until('refusals by all three witnesses', async () => {
      const kept = await fork.ledger.cosignatures.refusalsFrom(0n, 1000);
      const by = new Set(kept.flatMap((k) => k.refusals.filter((r) => r.status === 422).map((r) => r.witness)));
      return by.size === 3;
    });
    const kept = await fork.ledger.cosignatures.refusalsFrom(0n, 1000);
    const refusal = kept.flatMap((k) => k.refusals).find((r) => r.status === 422)!;
    expect(refusal.request).toMatch(/^old \d+\n/);
    expect(fork.ledger.witnesses?.witnessed).toBeUndefined();
    const h = await health(fork);
    expect(h.witnesses).toBe('0/3');
  });

  it('is caught by a monitor with the policy as a split view, with the fraud proof', async () => {
    const state = join(dir, 'fork-monitor.json');
    const outcome = await monitorOnce({ url: fork.url, verifierKey: TEST_LOG.verifierKey, stateFile: state, policy });
    expect(outcome.status).toBe('fraud');
    if (outcome.status !== 'fraud') return;
    const proof = JSON.parse(readFileSync(outcome.file, 'utf8')) as { trusted: string; contradicting: string; source: string; detail: string };
    expect(proof.source).toMatch(/and witness/);
    // Both signed checkpoints open under the log's key: the evidence needs nothing else.
    openCheckpoint(proof.trusted, TEST_LOG.verifierKey);
    openCheckpoint(proof.contradicting, TEST_LOG.verifierKey);
    // The honest log's view agrees with the witnesses.
    expect((await monitorOnce({ url: s.url, verifierKey: TEST_LOG.verifierKey, stateFile: join(dir, 'honest-monitor.json'), policy })).status).toBe('initialized');
  });

  it('with two roots for one size: each honest witness answers 422, the fork keeps the refusals, the witnesses keep the honest root', async () => {
    // The size every witness cosigned last, with the honest root (the honest log is idle now).
    const honest = s.ledger.latest().checkpoint.checkpoint;
    await until('every witness holds the honest log\'s latest checkpoint', async () => {
      for (const w of witnesses) if ((await witnessLatest(w.served.url))?.size !== honest.size) return false;
      return true;
    });
    // The operator signs, with the same key, a tree of exactly that size with other entries: one
    // checkpoint (a whole-hour interval, published only when waited for), so the witnesses see
    // the same size with another root.
    const same = await startServer({ dir: newDir(), ledger: { witnessPolicy: policy, witnessTimeoutMs: 1500, checkpointIntervalMs: 3_600_000, receiptIntervalMs: 1 } });
    try {
      for (let i = 0n; i < honest.size; i += 50n) {
        const n = Number(honest.size - i < 50n ? honest.size - i : 50n);
        await same.ledger.append(Array.from({ length: n }, (_, j) => ({ type: 'record' as const, record: { sameSizeFork: Number(i) + j }, meta: {} })), 'forger');
      }
      await same.ledger.waitForReceipt(honest.size - 1n, 10_000);
      const forged = same.ledger.latest();
      expect(forged.checkpoint.checkpoint.size).toBe(honest.size);
      expect(toHex(forged.checkpoint.checkpoint.root)).not.toBe(toHex(honest.root));
      const forgedNote = forged.block.checkpoint;

      // The log keeps each witness's 422 for that checkpoint: the request (old size = size, no
      // proof, the forged note) and the witness's answer.
      const refusals = async () => ((await same.ledger.cosignatures.refusalsFrom(forged.block.height, 1)).find((k) => k.height === forged.block.height)?.refusals ?? []).filter((r) => r.status === 422);
      await until('a 422 from every witness', async () => new Set((await refusals()).map((r) => r.witness)).size === names.length);
      for (const name of names) {
        const r = (await refusals()).find((x) => x.witness === name)!;
        expect(r.request).toBe(`old ${honest.size}\n\n${forgedNote}`);
        expect(r.response).toMatch(new RegExp(`another root for size ${honest.size}`));
        expect(r.reason).toBe(`refused checkpoint ${honest.size} from old size ${honest.size}`);
      }
      expect(same.ledger.witnesses?.witnessed).toBeUndefined();
      expect(await same.ledger.cosignatures.linesAt(forged.block.height)).toEqual([]);

      for (const w of witnesses) {
        // Asked directly, each witness refuses the forged root for its size ...
        const answer = await postCheckpoint(w.served.url, `old ${honest.size}\n\n${forgedNote}`);
        expect([answer.status, answer.body]).toEqual([422, `another root for size ${honest.size}, which this witness already cosigned\n`]);
        // ... and its monitoring path still serves the honest root, with its cosignature.
        const latest = await witnessLatest(w.served.url);
        expect(latest?.size).toBe(honest.size);
        expect(toHex(latest!.root)).toBe(toHex(honest.root));
        expect(openCosigned(latest!.note, TEST_LOG.verifierKey, [w.vkey]).cosignatures).toHaveLength(1);
      }
    } finally {
      await same.destroy();
    }
  }, 60_000);
});

/** witnessLatest reads a witness's latest cosigned checkpoint of the test log from its monitoring path (undefined: none). */
async function witnessLatest(url: string): Promise<{ size: bigint; root: Uint8Array; note: string } | undefined> {
  const origin = openCheckpoint(s.ledger.latest().block.checkpoint, TEST_LOG.verifierKey).checkpoint.origin;
  const path = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(origin))));
  const res = await fetch(`${url}/${path}/checkpoint`);
  if (res.status === 404) return undefined;
  const note = await res.text();
  const { size, root } = openCheckpoint(note, TEST_LOG.verifierKey).checkpoint;
  return { size, root, note };
}
