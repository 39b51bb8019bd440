/**
 * A gm (国密) log served over HTTP exactly as a c2sp log (SPEC.md#crypto-suites): the real app over
 * a real LevelStore with an SM2 log key (test/http/helpers.ts). Every hash the service computes is
 * recomputed here independently with node:crypto's SM3 (OpenSSL), every signature checked by the
 * verifier under the SM2 key and by `openssl pkeyutl`; sha256 digests are refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBlock, verifyBlockChain, type Block } from '../../src/core/block.js';
import { fromBase64, fromHex, toHex } from '../../src/core/bytes.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { SHA256_TREE } from '../../src/core/merkle/hash.js';
import { verifyConsistency, verifyInclusion } from '../../src/core/merkle/verify.js';
import { parseVerifierKey } from '../../src/core/note.js';
import { GM } from '../../src/core/suite.js';
import { decodeEntryBundle, formatTilePath } from '../../src/core/tiles.js';
import { logInfoSchema } from '../../src/http/routes/log.js';
import { Hj212Gateway } from '../../src/ingest/hj212/gateway.js';
import { Ledger } from '../../src/log/ledger.js';
import { LevelStore } from '../../src/storage/level.js';
import { exportTiles } from '../../src/tiles/export.js';
import { verifyBundle, verifyReceipt } from '../../src/verifier/index.js';
import { auth, json, postJson, problem, sha256Hex, startServer, TEST_LOG, type TestServer } from '../http/helpers.js';
import { enc, frameText, MN, SimLogger, upload as hj212Upload } from '../ingest/hj212/helpers.js';
import { ED_LOG, GM_LOG, GM_ORIGIN, opensslVerifies, sm3, sm3Hex, sm3Leaf, sm3Root, splitSigned } from './helpers.js';

const gm = { trustedKeys: [GM_LOG.verifierKey] };
const CASE = '衡环罚〔2026〕88号';
let s: TestServer;

beforeAll(async () => {
  s = await startServer({ ledger: { signerKey: GM_LOG.signerKey } });
});
afterAll(() => s.destroy());

const checks = (r: { checks: Array<{ id: string; status: string; code?: string }> }) => r.checks.map((c) => `${c.id}:${c.status}${c.code ? `:${c.code}` : ''}`);

/** The exact leaf bytes of entry `index`, as the audit API serves them. */
async function entryBytes(index: string | bigint): Promise<Uint8Array> {
  const e = await json<{ data: string }>(await fetch(`${s.url}/v1/entries/${index}`, { headers: auth(s.keys.audit) }));
  return fromBase64(e.data);
}

