import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../src/core/bytes.js';
import { consistencyProofSchema, inclusionProofSchema, lookupSchema } from '../../src/http/routes/proofs.js';
import { openCheckpoint, verifyConsistency, verifyInclusion } from '../../src/verifier/index.js';
import { TEST_LOG, json, postJson, problem, sha256Hex, startServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.destroy());

const hashes = (path: string[]) => path.map((h) => fromHex(h, 32));
/** The latest checkpoint, fetched over HTTP and opened with the pinned key. */
async function checkpoint() {
  return openCheckpoint(await (await fetch(`${s.url}/checkpoint`)).text(), TEST_LOG.verifierKey).checkpoint;
}
async function anchor(n: number, tag: string): Promise<Array<{ index: string; leafHash: string }>> {
  const entries = Array.from({ length: n }, (_, i) => ({ type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(`${tag} ${i}`) } }));
  const r = await json(await postJson(`${s.url}/v1/entries/batch`, { entries }, s.keys.submit), 201);
  await s.ledger.publisher.waitFor(s.ledger.sequencer.size, 5000);
  return r.results;
}

describe('GET /v1/proof/inclusion', () => {
  it('proves every entry by index and by leaf hash against the signed checkpoint', async () => {
    const results = await anchor(13, 'incl');
    const cp = await checkpoint();
    for (const r of results) {
      const p = await json(await fetch(`${s.url}/v1/proof/inclusion?index=${r.index}`));
      expect(inclusionProofSchema.parse(p)).toBeTruthy();
      expect(p).toMatchObject({ index: r.index, size: String(cp.size), leafHash: r.leafHash });
      verifyInclusion(BigInt(p.index), cp.size, fromHex(p.leafHash, 32), hashes(p.path), cp.root);
      const q = await json(await fetch(`${s.url}/v1/proof/inclusion?leafHash=${r.leafHash}&size=${cp.size}`));
      expect(q).toEqual(p);
    }
  });

  it('proves against an older size', async () => {
    const cp = await checkpoint();
    await anchor(5, 'later');
    const p = await json(await fetch(`${s.url}/v1/proof/inclusion?index=2&size=${cp.size}`));
    expect(p.size).toBe(String(cp.size));
    verifyInclusion(2n, cp.size, fromHex(p.leafHash, 32), hashes(p.path), cp.root);
  });

  it('rejects bad parameters, naming them', async () => {
    const cp = await checkpoint();
    const cases: Array<[string, number, string]> = [
      ['', 400, 'index'],
      [`index=0&leafHash=${'a'.repeat(64)}`, 400, 'index'],
      [`index=${cp.size}`, 400, 'index'],
      [`index=0&size=${cp.size + 1n}`, 400, 'size'],
      ['index=01', 400, 'index'],
      ['index=-1', 400, 'index'],
      ['index=1e3', 400, 'index'],
      ['index=+1', 400, 'index'],
      ['index=18446744073709551616', 400, 'index'],
      ['index=0&size=00', 400, 'size'],
      [`leafHash=${'A'.repeat(64)}`, 400, 'leafHash'],
      [`leafHash=${'a'.repeat(63)}`, 400, 'leafHash'],
      [`leafHash=${'a'.repeat(64)}`, 404, 'leafHash'],
      ['index=0&extra=1', 400, 'extra'],
    ];
    for (const [q, status, field] of cases) {
      expect(await problem(await fetch(`${s.url}/v1/proof/inclusion?${q}`), status), q).toMatchObject({ field });
    }
  });
});

describe('GET /v1/proof/consistency', () => {
  it('proves a newer checkpoint extends an older one', async () => {
    const old = await checkpoint();
    await anchor(9, 'cons');
    const now = await checkpoint();
    const p = await json(await fetch(`${s.url}/v1/proof/consistency?from=${old.size}&to=${now.size}`));
    expect(consistencyProofSchema.parse(p)).toEqual({ from: String(old.size), to: String(now.size), path: expect.any(Array) });
    verifyConsistency(old.size, now.size, hashes(p.path), old.root, now.root);
    const d = await json(await fetch(`${s.url}/v1/proof/consistency?from=${old.size}`));
    expect(d).toEqual(p);
    expect(await json(await fetch(`${s.url}/v1/proof/consistency?from=0`))).toEqual({ from: '0', to: String(now.size), path: [] });
    expect((await json(await fetch(`${s.url}/v1/proof/consistency?from=${now.size}&to=${now.size}`))).path).toEqual([]);
  });

  it('rejects bad sizes, naming them', async () => {
    const cp = await checkpoint();
    const cases: Array<[string, string]> = [
      ['', 'from'],
      ['from=2&to=1', 'from'],
      [`from=1&to=${cp.size + 1n}`, 'to'],
      ['from=01', 'from'],
      ['from=1&to=-1', 'to'],
      ['from=1e3', 'from'],
      ['from=99999999999999999999', 'from'],
    ];
    for (const [q, field] of cases) {
      expect(await problem(await fetch(`${s.url}/v1/proof/consistency?${q}`), 400), q).toMatchObject({ code: 'INPUT_INVALID', field });
    }
  });
});

describe('GET /v1/lookup/sha256/{hex}', () => {
  it('lists every anchoring of a digest, or none', async () => {
    const hex = sha256Hex('anchored twice');
    const entry = { type: 'digest', digest: { alg: 'sha256', hex } };
    const a = await json(await postJson(`${s.url}/v1/entries`, entry, s.keys.submit), 201);
    const b = await json(await postJson(`${s.url}/v1/entries`, { ...entry, meta: { note: 'again' } }, s.keys.submit), 201);
    const r = await json(await fetch(`${s.url}/v1/lookup/sha256/${hex}`));
    expect(lookupSchema.parse(r)).toBeTruthy();
    expect(r).toEqual({
      digest: { alg: 'sha256', hex },
      anchorings: [
        { index: a.index, leafHash: a.leafHash, receivedAt: a.entry.receivedAt, type: 'digest' },
        { index: b.index, leafHash: b.leafHash, receivedAt: b.entry.receivedAt, type: 'digest' },
      ],
    });
    expect(await json(await fetch(`${s.url}/v1/lookup/sha256/${sha256Hex('never')}`))).toEqual({ digest: { alg: 'sha256', hex: sha256Hex('never') }, anchorings: [] });
  });

  it('rejects uppercase or short hex and unknown algorithms', async () => {
    expect(await problem(await fetch(`${s.url}/v1/lookup/sha256/${'A'.repeat(64)}`), 400)).toMatchObject({ field: 'hex' });
    expect(await problem(await fetch(`${s.url}/v1/lookup/sha256/abc`), 400)).toMatchObject({ field: 'hex' });
    expect(await problem(await fetch(`${s.url}/v1/lookup/sm3/${'a'.repeat(64)}`), 400)).toMatchObject({ field: 'alg' });
  });
});
