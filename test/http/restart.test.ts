import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/core/bytes.js';
import { openCheckpoint, verifyConsistency, verifyInclusion, verifyReceipt } from '../../src/verifier/index.js';
import { TEST_LOG, auth, json, pinned, postJson, sha256Hex, startServer, type TestServer } from './helpers.js';

const hashes = (path: string[]) => path.map((h) => fromHex(h, 32));
async function checkpoint(s: TestServer) {
  return openCheckpoint(await (await fetch(`${s.url}/checkpoint`)).text(), TEST_LOG.verifierKey).checkpoint;
}

describe('restart', () => {
  it('reopens on the same directory: old entries still prove, new checkpoints are consistent with old ones', async () => {
    const first = await startServer();
    const file = randomBytes(50_000);
    const doc = await json(await fetch(`${first.url}/v1/documents?name=a.bin&mediaType=application/octet-stream&wait=receipt`, { method: 'POST', headers: auth(first.keys.submit), body: file }), 201);
    const rec = await json(await postJson(`${first.url}/v1/entries/batch?wait=receipt`, { entries: Array.from({ length: 20 }, (_, i) => ({ type: 'record', record: { i } })) }, first.keys.submit), 201);
    const old = await checkpoint(first);
    expect(old.size).toBe(21n);
    await first.stop();

    const second = await startServer({ dir: first.dir, keys: first.keys, keyIds: first.keyIds });
    try {
      expect(second.ledger.sequencer.size).toBe(21n);
      // Receipts from before the restart still verify; fresh ones too.
      expect((await verifyReceipt(doc.receipt, { ...pinned, content: { bytes: new Uint8Array(file) } })).valid).toBe(true);
      const again = await json(await fetch(`${second.url}/v1/receipts/${doc.index}`, { headers: auth(second.keys.audit) }));
      expect((await verifyReceipt(again, { ...pinned, content: { bytes: new Uint8Array(file) } })).valid).toBe(true);
      expect((await json(await fetch(`${second.url}/v1/entries/5`, { headers: auth(second.keys.audit) }))).record).toEqual({ i: 4 });
      expect((await json(await fetch(`${second.url}/v1/lookup/sha256/${sha256Hex(file)}`))).anchorings).toHaveLength(1);

      await json(await postJson(`${second.url}/v1/entries/batch?wait=receipt`, { entries: Array.from({ length: 7 }, (_, i) => ({ type: 'record', record: { after: i } })) }, second.keys.submit), 201);
      const now = await checkpoint(second);
      expect(now.size).toBe(28n);
      const c = await json(await fetch(`${second.url}/v1/proof/consistency?from=${old.size}&to=${now.size}`));
      verifyConsistency(old.size, now.size, hashes(c.path), old.root, now.root);
      for (const r of rec.results as Array<{ index: string; leafHash: string }>) {
        const p = await json(await fetch(`${second.url}/v1/proof/inclusion?index=${r.index}`));
        verifyInclusion(BigInt(r.index), now.size, fromHex(r.leafHash, 32), hashes(p.path), now.root);
      }
      // The block chain continues across the restart.
      const blocks = (await json(await fetch(`${second.url}/v1/blocks?limit=1000`))).blocks as Array<{ height: string; first: string; count: string }>;
      blocks.forEach((b, i) => expect(b.height).toBe(String(i)));
      for (let i = 1; i < blocks.length; i++) expect(BigInt(blocks[i]!.first)).toBe(BigInt(blocks[i - 1]!.first) + BigInt(blocks[i - 1]!.count));
    } finally {
      await second.destroy();
    }
  });
});

describe('concurrent submitters', () => {
  it('acknowledges 300 requests in flight with distinct indexes and valid receipts', async () => {
    const s = await startServer();
    try {
      const keys = [s.keys.submit, s.keys.admin];
      const records = Array.from({ length: 300 }, (_, i) => ({ n: i, station: `HS-${i % 7}` }));
      const results = await Promise.all(records.map((record, i) => postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'record', record }, keys[i % 2]!).then((r) => json(r, 201))));
      const indexes = new Set(results.map((r) => r.index));
      expect(indexes.size).toBe(300);
      expect([...indexes].map(BigInt).sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: 300 }, (_, i) => BigInt(i)));
      for (const [i, r] of results.entries()) {
        expect(r.receipt, `entry ${i}`).toBeDefined();
        expect((await verifyReceipt(r.receipt, { ...pinned, content: { record: records[i] } })).valid).toBe(true);
      }
      expect(s.ledger.sequencer.stats.flushes).toBeLessThan(300);
    } finally {
      await s.destroy();
    }
  }, 60_000);
});