/** A document upload streamed in chunks (no Content-Length), as a browser or `curl -T` sends it. */
function streamed(bytes: Uint8Array, chunk = 16 << 10): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(ctl) {
      if (at >= bytes.length) return ctl.close();
      ctl.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

describe('GET /v1/log and /checkpoint of a gm log', () => {
  it('says the suite and serves the SM2 public key as PEM, which OpenSSL accepts for the checkpoint signature', async () => {
    const log = await json<Record<string, string>>(await fetch(`${s.url}/v1/log`));
    expect(logInfoSchema.parse(log)).toBeTruthy();
    expect(log).toMatchObject({ origin: GM_ORIGIN, verifierKey: GM_LOG.verifierKey, suite: 'gm', digestAlg: 'sm3' });
    const pem = log.publicKeyPem!;
    // id-ecPublicKey + curve 1.2.156.10197.1.301 + the 65-byte point of the verifier key.
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(der.subarray(0, 26).toString('hex')).toBe('3059301306072a8648ce3d020106082a811ccf5501822d034200');
    expect(toHex(der.subarray(26))).toBe(toHex(parseVerifierKey(GM_LOG.verifierKey).publicKey));
    const note = await (await fetch(`${s.url}/checkpoint`)).text();
    expect(openCheckpoint(note, GM_LOG.verifierKey).checkpoint.origin).toBe(GM_ORIGIN);
    expect(opensslVerifies(pem, note)).toBe(true);
    expect(opensslVerifies(pem, note, (t) => t.replace(/\n(\d+)\n/, (_m, n: string) => `\n${BigInt(n) + 1n}\n`))).toBe(false);
  });

  it('an empty gm tree has root SM3() and the genesis block hash is SM3 of its signed text', async () => {
    const [genesis] = (await json<{ blocks: Array<Record<string, string>> }>(await fetch(`${s.url}/v1/blocks?limit=1`))).blocks;
    const cp = openCheckpoint(genesis!.checkpoint!, GM_LOG.verifierKey).checkpoint;
    expect(cp.size).toBe(0n);
    expect(toHex(cp.root)).toBe(sm3Hex(''));
    expect(genesis!.hash).toBe(sm3Hex(splitSigned(genesis!.checkpoint!).text));
  });
});

describe('anchoring in a gm log', () => {
  it('hashes a streamed document with SM3; its receipt verifies under the SM2 key, not under an Ed25519 key', async () => {
    const file = randomBytes(200_000);
    const q = `name=${encodeURIComponent('现场检查笔录.pdf')}&mediaType=application/pdf&caseId=${encodeURIComponent(CASE)}&wait=receipt`;
    const res = await fetch(`${s.url}/v1/documents?${q}`, { method: 'POST', headers: auth(s.keys.submit), body: streamed(file), duplex: 'half' } as RequestInit);
    const r = await json<{ index: string; leafHash: string; digest: unknown; receipt: unknown }>(res, 201);
    expect(r.digest).toEqual({ alg: 'sm3', hex: sm3Hex(file) });
    expect(r.leafHash).toBe(sm3Leaf(await entryBytes(r.index)).toString('hex'));
    const report = await verifyReceipt(r.receipt, { ...gm, content: { bytes: new Uint8Array(file) } });
    expect(checks(report).filter((c) => !c.endsWith(':pass'))).toEqual(['timestamp:skip', 'cosignatures:skip']);
    expect(report.facts.suite).toBe('gm');
    const changed = Buffer.from(file);
    changed[7]! ^= 1;
    expect(checks(await verifyReceipt(r.receipt, { ...gm, content: { bytes: new Uint8Array(changed) } }))).toContain('content:fail:DIGEST_MISMATCH');
    for (const key of [ED_LOG.verifierKey, TEST_LOG.verifierKey]) {
      const other = await verifyReceipt(r.receipt, { trustedKeys: [key] });
      expect(other.valid).toBe(false);
      expect(checks(other)).toContain('checkpoint:fail:NOTE_UNVERIFIED');
    }
  });

  it('a document sent whole (Content-Length) gets the same SM3 digest', async () => {
    const bytes = Buffer.from('%PDF-1.7 处罚决定书\n');
    const r = await json<{ digest: unknown }>(await fetch(`${s.url}/v1/documents?name=d.pdf&mediaType=application/pdf`, { method: 'POST', headers: auth(s.keys.submit), body: bytes }), 201);
    expect(r.digest).toEqual({ alg: 'sm3', hex: sm3Hex(bytes) });
  });

  it('hashes a record with SM3 over its RFC 8785 form; the receipt verifies with the record', async () => {
    const record = { station: 'HS-AQ-0001', pm25: 35.2, at: '2026-03-01T08:00:00+08:00' };
    const r = await json<{ digest: unknown; receipt: unknown }>(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'record', record, meta: { caseId: CASE } }, s.keys.submit), 201);
    expect(r.digest).toEqual({ alg: 'sm3', hex: sm3Hex('{"at":"2026-03-01T08:00:00+08:00","pm25":35.2,"station":"HS-AQ-0001"}') });
    expect((await verifyReceipt(r.receipt, { ...gm, content: { record: { pm25: 35.2, at: '2026-03-01T08:00:00+08:00', station: 'HS-AQ-0001' } } })).valid).toBe(true);
    expect((await verifyReceipt(r.receipt, { ...gm, content: { record: { ...record, pm25: 35.3 } } })).valid).toBe(false);
  });

  it('anchors an sm3 digest; refuses sha256 digests with 400 naming digest.alg, anchoring nothing', async () => {
    const hex = sm3Hex('photo 1');
    const r = await json<{ digest: unknown; receipt: unknown }>(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'digest', digest: { alg: 'sm3', hex }, meta: { name: 'photo1.jpg', caseId: CASE } }, s.keys.submit), 201);
    expect(r.digest).toEqual({ alg: 'sm3', hex });
    expect((await verifyReceipt(r.receipt, { ...gm, content: { digest: { alg: 'sm3', hex } } })).valid).toBe(true);
    const before = s.ledger.sequencer.size;
    const one = await problem(await postJson(`${s.url}/v1/entries`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('photo 1') } }, s.keys.submit), 400);
    expect(one).toMatchObject({ code: 'INPUT_INVALID', field: 'digest.alg' });
    expect(one.detail).toMatch(/want sm3.*gm/);
    const batch = await problem(
      await postJson(`${s.url}/v1/entries/batch`, { entries: [{ type: 'digest', digest: { alg: 'sm3', hex } }, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('x') } }] }, s.keys.submit),
      400,
    );
    expect(batch.field).toBe('entries[1].digest.alg');
    expect(s.ledger.sequencer.size).toBe(before);
  });

  it('the ledger itself refuses a sha256 digest (ENTRY_INVALID), whichever adapter calls it', async () => {
    await expect(s.ledger.append([{ type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('y') }, meta: {} }], 'test')).rejects.toMatchObject({ code: 'ENTRY_INVALID' });
  });
});

