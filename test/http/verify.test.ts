import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../src/core/bytes.js';
import { verifyConsistency } from '../../src/core/merkle/verify.js';
import { parseReceipt, type Receipt } from '../../src/core/receipt.js';
import { receiptToTlogProof } from '../../src/core/tlog-proof.js';
import { canonicalJson } from '../../src/core/entry/jcs.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { MiniLog, OTHER_KEYS, content } from '../../scripts/vectors/mini-log.js';
import { auth, json, pinned, postJson, problem, sha256Hex, startServer, type TestServer } from './helpers.js';

const CASE = '衡环罚〔2026〕12号';
const enc = encodeURIComponent;
const pdf = new TextEncoder().encode('%PDF-1.7 现场检查笔录\n');
const LIMIT = 64 << 10;

let s: TestServer;
let receipt: Receipt;
let bundle: Record<string, unknown>;
beforeAll(async () => {
  s = await startServer({ config: { maxDocumentBytes: LIMIT } });
  const doc = await json(
    await fetch(`${s.url}/v1/documents?name=${enc('现场检查笔录.pdf')}&mediaType=application/pdf&caseId=${enc(CASE)}&wait=receipt`, { method: 'POST', headers: { ...auth(s.keys.submit), 'Content-Type': 'application/pdf' }, body: pdf }),
    201,
  );
  receipt = doc.receipt;
  await json(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('photo') }, meta: { caseId: CASE, name: 'photo.jpg' } }, s.keys.submit), 201);
  bundle = await json(await fetch(`${s.url}/v1/cases/${enc(CASE)}/bundle`, { headers: auth(s.keys.audit) }));
  // The log grows after the receipt: the server proves the receipt's checkpoint consistent with the new one.
  await json(await postJson(`${s.url}/v1/entries/batch?wait=receipt`, { entries: [1, 2, 3].map((i) => ({ type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(`later ${i}`) } })) }, s.keys.submit), 201);
});
afterAll(() => s.destroy());

const verify = (body: unknown) => postJson(`${s.url}/v1/verify`, body);

function failed(r: { checks: Array<{ id: string; status: string; code?: string }> }): string[] {
  return r.checks.filter((c) => c.status === 'fail').map((c) => `${c.id}:${c.code}`);
}

