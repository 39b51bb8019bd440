import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendResultSchema, storedEntrySchema } from '../../src/http/schemas.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { auth, json, pinned, postJson, problem, sha256Hex, startServer, type TestServer } from './helpers.js';

const HEX = 'a'.repeat(64);
const digestEntry = (i: number, meta: Record<string, unknown> = {}) => ({ type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(`doc ${i}`) }, meta });

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.destroy());

const size = () => s.ledger.sequencer.size;

describe('POST /v1/entries', () => {
  it('anchors a record: digest = SHA-256 of its RFC 8785 form, record stored, 201 + Location', async () => {
    const res = await postJson(`${s.url}/v1/entries`, { type: 'record', record: { b: [1, 2.5], a: '水质' }, meta: { caseId: '衡环罚〔2026〕12号', dataTime: '2026-03-01T08:00:00+08:00' } }, s.keys.submit);
    const r = await json(res, 201);
    expect(appendResultSchema.parse(r)).toBeTruthy();
    expect(r.index).toMatch(/^(0|[1-9][0-9]*)$/);
    expect(res.headers.get('location')).toBe(`/v1/entries/${r.index}`);
    expect(r.digest).toEqual({ alg: 'sha256', hex: sha256Hex('{"a":"水质","b":[1,2.5]}') });
    expect(r.entry).toMatchObject({ v: 1, type: 'record', submitter: s.keyIds.submit, meta: { caseId: '衡环罚〔2026〕12号' } });
    expect(r.receipt).toBeUndefined();

    const got = await json(await fetch(`${s.url}/v1/entries/${r.index}`, { headers: auth(s.keys.audit) }));
    expect(storedEntrySchema.parse(got)).toBeTruthy();
    expect(got.record).toEqual({ a: '水质', b: [1, 2.5] });
    expect(got.entry).toEqual(r.entry);
    const data = Buffer.from(got.data, 'base64');
    expect(JSON.parse(data.toString('utf8'))).toEqual(r.entry);
    expect(got.leafHash).toBe(sha256Hex(Buffer.concat([Buffer.from([0]), data])));
    expect(got.leafHash).toBe(r.leafHash);
  });

  it('anchors a client-computed digest; meta is optional', async () => {
    const r = await json(await postJson(`${s.url}/v1/entries`, { type: 'digest', digest: { alg: 'sha256', hex: HEX } }, s.keys.submit), 201);
    expect(r.entry).toMatchObject({ type: 'digest', digest: { alg: 'sha256', hex: HEX }, meta: {} });
  });

  it('keeps a __proto__ key of a record as data (hashed and stored as sent)', async () => {
    const body = '{"type":"record","record":{"__proto__":{"x":1},"a":1}}';
    const r = await json(await fetch(`${s.url}/v1/entries`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth(s.keys.submit) }, body }), 201);
    expect(r.digest.hex).toBe(sha256Hex('{"__proto__":{"x":1},"a":1}'));
  });

  it('?wait=receipt returns a receipt that verifies offline with the pinned key and the record', async () => {
    const record = { station: 'HS-001', cod: 12.5 };
    const r = await json(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'record', record }, s.keys.submit), 201);
    expect(r.receipt).toMatchObject({ format: 'guzheng-receipt/v2', index: r.index, leafHash: r.leafHash });
    const report = await verifyReceipt(r.receipt, { ...pinned, content: { record } });
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report.valid).toBe(true);
    expect((await verifyReceipt(r.receipt, { ...pinned, content: { record: { ...record, cod: 12.6 } } })).valid).toBe(false);
  });

  it('names the offending field and writes nothing for invalid input', async () => {
    const before = size();
    const cases: Array<[unknown, string]> = [
      [{ type: 'record', meta: {} }, 'record'],
      [{ type: 'record', record: [1, 2] }, 'record'],
      [{ type: 'digest', digest: { alg: 'sha256', hex: 'AB'.repeat(32) } }, 'digest.hex'],
      [{ type: 'digest', digest: { alg: 'sm3', hex: HEX } }, 'digest.alg'],
      [{ type: 'digest' }, 'digest'],
      [{ type: 'digest', digest: { alg: 'sha256', hex: HEX }, meta: { caseId: '' } }, 'meta.caseId'],
      [{ type: 'digest', digest: { alg: 'sha256', hex: HEX }, meta: { caseId: 'x'.repeat(129) } }, 'meta.caseId'],
      [{ type: 'digest', digest: { alg: 'sha256', hex: HEX }, meta: { size: -1 } }, 'meta.size'],
      [{ type: 'digest', digest: { alg: 'sha256', hex: HEX }, meta: { colour: 'red' } }, 'meta.colour'],
      [{ type: 'record', record: {}, meta: { dataTime: '2026-02-30T00:00:00Z' } }, 'meta.dataTime'],
      [{ type: 'document', digest: { alg: 'sha256', hex: HEX }, meta: {} }, 'type'],
      [{}, 'type'],
      [{ type: 'digest', digest: { alg: 'sha256', hex: HEX }, extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const p = await problem(await postJson(`${s.url}/v1/entries`, body, s.keys.submit), 400);
      expect(p, JSON.stringify(body)).toMatchObject({ code: 'INPUT_INVALID', field, type: '/problems/input-invalid', title: 'Invalid input' });
      expect(p.detail.startsWith(`${field}: `)).toBe(true);
    }
    // A lone surrogate can only be written as a JSON escape.
    const lone = await fetch(`${s.url}/v1/entries`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth(s.keys.submit) }, body: '{"type":"record","record":{"a":"\\ud800"}}' });
    expect(await problem(lone, 400)).toMatchObject({ field: 'record', detail: expect.stringContaining('record.a: lone surrogate') });
    expect(size()).toBe(before);
  });

  it('rejects ?wait other than receipt and unknown query parameters', async () => {
    const body = digestEntry(1);
    expect(await problem(await postJson(`${s.url}/v1/entries?wait=checkpoint`, body, s.keys.submit), 400)).toMatchObject({ field: 'wait' });
    expect(await problem(await postJson(`${s.url}/v1/entries?colour=red`, body, s.keys.submit), 400)).toMatchObject({ field: 'colour' });
  });

  it('answers malformed JSON 400, a wrong Content-Type 415, a missing body 400, an oversized body 413', async () => {
    const before = size();
    const post = (body: string | undefined, type?: string) =>
      fetch(`${s.url}/v1/entries`, { method: 'POST', headers: { ...(type ? { 'Content-Type': type } : {}), ...auth(s.keys.submit) }, ...(body !== undefined ? { body } : {}) });
    expect(await problem(await post('{"type":', 'application/json'), 400)).toMatchObject({ code: 'MALFORMED_JSON', field: 'body' });
    expect(await problem(await post('"a string"', 'application/json'), 400)).toMatchObject({ code: 'MALFORMED_JSON' });
    expect(await problem(await post(JSON.stringify(digestEntry(2)), 'text/plain'), 415)).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', field: 'Content-Type' });
    expect(await problem(await post(undefined), 400)).toMatchObject({ code: 'INPUT_INVALID', field: 'body' });
    const big = JSON.stringify({ type: 'record', record: { blob: 'x'.repeat((1 << 20) + 10) } });
    expect(await problem(await post(big, 'application/json'), 413)).toMatchObject({ code: 'BODY_TOO_LARGE', field: 'body' });
    expect(await problem(await post(JSON.stringify(digestEntry(3)), 'application/json; charset=latin1'), 415)).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(size()).toBe(before);
  });
});