describe('lookups and verification by sm3 digest', () => {
  it('GET /v1/lookup/sm3/{hex} lists the anchorings; sha256 is a 400 that names the suite', async () => {
    const hex = sm3Hex('photo 1');
    const found = await json<{ digest: unknown; anchorings: unknown[] }>(await fetch(`${s.url}/v1/lookup/sm3/${hex}`));
    expect(found.digest).toEqual({ alg: 'sm3', hex });
    expect(found.anchorings).toHaveLength(1);
    const p = await problem(await fetch(`${s.url}/v1/lookup/sha256/${sha256Hex('photo 1')}`), 400);
    expect(p.field).toBe('alg');
    expect(p.detail).toMatch(/want sm3.*gm/);
  });

  it('GET /v1/verify/sm3/{hex} answers with receipts that verify under the SM2 key; sha256 is 400', async () => {
    const hex = sm3Hex('photo 1');
    const a = await json<{ anchored: boolean; digest: unknown; anchorings: Array<{ receipt: unknown }> }>(await fetch(`${s.url}/v1/verify/sm3/${hex}`));
    expect(a).toMatchObject({ anchored: true, digest: { alg: 'sm3', hex } });
    expect((await verifyReceipt(a.anchorings[0]!.receipt, { ...gm, content: { digest: { alg: 'sm3', hex } } })).valid).toBe(true);
    expect((await problem(await fetch(`${s.url}/v1/verify/sha256/${sha256Hex('photo 1')}`), 400)).field).toBe('alg');
  });

  it('POST /v1/verify hashes uploaded files with SM3 and proves consistency with SM3', async () => {
    const file = new TextEncoder().encode('inspection photo, 2026-03-01');
    const r = await json<{ index: string; receipt: unknown }>(await fetch(`${s.url}/v1/documents?name=p.jpg&mediaType=image/jpeg&wait=receipt`, { method: 'POST', headers: auth(s.keys.submit), body: file }), 201);
    // A later entry, so that the receipt's checkpoint is older than the latest.
    await json(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'record', record: { later: true } }, s.keys.submit), 201);
    const form = new FormData();
    form.set('receipt', JSON.stringify(r.receipt));
    form.set('file', new Blob([file]), 'p.jpg');
    const answer = await json<{ valid: boolean; checks: Array<{ id: string; status: string }>; online: { logStillHolds: boolean; consistency: { ok: boolean; from: string; to: string } } }>(
      await fetch(`${s.url}/v1/verify`, { method: 'POST', body: form }),
    );
    expect(answer.valid).toBe(true);
    expect(answer.checks.find((c) => c.id === 'content')?.status).toBe('pass');
    expect(answer.online.logStillHolds).toBe(true);
    expect(answer.online.consistency.ok).toBe(true);
    expect(BigInt(answer.online.consistency.from)).toBeLessThan(BigInt(answer.online.consistency.to));
    // The same file's SHA-256 is not this log's digest: the content check fails.
    const wrong = await json<{ valid: boolean }>(await postJson(`${s.url}/v1/verify`, { receipt: r.receipt, digest: { alg: 'sha256', hex: sha256Hex(file) } }));
    expect(wrong.valid).toBe(false);
  });
});

