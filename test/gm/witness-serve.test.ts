/**
 * Witnessing a gm (国密) log (SPEC.md#crypto-suites, #witnesses; docs/witness.md): real
 * `guzheng witness serve` processes (test/witness/process.ts), one with an Ed25519 key and one with
 * an ML-DSA-44 key, configured with a gm log's SM2 verifier key. They check the log's SM2 checkpoint
 * signature, the size-0 root SM3("") and the log's SM3 consistency proofs, and cosign its
 * checkpoints with their own keys. The SHA-256 proof of the same entries, SHA-256("") at size 0, a
 * fork signed with the same SM2 key and a checkpoint signed by another key of the log's name are
 * refused. End to end, the real HTTP service of a gm log with a witness policy hands out receipts
 * cosigned to quorum by both, which verify with the policy; a monitor with that policy finds the
 * witnesses' views consistent with its own, and an audit with it verifies every kept cosignature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/core/bytes.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { openCosigned, parseWitnessVerifierKey } from '../../src/core/cosignature.js';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from '../../src/core/note.js';
import { parsePolicy, type Policy } from '../../src/core/policy.js';
import { monitorOnce } from '../../src/audit/monitor.js';
import { RemoteSource } from '../../src/audit/remote.js';
import { runAudit } from '../../src/audit/replay.js';
import { formatReport } from '../../src/audit/report.js';
import { buildWitnessedLogs, WitnessConfigError } from '../../src/witness/config.js';
import type { Ledger } from '../../src/log/ledger.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { openLedger } from '../audit/helpers.js';
import { requestBody, cosignaturesFrom } from '../support/c2sp-witness/client.js';
import { consistencyProof as sha256Consistency, leafHash as sha256Leaf } from '../support/c2sp-witness/tlog.js';
import { cli, post, serve, stop, type Served } from '../witness/process.js';
import { startServer, type TestServer } from '../http/helpers.js';
import { GM_IMPOSTOR, GM_KEYS, GM_NAME_ED25519, GM_ORIGIN, appendGm, gmEntryInput, sm3, sm3Consistency, sm3Leaf } from './audit-support.js';

const dir = mkdtempSync(join(tmpdir(), 'guzheng-gm-witness-'));
/** A second gm log, witnessed by the same witnesses, for the end-to-end tests. */
const E2E = generateSignerKey('guzheng.test/gm-witnessed', new Uint8Array(32).fill(23), 'sm2');
const names = ['ed', 'pq'] as const;
const witnesses = {} as Record<(typeof names)[number], { vkey: string; served: Served }>;
let log: Ledger;
let fork: Ledger;