describe('POST /v1/entries/batch', () => {
  it('anchors a batch with consecutive indexes in request order', async () => {
    const entries = [digestEntry(10), { type: 'record', record: { n: 11 } }, digestEntry(12, { name: 'a.pdf' })];
    const r = await json(await postJson(`${s.url}/v1/entries/batch`, { entries }, s.keys.submit), 201);
    expect(r.results).toHaveLength(3);
    const first = BigInt(r.results[0].index);
    r.results.forEach((x: { index: string }, i: number) => expect(x.index).toBe(String(first + BigInt(i))));
    expect(r.results[1].digest.hex).toBe(sha256Hex('{"n":11}'));
  });

  it('is all or nothing: one invalid entry rejects the batch, naming entries[i].field', async () => {
    const before = size();
    const entries = [digestEntry(20), digestEntry(21), { type: 'digest', digest: { alg: 'sha256', hex: 'zz' } }];
    const p = await problem(await postJson(`${s.url}/v1/entries/batch`, { entries }, s.keys.submit), 400);
    expect(p).toMatchObject({ code: 'INPUT_INVALID', field: 'entries[2].digest.hex' });
    expect(size()).toBe(before);
    const look = await json(await fetch(`${s.url}/v1/lookup/sha256/${sha256Hex('doc 20')}`));
    expect(look.anchorings).toEqual([]);
  });

  it('takes 1,000 entries and refuses 1,001 or none', async () => {
    const before = size();
    const many = (n: number) => Array.from({ length: n }, (_, i) => digestEntry(100_000 + i));
    expect(await problem(await postJson(`${s.url}/v1/entries/batch`, { entries: many(1001) }, s.keys.submit), 400)).toMatchObject({ field: 'entries' });
    expect(await problem(await postJson(`${s.url}/v1/entries/batch`, { entries: [] }, s.keys.submit), 400)).toMatchObject({ field: 'entries' });
    expect(await problem(await postJson(`${s.url}/v1/entries/batch`, [digestEntry(1)], s.keys.submit), 400)).toMatchObject({ field: 'body' });
    expect(size()).toBe(before);
    const r = await json(await postJson(`${s.url}/v1/entries/batch`, { entries: many(1000) }, s.keys.submit), 201);
    expect(r.results).toHaveLength(1000);
    expect(size()).toBe(before + 1000n);
  });

  it('?wait=receipt gives every entry a valid receipt', async () => {
    const records = [{ k: 1 }, { k: 2 }, { k: 3 }];
    const r = await json(await postJson(`${s.url}/v1/entries/batch?wait=receipt`, { entries: records.map((record) => ({ type: 'record', record })) }, s.keys.submit), 201);
    for (const [i, x] of (r.results as Array<{ receipt: unknown }>).entries()) expect((await verifyReceipt(x.receipt, { ...pinned, content: { record: records[i] } })).valid).toBe(true);
  });
});

