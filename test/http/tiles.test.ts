/**
 * The tlog-tiles routes of the real app, checked against an independent recomputation, and a
 * remote audit of the live app through them (the path auditors and replicas use).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { parseVerifierKey } from '../../src/core/note.js';
import { decodeEntryBundle, formatTilePath } from '../../src/core/tiles.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import { toHex } from '../../src/core/bytes.js';
import { RemoteSource } from '../../src/audit/remote.js';
import { runAudit } from '../../src/audit/replay.js';
import { refRoot } from '../support/reference-merkle.js';
import { auth, postJson, startServer, type TestServer } from './helpers.js';

let s: TestServer;
const N = 700;

beforeAll(async () => {
  s = await startServer({ ledger: { checkpointIntervalMs: 10 } });
  const entries = Array.from({ length: N }, (_, i) => ({ type: 'digest', digest: { alg: 'sha256', hex: toHex(hashLeaf(new TextEncoder().encode(`t${i}`))) }, meta: { name: `f${i}` } }));
  const res = await postJson(`${s.url}/v1/entries/batch?wait=receipt`, { entries }, s.keys.submit);
  expect(res.status).toBe(201);
  await s.ledger.publisher.publishNow();
}, 60_000);
afterAll(() => s.destroy());

describe('GET /tile/…', () => {
  it('serves level-0 hash tiles equal to the recomputed leaf hashes, full ones immutable', async () => {
    const bundle = await fetch(`${s.url}/${formatTilePath({ kind: 'entries', index: 0n, width: 256 })}`, { headers: auth(s.keys.audit) });
    expect(bundle.status).toBe(200);
    const entries = decodeEntryBundle(new Uint8Array(await bundle.arrayBuffer()));
    expect(entries.length).toBe(256);
    const leaves = entries.map((e) => hashLeaf(e));
    const tile = await fetch(`${s.url}/${formatTilePath({ kind: 'hash', level: 0, index: 0n, width: 256 })}`);
    expect(tile.status).toBe(200);
    expect(tile.headers.get('cache-control')).toContain('immutable');
    const bytes = new Uint8Array(await tile.arrayBuffer());
    expect(bytes.length).toBe(256 * 32);
    for (let i = 0; i < 256; i++) expect(toHex(bytes.subarray(i * 32, i * 32 + 32))).toBe(toHex(leaves[i]!));
    // The level-1 tile's first hash is the root of the first 256 leaves.
    const l1 = await fetch(`${s.url}/${formatTilePath({ kind: 'hash', level: 1, index: 0n, width: 2 })}`);
    expect(l1.status).toBe(200);
    expect(toHex(new Uint8Array(await l1.arrayBuffer()).subarray(0, 32))).toBe(toHex(refRoot(leaves)));
  });

  it('serves the partial tile of the checkpoint size, 404 beyond it, 400 for a malformed path', async () => {
    const partial = await fetch(`${s.url}/${formatTilePath({ kind: 'hash', level: 0, index: 2n, width: N - 512 })}`);
    expect(partial.status).toBe(200);
    expect(partial.headers.get('cache-control')).not.toContain('immutable');
    expect((await fetch(`${s.url}/${formatTilePath({ kind: 'hash', level: 0, index: 3n, width: 256 })}`)).status).toBe(404);
    expect((await fetch(`${s.url}/tile/0/01`)).status).toBe(400);
  });

  it('requires the audit role for entry bundles', async () => {
    const path = `${s.url}/tile/entries/000`;
    expect((await fetch(path)).status).toBe(401);
    expect((await fetch(path, { headers: auth(s.keys.submit) })).status).toBe(403);
    expect((await fetch(path, { headers: auth(s.keys.admin) })).status).toBe(200);
  });

  it('lets an auditor replay the live log remotely and find it clean', async () => {
    const source = new RemoteSource(s.url, parseVerifierKey(s.ledger.verifierKey), { apiKey: s.keys.audit });
    const report = await runAudit(source, { verifierKey: s.ledger.verifierKey });
    expect(report.ok).toBe(true);
    expect(report.size).toBe(BigInt(N));
    expect(report.checkpoints).toBeGreaterThan(0n);
  }, 60_000);
});
