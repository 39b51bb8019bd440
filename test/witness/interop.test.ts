/**
 * Interop in both directions with a minimal witness and client written from the C2SP texts
 * (test/support/c2sp-witness/, no code shared with src/):
 *
 * - their client → our witness (a real `guzheng witness serve`, Ed25519 and ML-DSA-44): their log
 *   key (node:crypto), their request bodies and proofs, their verification of our cosignatures;
 * - our client code → their witness (Ed25519 and ML-DSA-44): our request bodies
 *   (formatAddCheckpointBody), our checkpoints, our verification (src/core/cosignature.ts,
 *   src/core/policy.ts) of their cosignatures;
 * - our service → their witnesses: the real HTTP service and Ledger, whose witness client
 *   (src/log/witness-client.ts) submits every checkpoint to their Ed25519 and ML-DSA-44 witnesses
 *   named by the policy; receipts carry both cosignatures and verify against the policy, also
 *   after the log restarts (the client then goes on from the size their witnesses hold).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAddCheckpointBody } from '../../src/witness/add-checkpoint.js';
import { openCosigned, verifyCosignature } from '../../src/core/cosignature.js';
import { parsePolicy, verifyWithPolicy } from '../../src/core/policy.js';
import { generateSignerKey } from '../../src/core/note.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import { ED25519_COSIG, MLDSA_COSIG, TestLog, verifyCosignatureLine } from '../support/c2sp-witness/tlog.js';
import { addCheckpoint, cosignaturesFrom } from '../support/c2sp-witness/client.js';
import { startC2spWitness } from '../support/c2sp-witness/witness.js';
import { refConsistency, refRoot } from '../support/reference-merkle.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { TEST_LOG, json, newDir, startServer, type TestServer } from '../http/helpers.js';
import { cli, serve, stop } from './process.js';

const dir = mkdtempSync(join(tmpdir(), 'guzheng-witness-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('their client → our witness', () => {
  for (const [label, extra] of [['Ed25519', []], ['ML-DSA-44', ['--ml-dsa']]] as const) {
    it(`${label}: their checkpoints, proofs and verification`, async () => {
      const data = join(dir, `ours-${label}`);
      const init = cli(['witness', 'init', '--data', data, '--name', `ours.example/${label.toLowerCase()}`, ...extra]);
      expect(init.status, init.stderr).toBe(0);
      const vkey = init.stdout.trim().split('\n').at(-1)!;
      const log = new TestLog('their.example/log');
      log.append(30);
      const w = await serve(data, ['--log', log.vkey]);
      try {
        // A client without state asks with old size 0 (tlog-witness), then grows 0 -> 7 -> 30.
        let size = 0;
        for (const next of [7, 30]) {
          const text = log.text(next);
          const a = await addCheckpoint(w.url, size, log.proof(size, next), log.sign(text));
          expect(a.status, a.body).toBe(200);
          const times = cosignaturesFrom(a.body, text, vkey);
          expect(times).toHaveLength(1);
          expect(Math.abs(Number(times[0]) - Date.now() / 1000)).toBeLessThan(60);
          size = next;
        }
        // A stale client learns the size from the 409 and continues from it.
        log.append(5);
        const stale = await addCheckpoint(w.url, 7, log.proof(7), log.sign(log.text()));
        expect([stale.status, stale.contentType, stale.body]).toEqual([409, 'text/x.tlog.size', '30\n']);
        const resumed = await addCheckpoint(w.url, Number(stale.body.trim()), log.proof(30), log.sign(log.text()));
        expect(cosignaturesFrom(resumed.body, log.text(), vkey)).toHaveLength(1);
        // Extension lines are part of what the Ed25519 cosignature covers.
        const ext = log.text(35, undefined, ['extension: opaque']);
        const e = await addCheckpoint(w.url, 35, [], log.sign(ext));
        expect(e.status).toBe(200);
        expect(cosignaturesFrom(e.body, ext, vkey)).toHaveLength(1);
      } finally {
        await stop(w);
      }
    }, 60_000);
  }
});

describe('our client code → their witness', () => {
  it('their Ed25519 and ML-DSA-44 witnesses cosign our checkpoints; src verifies them and the policy quorum', async () => {
    const log = generateSignerKey('ours.example/log', new Uint8Array(32).fill(3));
    const leaves = Array.from({ length: 40 }, (_, i) => hashLeaf(new TextEncoder().encode(`entry ${i}`)));
    const cp = (n: number) => signCheckpoint({ origin: 'ours.example/log', size: BigInt(n), root: refRoot(leaves.slice(0, n)) }, log.signerKey);
    const ed = await startC2spWitness('their.example/ed', ED25519_COSIG, [log.verifierKey]);
    const pq = await startC2spWitness('their.example/pq', MLDSA_COSIG, [log.verifierKey]);
    try {
      const send = async (url: string, old: number, n: number) => {
        const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointBody(BigInt(old), refConsistency(old, leaves.slice(0, n)), cp(n)) });
        return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
      };
      for (const w of [ed, pq]) {
        expect((await send(w.url, 0, 12)).status).toBe(200);
        expect(await send(w.url, 5, 20)).toEqual({ status: 409, type: 'text/x.tlog.size', body: '12\n' });
      }
      const a = await send(ed.url, 12, 40);
      const b = await send(pq.url, 12, 40);
      expect([a.status, b.status]).toEqual([200, 200]);
      const text = cp(40).slice(0, cp(40).indexOf('\n\n') + 1);
      expect(verifyCosignature(text, a.body.trimEnd(), ed.vkey).algorithm).toBe('ed25519');
      expect(verifyCosignature(text, b.body.trimEnd(), pq.vkey).algorithm).toBe('ml-dsa-44');
      // The client concatenates the answers to the checkpoint (tlog-witness) and checks a policy.
      const cosigned = cp(40) + a.body + b.body;
      const c = openCosigned(cosigned, log.verifierKey, [ed.vkey, pq.vkey]);
      expect(c.cosignatures.map((x) => x.name)).toEqual(['their.example/ed', 'their.example/pq']);
      const policy = parsePolicy(`log ${log.verifierKey}\nwitness E ${ed.vkey} ${ed.url}\nwitness P ${pq.vkey} ${pq.url}\ngroup both all E P\nquorum both\n`);
      const { quorum } = verifyWithPolicy(cosigned, policy);
      expect(quorum.met).toBe(true);
      expect(quorum.perWitness.every((w) => w.time !== undefined && Math.abs(Number(w.time) - Date.now() / 1000) < 60)).toBe(true);
      expect(() => verifyWithPolicy(cp(40) + a.body, policy)).toThrow(/quorum both not met/);
      // Their witness refuses what ours refuses: a fork at the cosigned size.
      const fork = signCheckpoint({ origin: 'ours.example/log', size: 40n, root: refRoot(leaves.slice(1, 41)) }, log.signerKey);
      expect((await fetch(`${ed.url}/add-checkpoint`, { method: 'POST', body: formatAddCheckpointBody(40n, [], fork) })).status).toBe(422);
    } finally {
      await ed.close();
      await pq.close();
    }
  });
});

describe('our service → their witnesses', () => {
  it('the real service with a policy of their Ed25519 and ML-DSA-44 witnesses hands out receipts cosigned to quorum, also after a restart', async () => {
    const ed = await startC2spWitness('their.example/ed', ED25519_COSIG, [TEST_LOG.verifierKey]);
    const pq = await startC2spWitness('their.example/pq', MLDSA_COSIG, [TEST_LOG.verifierKey]);
    const policy = parsePolicy(`log ${TEST_LOG.verifierKey}\nwitness E ${ed.vkey} ${ed.url}\nwitness P ${pq.vkey} ${pq.url}\ngroup both all E P\nquorum both\n`);
    const data = newDir();
    const options = { ledger: { witnessPolicy: policy, witnessTimeoutMs: 5000 }, deps: { policy } };
    let s: TestServer = await startServer({ dir: data, ...options });
    try {
      const anchorAndCheck = async (record: unknown) => {
        const res = await fetch(`${s.url}/v1/entries?wait=receipt`, { method: 'POST', headers: { authorization: `Bearer ${s.keys.submit}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'record', record }) });
        const { index } = await json<{ index: string }>(res, 201);
        // The quorum may come after the receipt of the POST (it waits one witness round trip at
        // most): the receipt is fetched once the log has a checkpoint covering it cosigned by both.
        const end = Date.now() + 30_000;
        while ((s.ledger.witnesses?.witnessed?.size ?? 0n) <= BigInt(index)) {
          if (Date.now() > end) throw new Error(`no quorum for entry ${index}: ${JSON.stringify(s.ledger.witnesses?.status())}`);
          await new Promise((r) => setTimeout(r, 25));
        }
        const receipt = await json<{ checkpoint: string }>(await fetch(`${s.url}/v1/receipts/${index}`, { headers: { authorization: `Bearer ${s.keys.audit}` } }));
        const report = await verifyReceipt(receipt, { trustedKeys: [TEST_LOG.verifierKey], policy });
        expect(report.valid, JSON.stringify(report.checks)).toBe(true);
        expect(report.checks.find((c) => c.id === 'cosignatures')?.status).toBe('pass');
        expect(report.facts.cosignatures?.met).toBe(true);
        // Their own verification of the lines in our receipt, over our checkpoint text.
        const text = receipt.checkpoint.slice(0, receipt.checkpoint.indexOf('\n\n') + 1);
        const lines = receipt.checkpoint.slice(text.length + 1).split('\n');
        for (const w of [ed, pq]) expect(lines.filter((l) => verifyCosignatureLine(text, l, w.vkey) !== undefined), w.vkey.split('+')[0]).toHaveLength(1);
        const c = openCosigned(receipt.checkpoint, TEST_LOG.verifierKey, [ed.vkey, pq.vkey]);
        expect(c.cosignatures.map((x) => x.algorithm)).toEqual(['ed25519', 'ml-dsa-44']);
      };
      await anchorAndCheck({ station: 'HS-001', round: 1 });
      await anchorAndCheck({ station: 'HS-001', round: 2 });
      // Restarted on the same store, the log goes on with their witnesses, which kept their state.
      await s.stop();
      s = await startServer({ dir: data, keys: s.keys, keyIds: s.keyIds, ...options });
      await anchorAndCheck({ station: 'HS-001', round: 3 });
      for (const st of s.ledger.witnesses!.status()) expect([st.name, st.anomalies, st.requests.refused]).toEqual([st.name, 0, 0]);
    } finally {
      await s.destroy();
      await ed.close();
      await pq.close();
    }
  }, 90_000);
});