describe('GET /v1/entries', () => {
  it('reads one entry; 404 beyond the log; 400 for a non-canonical index', async () => {
    expect(await problem(await fetch(`${s.url}/v1/entries/${size() + 5n}`, { headers: auth(s.keys.audit) }), 404)).toMatchObject({ code: 'NOT_FOUND', field: 'index' });
    expect(await problem(await fetch(`${s.url}/v1/entries/18446744073709551615`, { headers: auth(s.keys.audit) }), 404)).toMatchObject({ code: 'NOT_FOUND' });
    for (const bad of ['01', '-1', '1e3', '0x10', '1.0', '%201', '18446744073709551616', '99999999999999999999999']) {
      expect(await problem(await fetch(`${s.url}/v1/entries/${bad}`, { headers: auth(s.keys.audit) }), 400), bad).toMatchObject({ code: 'INPUT_INVALID', field: 'index' });
    }
  });

  it('lists pages with start, limit and next; records included', async () => {
    const total = size();
    const p1 = await json(await fetch(`${s.url}/v1/entries?start=0&limit=2`, { headers: auth(s.keys.audit) }));
    expect(p1.entries.map((e: { index: string }) => e.index)).toEqual(['0', '1']);
    expect(p1.next).toBe('2');
    expect(p1.entries[0].record).toEqual({ a: '水质', b: [1, 2.5] });
    const all = await json(await fetch(`${s.url}/v1/entries?limit=1000`, { headers: auth(s.keys.audit) }));
    expect(all.entries).toHaveLength(1000);
    const last = await json(await fetch(`${s.url}/v1/entries?start=${total - 1n}`, { headers: auth(s.keys.audit) }));
    expect(last.entries).toHaveLength(1);
    expect(last.next).toBeUndefined();
    const beyond = await json(await fetch(`${s.url}/v1/entries?start=${total + 10n}`, { headers: auth(s.keys.audit) }));
    expect(beyond).toEqual({ entries: [] });
    for (const [q, field] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=01', 'limit'], ['start=-1', 'start'], ['start=1e3', 'start'], ['start=1&start=2', 'start'], ['page=2', 'page']]) {
      expect(await problem(await fetch(`${s.url}/v1/entries?${q}`, { headers: auth(s.keys.audit) }), 400), q).toMatchObject({ field });
    }
  });
});
