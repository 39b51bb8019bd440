import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle, verifyReceipt } from '../../src/verifier/index.js';
import { auth, json, pinned, postJson, problem, sha256Hex, startServer, type TestServer } from './helpers.js';

const CASE = '衡环罚〔2026〕12号';
const enc = encodeURIComponent;
const pdf = new TextEncoder().encode('%PDF-1.7 行政处罚决定书 衡环罚〔2026〕12号\n');
const photo = new TextEncoder().encode('\xff\xd8\xff\xe0 site photo 0012');
const record = { inspector: '王某', site: '衡水市桃城区某化工厂', findings: ['废水直排'], time: '2026-03-02T09:30:00+08:00' };

let s: TestServer;
const indexes: string[] = [];
beforeAll(async () => {
  s = await startServer();
  const doc = await json(
    await fetch(`${s.url}/v1/documents?name=${enc('处罚决定书.pdf')}&mediaType=application/pdf&caseId=${enc(CASE)}`, { method: 'POST', headers: { ...auth(s.keys.submit), 'Content-Type': 'application/pdf' }, body: pdf }),
    201,
  );
  const other = await json(await postJson(`${s.url}/v1/entries`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('other case') }, meta: { caseId: '衡环罚〔2026〕13号' } }, s.keys.submit), 201);
  const rec = await json(await postJson(`${s.url}/v1/entries`, { type: 'record', record, meta: { caseId: CASE, source: 'inspection-app' } }, s.keys.submit), 201);
  await json(await postJson(`${s.url}/v1/entries`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('no case') } }, s.keys.submit), 201);
  const img = await json(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(photo) }, meta: { caseId: CASE, name: 'photo-0012.jpg', mediaType: 'image/jpeg', size: photo.length } }, s.keys.submit), 201);
  indexes.push(doc.index, rec.index, img.index);
  expect(other.index).toBe('1');
});
afterAll(() => s.destroy());

describe('GET /v1/cases/{caseId}', () => {
  it('lists every entry of the case, each with a receipt against one shared checkpoint', async () => {
    for (const role of ['audit', 'submit', 'admin'] as const) {
      const body = await json(await fetch(`${s.url}/v1/cases/${enc(CASE)}`, { headers: auth(s.keys[role]) }));
      expect(body.caseId).toBe(CASE);
      expect(body.entries.map((e: { index: string }) => e.index)).toEqual(indexes);
      expect(body.next).toBeUndefined();
      expect(new Set(body.entries.map((e: { receipt: { checkpoint: string } }) => e.receipt.checkpoint)).size).toBe(1);
      for (const e of body.entries) {
        expect(e.entry.meta.caseId).toBe(CASE);
        expect(e.receipt.leafHash).toBe(e.leafHash);
        expect((await verifyReceipt(e.receipt, pinned)).valid).toBe(true);
      }
      expect((await verifyReceipt(body.entries[0].receipt, { ...pinned, content: { bytes: pdf } })).valid).toBe(true);
      expect((await verifyReceipt(body.entries[1].receipt, { ...pinned, content: { record } })).valid).toBe(true);
    }
  });

  it('pages with start and limit', async () => {
    const p1 = await json(await fetch(`${s.url}/v1/cases/${enc(CASE)}?limit=2`, { headers: auth(s.keys.audit) }));
    expect(p1.entries.map((e: { index: string }) => e.index)).toEqual(indexes.slice(0, 2));
    expect(p1.next).toBe(String(Number(indexes[1]) + 1));
    const p2 = await json(await fetch(`${s.url}/v1/cases/${enc(CASE)}?limit=2&start=${p1.next}`, { headers: auth(s.keys.audit) }));
    expect(p2.entries.map((e: { index: string }) => e.index)).toEqual(indexes.slice(2));
    expect(p2.next).toBeUndefined();
    const p3 = await json(await fetch(`${s.url}/v1/cases/${enc(CASE)}?start=1000`, { headers: auth(s.keys.audit) }));
    expect(p3.entries).toEqual([]);
  });

  it('takes any case id, percent-encoded, including one with a slash', async () => {
    const id = '衡环/2026/12 号 #1?';
    const r = await json(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(id) }, meta: { caseId: id } }, s.keys.submit), 201);
    const body = await json(await fetch(`${s.url}/v1/cases/${enc(id)}`, { headers: auth(s.keys.audit) }));
    expect(body).toMatchObject({ caseId: id, entries: [{ index: r.index }] });
    const bundle = await json(await fetch(`${s.url}/v1/cases/${enc(id)}/bundle`, { headers: auth(s.keys.audit) }));
    expect(await verifyBundle(bundle, pinned)).toMatchObject({ valid: true, facts: { caseId: id, itemCount: '1' } });
  });

  it('needs a key; 404 for a case without entries; 400 for a bad case id or query', async () => {
    expect((await problem(await fetch(`${s.url}/v1/cases/${enc(CASE)}`), 401)).code).toBe('UNAUTHORIZED');
    expect(await problem(await fetch(`${s.url}/v1/cases/${enc('衡环罚〔2026〕99号')}`, { headers: auth(s.keys.audit) }), 404)).toMatchObject({ code: 'NOT_FOUND', field: 'caseId' });
    expect(await problem(await fetch(`${s.url}/v1/cases/a%01b`, { headers: auth(s.keys.audit) }), 400)).toMatchObject({ field: 'caseId' });
    expect(await problem(await fetch(`${s.url}/v1/cases/${'x'.repeat(129)}`, { headers: auth(s.keys.audit) }), 400)).toMatchObject({ field: 'caseId' });
    expect(await problem(await fetch(`${s.url}/v1/cases/${enc(CASE)}?limit=0`, { headers: auth(s.keys.audit) }), 400)).toMatchObject({ field: 'limit' });
    expect(await problem(await fetch(`${s.url}/v1/cases/${enc(CASE)}?colour=red`, { headers: auth(s.keys.audit) }), 400)).toMatchObject({ field: 'colour' });
  });
});