describe('POST /v1/verify (JSON)', () => {
  it('verifies a receipt with the content digest, pinned to the log key, and proves its checkpoint consistent with the latest', async () => {
    const r = await json(await verify({ receipt, digest: { alg: 'sha256', hex: sha256Hex(pdf) } }));
    expect(r).toMatchObject({ kind: 'receipt', valid: true });
    expect(r.checks.map((c: { id: string; status: string }) => `${c.id}:${c.status}`)).toEqual(['format:pass', 'checkpoint:pass', 'entry:pass', 'leaf-hash:pass', 'content:pass', 'inclusion:pass', 'block:pass', 'block-consistency:pass', 'timestamp:skip', 'cosignatures:skip']);
    expect(r.facts.verifierKey).toBe(s.ledger.verifierKey);
    expect(r.online).toMatchObject({ logStillHolds: true, notHeld: [], treeSize: String(s.ledger.checkpointSize), checkpoint: s.ledger.latest().checkpoint.note });
    const c = r.online.consistency;
    expect(c).toMatchObject({ from: r.facts.treeSize, to: r.online.treeSize, ok: true });
    expect(BigInt(c.from)).toBeLessThan(BigInt(c.to));
    // The consistency proof checks offline, from the receipt's checkpoint to the answer's.
    const older = openCheckpoint(receipt.checkpoint, pinned.trustedKeys[0]!).checkpoint;
    const newer = openCheckpoint(r.online.checkpoint, pinned.trustedKeys[0]!).checkpoint;
    expect(() => verifyConsistency(older.size, newer.size, c.path.map((h: string) => fromHex(h, 32)), older.root, newer.root)).not.toThrow();
  });

  it('takes the receipt as text, a bundle with file digests, and a tlog-proof with the entry bytes', async () => {
    expect(await json(await verify({ receipt: JSON.stringify(receipt) }))).toMatchObject({ kind: 'receipt', valid: true });
    const b = await json(await verify({ receipt: bundle, files: [{ name: '现场检查笔录.pdf', digest: { alg: 'sha256', hex: sha256Hex(pdf) } }] }));
    expect(b).toMatchObject({ kind: 'bundle', valid: true, online: { logStillHolds: true, consistency: { ok: true } } });
    expect(b.items).toHaveLength(2);
    expect(b.checks.find((c: { id: string }) => c.id === 'files').status).toBe('pass');
    const proof = receiptToTlogProof(parseReceipt(receipt));
    const entry = Buffer.from(canonicalJson(receipt.entry)).toString('base64');
    const t = await json(await verify({ receipt: proof, entry, digest: { alg: 'sha256', hex: sha256Hex(pdf) } }));
    expect(t).toMatchObject({ kind: 'tlog-proof', valid: true, online: { logStillHolds: true, consistency: { ok: true } } });
  });

  it('answers 200 valid:false naming the failed checks for a bad receipt', async () => {
    const r = await json(await verify({ receipt, digest: { alg: 'sha256', hex: sha256Hex('another file') } }));
    expect(r.valid).toBe(false);
    expect(failed(r)).toEqual(['content:DIGEST_MISMATCH']);
    const edited = { ...receipt, entry: { ...receipt.entry, receivedAt: '2020-01-01T00:00:00.000Z' } };
    const e = await json(await verify({ receipt: edited }));
    expect(failed(e)).toEqual(['leaf-hash:RECEIPT_MALFORMED', 'inclusion:PROOF_INVALID']);
    expect(e.online).toMatchObject({ logStillHolds: false, notHeld: [receipt.index], consistency: { ok: true } });
    const malformed = await json(await verify({ receipt: { ...receipt, extra: 1 } }));
    expect(failed(malformed)).toEqual(['format:RECEIPT_MALFORMED']);
    expect(malformed.online.logStillHolds).toBeUndefined();
    expect(malformed.online.consistency).toBeUndefined();
  });

  it('pins its own key: a receipt of another log key fails the checkpoint check, with no consistency claim', async () => {
    const other = new MiniLog(OTHER_KEYS.signerKey, OTHER_KEYS.verifierKey);
    other.publish();
    other.appendDocument(content(0));
    other.publish();
    const r = await json(await verify({ receipt: other.receipt(0n) }));
    expect(r.valid).toBe(false);
    expect(failed(r)).toEqual(['checkpoint:NOTE_UNVERIFIED']);
    expect(r.online.consistency).toBeUndefined();
  });

  it('exposes a fork: a receipt signed with the log key for a history the log does not hold', async () => {
    // A MiniLog with the same key as the test log: its receipts verify offline, but it is another history.
    const fork = new MiniLog();
    fork.publish();
    for (let i = 0; i < 3; i++) fork.appendDocument(content(i));
    fork.publish();
    const r = await json(await verify({ receipt: fork.receipt(1n) }));
    expect(r.valid).toBe(true); // every offline check passes: the key signed it
    expect(r.online.logStillHolds).toBe(false);
    expect(r.online.consistency.ok).toBe(false); // the log's own consistency proof does not link it
  });

  it('refuses bad requests with a 4xx problem naming the field', async () => {
    const proof = receiptToTlogProof(parseReceipt(receipt));
    const cases: Array<[Promise<Response>, number, Record<string, unknown>]> = [
      [fetch(`${s.url}/v1/verify`, { method: 'POST' }), 400, { field: 'body' }],
      [fetch(`${s.url}/v1/verify`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' }), 415, { code: 'UNSUPPORTED_MEDIA_TYPE' }],
      [fetch(`${s.url}/v1/verify`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"receipt":' }), 400, { code: 'MALFORMED_JSON' }],
      [verify({}), 400, { field: 'receipt' }],
      [verify({ receipt, colour: 'red' }), 400, { field: 'colour' }],
      [verify({ receipt: '%PDF-1.7' }), 400, { field: 'receipt' }],
      [verify({ receipt: proof }), 400, { field: 'entry' }],
      [verify({ receipt, entry: 'AAAA' }), 400, { field: 'entry' }],
      [verify({ receipt: proof, entry: 'not base64!' }), 400, { field: 'entry' }],
      [verify({ receipt, digest: { alg: 'sha256', hex: 'ABC' } }), 400, { field: 'digest.hex' }],
      [verify({ receipt, files: [{ name: 'a', digest: { alg: 'sha256', hex: sha256Hex('a') } }, { name: 'b', digest: { alg: 'sha256', hex: sha256Hex('b') } }] }), 400, { field: 'files' }],
    ];
    for (const [res, status, want] of cases) expect(await problem(await res, status)).toMatchObject(want);
  });
});

describe('POST /v1/verify (multipart/form-data)', () => {
  const form = (parts: Array<[string, string] | [string, Uint8Array, string]>) => {
    const f = new FormData();
    for (const p of parts) {
      if (typeof p[1] === 'string') f.append(p[0], p[1]);
      else f.append(p[0], new Blob([p[1] as Uint8Array<ArrayBuffer>]), p[2]);
    }
    return fetch(`${s.url}/v1/verify`, { method: 'POST', body: f });
  };

  it('hashes the uploaded file while streaming and compares it, never storing it', async () => {
    const before = s.ledger.sequencer.size;
    const r = await json(await form([['receipt', JSON.stringify(receipt)], ['file', pdf, '现场检查笔录.pdf']]));
    expect(r).toMatchObject({ kind: 'receipt', valid: true, online: { logStillHolds: true } });
    expect(r.checks.find((c: { id: string }) => c.id === 'content').status).toBe('pass');
    const changed = pdf.slice();
    changed[3]! ^= 1;
    const bad = await json(await form([['receipt', JSON.stringify(receipt)], ['file', changed, '现场检查笔录.pdf']]));
    expect(failed(bad)).toEqual(['content:DIGEST_MISMATCH']);
    expect(s.ledger.sequencer.size).toBe(before);
  });

  it('locates the files of a bundle by digest and by name', async () => {
    const changed = pdf.slice();
    changed[0]! ^= 1;
    const r = await json(await form([['receipt', JSON.stringify(bundle)], ['file', changed, '现场检查笔录.pdf']]));
    expect(r.valid).toBe(false);
    expect(r.items.find((i: { index: string }) => i.index === receipt.index).checks.find((c: { id: string }) => c.id === 'content')).toMatchObject({ status: 'fail', code: 'DIGEST_MISMATCH' });
    expect(r.checks.find((c: { id: string }) => c.id === 'files').message).toContain('现场检查笔录.pdf');
  });

  it('takes a tlog-proof with its entry, as text fields (line breaks sent as CRLF) or as file parts', async () => {
    const proof = receiptToTlogProof(parseReceipt(receipt));
    const entry = canonicalJson(receipt.entry);
    const asFields = await json(await form([['receipt', proof], ['entry', Buffer.from(entry).toString('base64')], ['file', pdf, 'x.pdf']]));
    expect(asFields).toMatchObject({ kind: 'tlog-proof', valid: true });
    const asFiles = await json(await form([['receipt', new TextEncoder().encode(proof), 'receipt.tlog-proof'], ['entry', entry, 'entry.json'], ['file', pdf, 'x.pdf']]));
    expect(asFiles).toMatchObject({ kind: 'tlog-proof', valid: true, online: { logStillHolds: true } });
    expect(asFiles.checks.find((c: { id: string }) => c.id === 'content').status).toBe('pass');
  });

  it('refuses a missing receipt, an unknown field, two files for one receipt, and a file over the limit (413)', async () => {
    expect(await problem(await form([['file', pdf, 'x.pdf']]), 400)).toMatchObject({ field: 'receipt' });
    expect(await problem(await form([['receipt', JSON.stringify(receipt)], ['colour', 'red']]), 400)).toMatchObject({ field: 'colour' });
    expect(await problem(await form([['receipt', JSON.stringify(receipt)], ['file', pdf, 'a.pdf'], ['file', pdf, 'b.pdf']]), 400)).toMatchObject({ field: 'files' });
    expect(await problem(await form([['receipt', JSON.stringify(receipt)], ['file', new Uint8Array(LIMIT + 1), 'big.bin']]), 413)).toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect(await problem(await fetch(`${s.url}/v1/verify`, { method: 'POST', headers: { 'Content-Type': 'multipart/form-data' }, body: 'x' }), 400)).toMatchObject({ field: 'Content-Type' });
  });
});

describe('GET /v1/verify/sha256/{hex}', () => {
  it('lists every anchoring with a receipt against one fresh checkpoint; the answer verifies offline', async () => {
    const hex = sha256Hex('anchored twice');
    for (let i = 0; i < 2; i++) await json(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'digest', digest: { alg: 'sha256', hex }, meta: { caseId: CASE } }, s.keys.submit), 201);
    const r = await json(await fetch(`${s.url}/v1/verify/sha256/${hex}`));
    expect(r).toMatchObject({ digest: { alg: 'sha256', hex }, anchored: true, pending: [], verifierKey: s.ledger.verifierKey });
    expect(r.anchorings).toHaveLength(2);
    for (const a of r.anchorings) {
      expect(a.receipt.checkpoint).toBe(r.checkpoint);
      expect(a).toMatchObject({ type: 'digest', index: a.receipt.index, leafHash: a.receipt.leafHash, receivedAt: a.receipt.entry.receivedAt });
      const report = await verifyReceipt(a.receipt, { ...pinned, content: { digest: { alg: 'sha256', hex } } });
      expect(report.valid).toBe(true);
      expect(report.facts.treeSize).toBe(r.treeSize);
    }
    const pdfAnswer = await json(await fetch(`${s.url}/v1/verify/sha256/${sha256Hex(pdf)}`));
    expect(pdfAnswer.anchorings.map((a: { index: string }) => a.index)).toEqual([receipt.index]);
    expect((await verifyReceipt(pdfAnswer.anchorings[0].receipt, { ...pinned, content: { bytes: pdf } })).valid).toBe(true);
  });

  it('says anchored:false for an unknown digest, and 400 for a bad one', async () => {
    expect(await json(await fetch(`${s.url}/v1/verify/sha256/${sha256Hex('never')}`))).toMatchObject({ anchored: false, anchorings: [], pending: [] });
    expect(await problem(await fetch(`${s.url}/v1/verify/sha256/${sha256Hex('x').toUpperCase()}`), 400)).toMatchObject({ field: 'hex' });
    expect(await problem(await fetch(`${s.url}/v1/verify/md5/${sha256Hex('x')}`), 400)).toMatchObject({ field: 'alg' });
  });

  it('is documented in /openapi.json with both request media types', async () => {
    const doc = await json(await fetch(`${s.url}/openapi.json`));
    const post = doc.paths['/v1/verify'].post;
    expect(Object.keys(post.requestBody.content).sort()).toEqual(['application/json', 'multipart/form-data']);
    expect(post.security).toEqual([]);
    expect(doc.paths['/v1/verify/{alg}/{hex}'].get.security).toEqual([]);
    expect(doc.paths['/v1/cases/{caseId}'].get['x-roles']).toEqual(['submit', 'audit', 'admin']);
    expect(doc.paths['/v1/cases/{caseId}/bundle'].get.responses['200']).toBeDefined();
  });
});
