import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyReceipt } from '../../src/verifier/index.js';
import { auth, json, pinned, problem, sha256Hex, startServer, type TestServer } from './helpers.js';

const LIMIT = 1 << 20;
let s: TestServer;
beforeAll(async () => {
  s = await startServer({ config: { maxDocumentBytes: LIMIT } });
});
afterAll(() => s.destroy());

const size = () => s.ledger.sequencer.size;
const upload = (query: string, body: RequestInit['body'] | undefined, headers: Record<string, string> = {}, secret = s.keys.submit) =>
  fetch(`${s.url}/v1/documents?${query}`, { method: 'POST', headers: { ...auth(secret), ...headers }, ...(body !== undefined ? { body, duplex: 'half' } : {}) } as RequestInit);

/** A chunked body (no Content-Length) of `total` bytes; `sent()` tells how much was pulled. */
function chunked(total: number, chunk = 64 << 10): { body: ReadableStream<Uint8Array>; sent(): number; bytes: Buffer[] } {
  let sent = 0;
  const bytes: Buffer[] = [];
  return {
    bytes,
    sent: () => sent,
    body: new ReadableStream({
      pull(ctl) {
        if (sent >= total) return ctl.close();
        const b = randomBytes(Math.min(chunk, total - sent));
        bytes.push(b);
        sent += b.length;
        ctl.enqueue(new Uint8Array(b));
      },
    }),
  };
}

describe('POST /v1/documents', () => {
  it('hashes the streamed bytes, anchors digest + metadata, and ?wait=receipt verifies with the file', async () => {
    const file = randomBytes(300_000);
    const q = `name=${encodeURIComponent('检查笔录 2026-03.pdf')}&mediaType=application/pdf&caseId=${encodeURIComponent('衡环罚〔2026〕12号')}&wait=receipt`;
    const res = await upload(q, file, { 'Content-Type': 'application/octet-stream' });
    const r = await json(res, 201);
    expect(res.headers.get('location')).toBe(`/v1/entries/${r.index}`);
    expect(r.digest).toEqual({ alg: 'sha256', hex: sha256Hex(file) });
    expect(r.entry).toMatchObject({ type: 'document', submitter: s.keyIds.submit, meta: { name: '检查笔录 2026-03.pdf', mediaType: 'application/pdf', size: 300_000, caseId: '衡环罚〔2026〕12号' } });
    const report = await verifyReceipt(r.receipt, { ...pinned, content: { bytes: new Uint8Array(file) } });
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report.valid).toBe(true);
    const changed = Buffer.from(file);
    changed[1000]! ^= 1;
    expect((await verifyReceipt(r.receipt, { ...pinned, content: { bytes: new Uint8Array(changed) } })).valid).toBe(false);
    // The content is never stored: the entry has no attachment.
    const got = await json(await fetch(`${s.url}/v1/entries/${r.index}`, { headers: auth(s.keys.audit) }));
    expect(got.record).toBeUndefined();
    expect(got.raw).toBeUndefined();
  });

  it('streams a chunked upload and takes the media type from Content-Type when not given', async () => {
    const c = chunked(700_000);
    const r = await json(await upload('name=photo.jpg&note=site%0Avisit', c.body, { 'Content-Type': 'image/jpeg; foo=bar' }), 201);
    expect(r.digest.hex).toBe(sha256Hex(Buffer.concat(c.bytes)));
    expect(r.entry.meta).toEqual({ name: 'photo.jpg', mediaType: 'image/jpeg', size: 700_000, note: 'site\nvisit' });
  });

  it('anchors an empty document', async () => {
    const r = await json(await upload('name=empty.txt&mediaType=text/plain', new Uint8Array(0)), 201);
    expect(r.digest.hex).toBe(sha256Hex(''));
    expect(r.entry.meta.size).toBe(0);
  });

  it('takes exactly the limit', async () => {
    const file = randomBytes(LIMIT);
    const r = await json(await upload('name=max.bin&mediaType=application/octet-stream', file), 201);
    expect(r.entry.meta.size).toBe(LIMIT);
  });

  it('refuses a document over the limit with 413 and anchors nothing (declared length)', async () => {
    const before = size();
    const file = randomBytes(LIMIT + 1);
    const p = await problem(await upload('name=big.bin&mediaType=application/octet-stream', file), 413);
    expect(p).toMatchObject({ code: 'BODY_TOO_LARGE', field: 'body' });
    expect(size()).toBe(before);
    expect((await json(await fetch(`${s.url}/v1/lookup/sha256/${sha256Hex(file)}`))).anchorings).toEqual([]);
  });

  it('refuses a chunked upload past the limit with 413, stops reading, anchors nothing', async () => {
    const before = size();
    const c = chunked(20 * LIMIT);
    const p = await problem(await upload('name=big.bin&mediaType=application/octet-stream', c.body), 413);
    expect(p.code).toBe('BODY_TOO_LARGE');
    expect(c.sent()).toBeLessThan(20 * LIMIT);
    expect(size()).toBe(before);
    // The server still works afterwards.
    await json(await upload('name=after.txt&mediaType=text/plain', 'ok'), 201);
  });

  it('validates the metadata before reading the body, naming the parameter', async () => {
    const before = size();
    const cases: Array<[string, string]> = [
      ['mediaType=text/plain', 'name'],
      ['name=', 'name'],
      ['name=a.txt&mediaType=text', 'mediaType'],
      [`name=a.txt&mediaType=text/plain&caseId=${'x'.repeat(129)}`, 'caseId'],
      ['name=a.txt&mediaType=text/plain&size=3', 'size'],
      ['name=a.txt&mediaType=text/plain&wait=yes', 'wait'],
      ['name=a&name=b&mediaType=text/plain', 'name'],
      ['name=a%01b&mediaType=text/plain', 'name'],
    ];
    for (const [q, field] of cases) {
      expect(await problem(await upload(q, 'abc'), 400), q).toMatchObject({ code: 'INPUT_INVALID', field });
    }
    expect(await problem(await upload('name=a.bin', 'abc', { 'Content-Type': 'nonsense' }), 400)).toMatchObject({ field: 'mediaType' });
    expect(size()).toBe(before);
  });

  it('needs a submit key', async () => {
    expect((await upload('name=a.txt&mediaType=text/plain', 'abc', {}, s.keys.audit)).status).toBe(403);
    const res = await fetch(`${s.url}/v1/documents?name=a.txt&mediaType=text/plain`, { method: 'POST', body: 'abc' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});