describe('GET /v1/cases/{caseId}/bundle', () => {
  it('answers one bundle that verifies offline as a unit, with the files', async () => {
    const res = await fetch(`${s.url}/v1/cases/${enc(CASE)}/bundle`, { headers: auth(s.keys.audit) });
    const bundle = await json(res);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="case.bundle.json"; filename*=UTF-8''${enc(`${CASE}.bundle.json`)}`);
    expect(res.headers.get('cache-control')).toBe('private, no-cache');
    expect(bundle).toMatchObject({ format: 'guzheng-bundle/v2', caseId: CASE, verifierKey: s.ledger.verifierKey });
    expect(bundle.items.map((i: { index: string }) => i.index)).toEqual(indexes);
    expect(bundle.manifest.map((m: { name?: string; type: string }) => m.name ?? m.type)).toEqual(['处罚决定书.pdf', 'record', 'photo-0012.jpg']);
    const r = await verifyBundle(bundle, {
      ...pinned,
      files: [
        { label: '处罚决定书.pdf', content: { bytes: pdf } },
        { label: 'inspection.json', content: { record } },
        { label: 'photo-0012.jpg', content: { bytes: photo } },
      ],
    });
    expect(r.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.facts.treeSize).toBe(String(s.ledger.checkpointSize));
  });

  it('needs a key; 404 for a case without entries', async () => {
    expect((await problem(await fetch(`${s.url}/v1/cases/${enc(CASE)}/bundle`), 401)).code).toBe('UNAUTHORIZED');
    expect(await problem(await fetch(`${s.url}/v1/cases/nope/bundle`, { headers: auth(s.keys.submit) }), 404)).toMatchObject({ code: 'NOT_FOUND', field: 'caseId' });
  });
});

describe('entries not yet covered by a checkpoint', () => {
  let slow: TestServer;
  beforeAll(async () => {
    slow = await startServer({ config: { receiptWaitMs: 50 }, ledger: { checkpointIntervalMs: 60_000, receiptIntervalMs: 60_000 } });
    await json(await postJson(`${slow.url}/v1/entries`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('a') }, meta: { caseId: CASE } }, slow.keys.submit), 201);
  });
  afterAll(() => slow.destroy());

  it('are listed without a receipt, and the bundle is 503 RECEIPT_PENDING', async () => {
    const body = await json(await fetch(`${slow.url}/v1/cases/${enc(CASE)}`, { headers: auth(slow.keys.audit) }));
    expect(body.entries).toHaveLength(1);
    expect(body.entries[0].receipt).toBeUndefined();
    const res = await fetch(`${slow.url}/v1/cases/${enc(CASE)}/bundle`, { headers: auth(slow.keys.audit) });
    expect(res.headers.get('retry-after')).toBe('60');
    expect((await problem(res, 503)).code).toBe('RECEIPT_PENDING');
  });
});

describe('long case numbers', () => {
  it('anchors a case number of 128 Chinese characters (384 UTF-8 bytes) in the same flush as other entries, and finds and lists it', async () => {
    const long = '衡'.repeat(127) + '号';
    const posts = Array.from({ length: 20 }, (_, i) =>
      postJson(`${s.url}/v1/entries`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(`long-${i}`) }, meta: { caseId: i % 2 === 0 ? long : '衡环罚〔2026〕99号' } }, s.keys.submit),
    );
    for (const res of await Promise.all(posts)) expect(res.status, await res.clone().text()).toBe(201);
    const listed = await json(await fetch(`${s.url}/v1/cases/${enc(long)}?limit=100`, { headers: auth(s.keys.audit) }));
    expect(listed.entries).toHaveLength(10);
    await expect
      .poll(async () => (await json(await fetch(`${s.url}/v1/cases?prefix=${enc('衡衡衡')}`, { headers: auth(s.keys.audit) }))).cases.map((c: { caseId: string; entries: number }) => `${c.caseId.length}:${c.entries}`), { timeout: 10_000 })
      .toEqual(['128:10']);
  });
});