function init(data: string, name: string, extra: string[] = []): string {
  const r = cli(['witness', 'init', '--data', data, '--name', name, ...extra]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').at(-1)!;
}

beforeAll(async () => {
  await Promise.all(
    names.map(async (n) => {
      const data = join(dir, n);
      const vkey = init(data, `witness.test/gm-${n}`, n === 'pq' ? ['--ml-dsa'] : []);
      witnesses[n] = { vkey, served: await serve(data, ['--log', GM_KEYS.verifierKey, '--log', E2E.verifierKey]) };
    }),
  );
  log = await openLedger(join(dir, 'log'), GM_KEYS.signerKey);
  fork = await openLedger(join(dir, 'fork'), GM_KEYS.signerKey);
}, 120_000);

afterAll(async () => {
  await log?.close();
  await fork?.close();
  for (const n of names) if (witnesses[n]) await stop(witnesses[n].served).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** The stored entries [0, n) of a ledger, as leaf data. */
async function entries(l: Ledger, n: number): Promise<Uint8Array[]> {
  return l.store.getEntries(0n, n);
}

/** The signed text of a note (through its last text line's newline). */
const textOf = (note: string) => note.slice(0, note.indexOf('\n\n') + 1);

/** Posts to both witnesses; returns their answers in `names` order. */
async function postBoth(body: string): Promise<Array<{ status: number; body: string }>> {
  return Promise.all(names.map((n) => post(witnesses[n].served.url, body)));
}

describe('guzheng witness serve --log <a gm log’s SM2 key>', () => {
  it('names the log’s suite in its banner and /healthz', async () => {
    for (const n of names) {
      expect(witnesses[n].served.stderr()).toMatch(new RegExp(`witnessing: +${GM_ORIGIN} +\\(gm: SM2 signatures, SM3 proofs;`));
      const h = (await (await fetch(`${witnesses[n].served.url}/healthz`)).json()) as { logs: Array<{ origin: string; suite: string }> };
      expect(h.logs).toContainEqual(expect.objectContaining({ origin: GM_ORIGIN, suite: 'gm' }));
    }
  });

  it('size 0: refuses the root SHA-256("") (422), cosigns the genesis checkpoint, root SM3("")', async () => {
    const signer = parseSignerKey(GM_KEYS.signerKey);
    const shaEmpty = createHash('sha256').update('').digest();
    for (const a of await postBoth(requestBody(0, [], signCheckpoint({ origin: GM_ORIGIN, size: 0n, root: shaEmpty }, signer)))) {
      expect(a.status, a.body).toBe(422);
      expect(a.body).toMatch(/empty tree root SM3\(""\)/);
    }
    const genesis = log.latest().checkpoint;
    expect(toHex(genesis.checkpoint.root)).toBe(sm3().toString('hex'));
    const answers = await postBoth(requestBody(0, [], genesis.note));
    for (const [i, a] of answers.entries()) {
      expect(a.status, a.body).toBe(200);
      const w = witnesses[names[i] as (typeof names)[number]];
      // Verified by src over the SM2-signed checkpoint, with the witness's own algorithm.
      const opened = openCosigned(genesis.note + a.body, GM_KEYS.verifierKey, [w.vkey]);
      expect(opened.cosignatures.map((c) => c.algorithm)).toEqual([parseWitnessVerifierKey(w.vkey).algorithm]);
    }
    expect(parseWitnessVerifierKey(witnesses.pq.vkey).algorithm).toBe('ml-dsa-44');
    // And by the independent C2SP client (Ed25519 cosignature over the checkpoint text).
    expect(cosignaturesFrom(answers[0]!.body, textOf(genesis.note), witnesses.ed.vkey)).toHaveLength(1);
  });

  it('grows with the log’s SM3 consistency proofs; the SHA-256 proof of the same entries is refused (422)', async () => {
    await appendGm(log, 40, { batch: 40 });
    const at40 = log.latest().checkpoint.note;
    for (const a of await postBoth(requestBody(0, [], at40))) expect(a.status, a.body).toBe(200);
    await appendGm(log, 100, { batch: 60 });
    const at100 = log.latest().checkpoint.note;
    const data = await entries(log, 100);
    // What a c2sp witness would want: the RFC 6962 proof over SHA-256.
    for (const a of await postBoth(requestBody(40, sha256Consistency(40, data.map(sha256Leaf)), at100))) {
      expect(a.status, a.body).toBe(422);
      expect(a.body).toMatch(/consistency proof does not verify/);
    }
    const proof = (await log.consistencyProof(40n, 100n)).path.map((h) => Buffer.from(h, 'hex'));
    // The log's proof is the SM3 one an independent implementation (OpenSSL's SM3) computes.
    expect(proof.map((h) => h.toString('hex'))).toEqual(sm3Consistency(40, data.map((e) => sm3Leaf(e))).map((h) => h.toString('hex')));
    const answers = await postBoth(requestBody(40, proof, at100));
    for (const a of answers) expect(a.status, a.body).toBe(200);
    expect(cosignaturesFrom(answers[0]!.body, textOf(at100), witnesses.ed.vkey)).toHaveLength(1);
    // The monitoring path serves the latest cosigned checkpoint of the gm log.
    const originHex = createHash('sha256').update(GM_ORIGIN).digest('hex');
    for (const n of names) {
      const res = await fetch(`${witnesses[n].served.url}/${originHex}/checkpoint`);
      expect(res.status).toBe(200);
      const opened = openCosigned(await res.text(), GM_KEYS.verifierKey, [witnesses[n].vkey]);
      expect(opened.checkpoint.checkpoint.size).toBe(100n);
      expect(opened.cosignatures).toHaveLength(1);
    }
  });

  it('refuses a fork signed with the same SM2 key (422): a longer tree that does not extend, another root for the size', async () => {
    await appendGm(fork, 100, { batch: 100, input: (i) => gmEntryInput(i, 'fork') });
    const same = fork.latest().checkpoint;
    expect(same.checkpoint.size).toBe(100n);
    for (const a of await postBoth(requestBody(100, [], same.note))) {
      expect(a.status, a.body).toBe(422);
    }
    await appendGm(fork, 130, { batch: 30, input: (i) => gmEntryInput(i, 'fork') });
    const longer = fork.latest().checkpoint.note;
    const forkProof = (await fork.consistencyProof(100n, 130n)).path.map((h) => Buffer.from(h, 'hex'));
    for (const a of await postBoth(requestBody(100, forkProof, longer))) {
      expect(a.status, a.body).toBe(422);
      expect(a.body).toMatch(/consistency proof does not verify/);
    }
    // Each witness still holds the honest checkpoint of size 100.
    const originHex = createHash('sha256').update(GM_ORIGIN).digest('hex');
    for (const n of names) {
      const held = await (await fetch(`${witnesses[n].served.url}/${originHex}/checkpoint`)).text();
      expect(textOf(held)).toBe(textOf(log.latest().checkpoint.note));
    }
  });

  it('refuses a checkpoint of the log’s name signed by another SM2 key or by an Ed25519 key (403)', async () => {
    const cp = log.latest().checkpoint.checkpoint;
    for (const k of [GM_IMPOSTOR, GM_NAME_ED25519]) {
      const note = signCheckpoint({ origin: cp.origin, size: cp.size, root: cp.root }, parseSignerKey(k.signerKey));
      for (const a of await postBoth(requestBody(100, [], note))) expect(a.status, a.body).toBe(403);
    }
  });

  it('refuses a configuration giving one origin an SM2 and an Ed25519 key: one log has one suite', () => {
    expect(() => buildWitnessedLogs([GM_KEYS.verifierKey, GM_NAME_ED25519.verifierKey])).toThrow(WitnessConfigError);
    expect(() => buildWitnessedLogs([GM_KEYS.verifierKey, GM_NAME_ED25519.verifierKey])).toThrow(/another crypto suite/);
    const logs = buildWitnessedLogs([GM_KEYS.verifierKey, GM_IMPOSTOR.verifierKey]);
    expect(logs.get(GM_ORIGIN)).toMatchObject({ suite: { id: 'gm' } });
    expect(logs.get(GM_ORIGIN)?.keys).toHaveLength(2);
    const r = cli(['witness', 'serve', '--data', join(dir, 'ed'), '--log', GM_KEYS.verifierKey, '--log', GM_NAME_ED25519.verifierKey]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/another crypto suite/);
  }, 60_000);
});

describe('a gm log with a witness policy (the real HTTP service)', () => {
  let s: TestServer;
  let policy: Policy;

  beforeAll(async () => {
    policy = parsePolicy(`log ${E2E.verifierKey}\n` + names.map((n) => `witness ${n} ${witnesses[n].vkey} ${witnesses[n].served.url}\n`).join('') + `group both 2 ${names.join(' ')}\nquorum both\n`);
    s = await startServer({ ledger: { signerKey: E2E.signerKey, witnessPolicy: policy, witnessTimeoutMs: 10_000 }, deps: { policy } });
  }, 60_000);
  afterAll(async () => {
    await s?.destroy();
  });

  it('hands out receipts cosigned by both witnesses, which verify with the policy; a monitor with the policy agrees', async () => {
    const anchored: Array<{ index: string; receipt: { checkpoint: string } }> = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${s.url}/v1/entries?wait=receipt`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.keys.submit}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'record', record: { station: 'HS-GM-001', seq: i } }),
      });
      expect(res.status).toBe(201);
      anchored.push((await res.json()) as { index: string; receipt: { checkpoint: string } });
    }
    const keys = names.map((n) => witnesses[n].vkey);
    for (const a of anchored) {
      const opened = openCosigned(a.receipt.checkpoint, E2E.verifierKey, keys);
      expect(opened.failed).toEqual([]);
      expect(opened.cosignatures.map((c) => c.algorithm).sort()).toEqual(['ed25519', 'ml-dsa-44']);
      const report = await verifyReceipt(a.receipt, { trustedKeys: [E2E.verifierKey], policy });
      expect(report.valid, JSON.stringify(report.checks)).toBe(true);
      expect(report.checks.find((c) => c.id === 'cosignatures')?.status).toBe('pass');
    }
    const state = join(dir, 'monitor.json');
    const out = await monitorOnce({ url: s.url, verifierKey: E2E.verifierKey, stateFile: state, policy, attempts: 1 });
    expect(out).toMatchObject({ status: 'initialized', warnings: [] });
    // An audit with the policy: every kept cosignature verifies over its SM2-signed checkpoint.
    const source = new RemoteSource(s.url, parseVerifierKey(E2E.verifierKey), { apiKey: s.keys.audit, attempts: 1 });
    try {
      const r = await runAudit(source, { verifierKey: E2E.verifierKey, workers: 0, policy });
      expect(r.ok, formatReport(r)).toBe(true);
      expect(r.suite).toBe('gm');
      expect(r.witnesses?.blocksMeetingQuorum).toBeGreaterThan(0n);
    } finally {
      await source.close();
    }
  }, 60_000);
});