describe('the SM3 tree: tiles, proofs, blocks and bundles', () => {
  beforeAll(async () => {
    const entries = Array.from({ length: 270 }, (_, i) => ({ type: 'digest', digest: { alg: 'sm3', hex: sm3Hex(`t${i}`) }, meta: { name: `f${i}` } }));
    await json(await postJson(`${s.url}/v1/entries/batch?wait=receipt`, { entries }, s.keys.submit), 201);
    await s.ledger.publisher.publishNow();
  }, 60_000);

  it('serves tiles of SM3 hashes that recompute from the entries, and whose tree is the checkpoint root', async () => {
    const note = await (await fetch(`${s.url}/checkpoint`)).text();
    const cp = openCheckpoint(note, GM_LOG.verifierKey).checkpoint;
    const size = Number(cp.size);
    expect(size).toBeGreaterThan(256);
    const bundle0 = decodeEntryBundle(new Uint8Array(await (await fetch(`${s.url}/tile/entries/000`, { headers: auth(s.keys.audit) })).arrayBuffer()));
    const bundle1 = decodeEntryBundle(new Uint8Array(await (await fetch(`${s.url}/${formatTilePath({ kind: 'entries', index: 1n, width: size - 256 })}`, { headers: auth(s.keys.audit) })).arrayBuffer()));
    const leaves = [...bundle0, ...bundle1].map((e) => sm3Leaf(e));
    expect(leaves).toHaveLength(size);
    const tile0 = Buffer.from(await (await fetch(`${s.url}/tile/0/000`)).arrayBuffer());
    expect(tile0.length).toBe(256 * 32);
    for (let i = 0; i < 256; i++) expect(tile0.subarray(i * 32, i * 32 + 32).toString('hex')).toBe(leaves[i]!.toString('hex'));
    const l1 = Buffer.from(await (await fetch(`${s.url}/${formatTilePath({ kind: 'hash', level: 1, index: 0n, width: 1 })}`)).arrayBuffer());
    expect(l1.toString('hex')).toBe(sm3Root(leaves.slice(0, 256)).toString('hex'));
    expect(toHex(cp.root)).toBe(sm3Root(leaves).toString('hex'));
  });

  it('exports the same SM3 tiles as static files (guzheng export-tiles), checked against the signed root', async () => {
    const note = await (await fetch(`${s.url}/checkpoint`)).text();
    const out = mkdtempSync(join(tmpdir(), 'guzheng-gm-tiles-'));
    try {
      const r = await exportTiles(s.store, note, GM_LOG.verifierKey, out, { entries: false });
      expect(r.root).toBe(toHex(openCheckpoint(note, GM_LOG.verifierKey).checkpoint.root));
      const served = Buffer.from(await (await fetch(`${s.url}/tile/0/000`)).arrayBuffer());
      expect(readFileSync(join(out, 'tile', '0', '000')).equals(served)).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('serves inclusion and consistency proofs that verify with SM3, and not with SHA-256', async () => {
    const note = await (await fetch(`${s.url}/checkpoint`)).text();
    const cp = openCheckpoint(note, GM_LOG.verifierKey).checkpoint;
    const p = await json<{ leafHash: string; path: string[]; size: string }>(await fetch(`${s.url}/v1/proof/inclusion?index=5&size=${cp.size}`));
    expect(p.leafHash).toBe(sm3Leaf(await entryBytes(5n)).toString('hex'));
    const path = p.path.map((h) => fromHex(h, 32));
    expect(() => verifyInclusion(5n, cp.size, fromHex(p.leafHash, 32), path, cp.root, GM.tree)).not.toThrow();
    expect(() => verifyInclusion(5n, cp.size, fromHex(p.leafHash, 32), path, cp.root, SHA256_TREE)).toThrow();
    const blocks = (await json<{ blocks: Array<Record<string, string>> }>(await fetch(`${s.url}/v1/blocks`))).blocks;
    const older = openCheckpoint(blocks[2]!.checkpoint!, GM_LOG.verifierKey).checkpoint;
    const c = await json<{ path: string[] }>(await fetch(`${s.url}/v1/proof/consistency?from=${older.size}&to=${cp.size}`));
    const cpath = c.path.map((h) => fromHex(h, 32));
    expect(() => verifyConsistency(older.size, cp.size, cpath, older.root, cp.root, GM.tree)).not.toThrow();
    expect(() => verifyConsistency(older.size, cp.size, cpath, older.root, cp.root, SHA256_TREE)).toThrow();
  });

  it('serves a block chain hashed with SM3 that verifies under the SM2 key; /v1/log names the head', async () => {
    const served = (await json<{ blocks: Array<Record<string, string>> }>(await fetch(`${s.url}/v1/blocks`))).blocks;
    const blocks: Block[] = served.map(({ hash: _h, ...b }) => parseBlock(b));
    for (const b of served) expect(b.hash).toBe(sm3Hex(splitSigned(b.checkpoint!).text));
    for (let i = 1; i < blocks.length; i++) expect(toHex(blocks[i]!.prev)).toBe(served[i - 1]!.hash);
    expect(() => verifyBlockChain(blocks, GM_LOG.verifierKey)).not.toThrow();
    const log = await json<{ height: string; blockHash: string }>(await fetch(`${s.url}/v1/log`));
    expect(log.blockHash).toBe(served[Number(log.height)]!.hash);
  });

  it('serves a case bundle that verifies under the SM2 key with the files hashed by SM3', async () => {
    const bundle = await json(await fetch(`${s.url}/v1/cases/${encodeURIComponent(CASE)}/bundle`, { headers: auth(s.keys.audit) }));
    const report = await verifyBundle(bundle, { ...gm, files: [{ label: 'photo1', content: { digest: { alg: 'sm3', hex: sm3Hex('photo 1') } } }] });
    expect(report.valid).toBe(true);
    expect(report.items).toHaveLength(3);
    expect((await verifyBundle(bundle, { trustedKeys: [ED_LOG.verifierKey] })).valid).toBe(false);
  });
});

describe('HJ 212 packets in a gm log', () => {
  it('anchors each packet with the SM3 of its raw bytes; the listing proves it byte for byte', async () => {
    const gw = await Hj212Gateway.start({ ledger: s.ledger, port: 0, host: '127.0.0.1' });
    try {
      const logger = await SimLogger.connect(gw.address.port);
      const packet = frameText(hj212Upload(1, { flag: '5' }));
      logger.send(packet);
      await logger.waitReplies(1);
      logger.end();
      // The reply means durable; the listing's receipt needs a checkpoint covering the packet.
      await s.ledger.publisher.waitFor(s.ledger.sequencer.size, 5000);
      const listing = await json<{ packets: Array<{ entry: { digest: unknown }; raw: string; receipt: unknown }> }>(await fetch(`${s.url}/v1/hj212/devices/${MN}/packets`, { headers: auth(s.keys.audit) }));
      const [p] = listing.packets;
      expect(Buffer.from(p!.raw, 'base64').toString()).toBe(packet);
      expect(p!.entry.digest).toEqual({ alg: 'sm3', hex: sm3Hex(enc(packet)) });
      const report = await verifyReceipt(p!.receipt, { ...gm, content: { bytes: enc(packet) } });
      expect(checks(report).filter((c) => c.includes(':fail'))).toEqual([]);
      expect(report.valid).toBe(true);
    } finally {
      await gw.close();
    }
  });
});

describe('restarting a gm log', () => {
  it('recovers its SM3 tree, refuses an Ed25519 key, and goes on consistently', async () => {
    const before = await (await fetch(`${s.url}/checkpoint`)).text();
    const old = openCheckpoint(before, GM_LOG.verifierKey).checkpoint;
    const { dir, keys, keyIds } = s;
    await s.stop();
    const store = await LevelStore.open(dir);
    await expect(Ledger.open({ store, signerKey: ED_LOG.signerKey })).rejects.toThrow(/does not verify with this log's key/);
    await store.close();
    s = await startServer({ dir, keys, keyIds, ledger: { signerKey: GM_LOG.signerKey } });
    expect(s.ledger.suite.id).toBe('gm');
    expect(s.ledger.sequencer.size).toBe(old.size);
    expect(toHex(s.ledger.sequencer.snapshot().root)).toBe(toHex(old.root));
    const r = await json<{ receipt: unknown }>(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'digest', digest: { alg: 'sm3', hex: toHex(sm3('after restart')) } }, s.keys.submit), 201);
    expect((await verifyReceipt(r.receipt, gm)).valid).toBe(true);
    const now = openCheckpoint(await (await fetch(`${s.url}/checkpoint`)).text(), GM_LOG.verifierKey).checkpoint;
    const c = await json<{ path: string[] }>(await fetch(`${s.url}/v1/proof/consistency?from=${old.size}&to=${now.size}`));
    expect(() => verifyConsistency(old.size, now.size, c.path.map((h) => fromHex(h, 32)), old.root, now.root, GM.tree)).not.toThrow();
  });
});
