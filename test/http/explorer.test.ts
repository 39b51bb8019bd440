/**
 * The explorer and officer reads over real HTTP (127.0.0.1, LevelDB in a temp directory):
 * GET /v1/search (every kind of query, a gm log's SM3 digest, a wrong evidence number),
 * GET /v1/stats/entries and /v1/stats/hj212 (Asia/Shanghai days across a day boundary, with the
 * ledger's clock), GET /v1/cases (order, paging, prefix, roles) and GET /v1/admin/health.
 * The event stream is in explorer-events.test.ts, the public URL in explorer-public-url.test.ts.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestBytes } from '../../src/core/entry/index.js';
import { generateSignerKey } from '../../src/core/note.js';
import type { EntryInput } from '../../src/log/ledger.js';
import { auth, json, postJson, problem, sha256Hex, startServer, type TestServer } from './helpers.js';

interface Result {
  kind: 'entry' | 'block';
  index?: string;
  leafHash?: string;
  height?: string;
  match: string;
}

async function search(s: TestServer, q: string): Promise<Result[]> {
  const body = await json<{ query: string; results: Result[] }>(await fetch(`${s.url}/v1/search?q=${encodeURIComponent(q)}`));
  expect(body.query).toBe(q.trim());
  return body.results;
}

describe('GET /v1/search', () => {
  let s: TestServer;
  let entry: { index: string; leafHash: string; digest: { alg: string; hex: string } };

  beforeAll(async () => {
    s = await startServer();
    await json(await postJson(`${s.url}/v1/entries/batch?wait=receipt`, { entries: [0, 1, 2].map((i) => ({ type: 'record', record: { i } })) }, s.keys.submit), 201);
    entry = await json(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('the search document') } }, s.keys.submit), 201);
    // The same content anchored again: a digest finds every anchoring.
    await json(await postJson(`${s.url}/v1/entries?wait=receipt`, { type: 'digest', digest: { alg: 'sha256', hex: sha256Hex('the search document') } }, s.keys.submit), 201);
  });
  afterAll(() => s.destroy());

  it('finds a content digest (every anchoring) and a leaf hash, in any case of hex', async () => {
    expect(await search(s, entry.digest.hex)).toEqual([
      { kind: 'entry', index: '3', leafHash: entry.leafHash, match: 'digest' },
      { kind: 'entry', index: '4', leafHash: expect.stringMatching(/^[0-9a-f]{64}$/), match: 'digest' },
    ]);
    expect(await search(s, `  ${entry.leafHash.toUpperCase()} `)).toEqual([{ kind: 'entry', index: '3', leafHash: entry.leafHash, match: 'leafHash' }]);
    expect(await search(s, sha256Hex('never anchored'))).toEqual([]);
  });

  it('finds an entry index and a block height for a decimal, where they exist', async () => {
    const height = BigInt((await json<{ height: string }>(await fetch(`${s.url}/v1/log`))).height);
    expect(height).toBeGreaterThanOrEqual(3n);
    const zero = await search(s, '0');
    expect(zero).toEqual([
      { kind: 'entry', index: '0', leafHash: expect.stringMatching(/^[0-9a-f]{64}$/), match: 'index' },
      { kind: 'block', height: '0', match: 'height' },
    ]);
    expect(await search(s, '4')).toEqual([expect.objectContaining({ kind: 'entry', index: '4' }), ...(height >= 4n ? [{ kind: 'block', height: '4', match: 'height' }] : [])]);
    expect(await search(s, '5')).toEqual(height >= 5n ? [{ kind: 'block', height: '5', match: 'height' }] : []);
    expect(await search(s, '99999')).toEqual([]);
    expect(await search(s, '18446744073709551616')).toEqual([]);
    expect(await search(s, '01')).toEqual([]);
  });

  it('finds a block height as #N, block N, 区块 N', async () => {
    for (const q of ['#2', '# 2', 'block 2', 'Block 2', '区块 2', '区块2']) expect(await search(s, q), q).toEqual([{ kind: 'block', height: '2', match: 'height' }]);
    expect(await search(s, '#99999')).toEqual([]);
    expect(await search(s, 'block2')).toEqual([]);
  });

  it('finds an evidence number only when its 12 hex digits begin the leaf hash', async () => {
    const number = `GZ-${entry.index}-${entry.leafHash.slice(0, 12)}`;
    expect(await search(s, number)).toEqual([{ kind: 'entry', index: entry.index, leafHash: entry.leafHash, match: 'evidenceNumber' }]);
    expect(await search(s, number.toLowerCase())).toHaveLength(1);
    const wrong = `GZ-${entry.index}-${(entry.leafHash[0] === '0' ? '1' : '0') + entry.leafHash.slice(1, 12)}`;
    expect(await search(s, wrong)).toEqual([]);
    expect(await search(s, `GZ-0-${entry.leafHash.slice(0, 12)}`)).toEqual([]);
    expect(await search(s, `GZ-99999-${entry.leafHash.slice(0, 12)}`)).toEqual([]);
  });

  it('answers nothing for other text, 400 for an empty, missing or too long q', async () => {
    expect(await search(s, 'hello')).toEqual([]);
    expect(await search(s, 'a'.repeat(63))).toEqual([]);
    expect((await problem(await fetch(`${s.url}/v1/search?q=%20%20`), 400)).field).toBe('q');
    expect((await problem(await fetch(`${s.url}/v1/search`), 400)).field).toBe('q');
    expect((await problem(await fetch(`${s.url}/v1/search?q=${'1'.repeat(201)}`), 400)).field).toBe('q');
    expect(await search(s, ` ${'1'.repeat(199)} `)).toEqual([]);
    expect((await problem(await fetch(`${s.url}/v1/search?q=1&x=2`), 400)).field).toBe('x');
  });

  it('in a gm log, takes the SM3 content digest (not the SHA-256 one)', async () => {
    const gm = await startServer({ ledger: { signerKey: generateSignerKey('guzheng.test/gm-search', new Uint8Array(32).fill(9), 'sm2').signerKey } });
    try {
      const bytes = new TextEncoder().encode('a gm document');
      const sm3 = createHash('sm3').update(bytes).digest('hex');
      const r = await json<{ index: string; leafHash: string }>(await postJson(`${gm.url}/v1/entries`, { type: 'digest', digest: digestBytes(bytes, 'sm3') }, gm.keys.submit), 201);
      expect(await search(gm, sm3)).toEqual([{ kind: 'entry', index: r.index, leafHash: r.leafHash, match: 'digest' }]);
      expect(await search(gm, sha256Hex(bytes))).toEqual([]);
      expect(await search(gm, r.leafHash)).toEqual([{ kind: 'entry', index: r.index, leafHash: r.leafHash, match: 'leafHash' }]);
    } finally {
      await gm.destroy();
    }
  });
});

describe('GET /v1/stats/entries and /v1/stats/hj212', () => {
  let s: TestServer;
  const clock = { now: new Date('2025-03-01T15:30:00.000Z') }; // 23:30 on Mar 1 in Shanghai

  function packet(mn: string): EntryInput {
    const raw = new TextEncoder().encode(`##0101QN=1;ST=22;CN=2011;MN=${mn};CP=&&${Math.random()}&&0000\r\n`);
    return { type: 'hj212', raw, digest: digestBytes(raw), meta: { mn, pollutants: [], crc: { ok: true, variant: 'hj212-2017' }, parserVersion: 'test/1' } };
  }

  beforeAll(async () => {
    s = await startServer({ ledger: { clock: () => clock.now, summaries: { flushIntervalMs: 20 } } });
    await json(await postJson(`${s.url}/v1/entries/batch?wait=receipt`, { entries: [0, 1].map((i) => ({ type: 'record', record: { i } })) }, s.keys.submit), 201);
    const a = await s.ledger.append([packet('MN-1'), packet('MN-1'), packet('MN-2')], 'key-test');
    await s.ledger.waitWitnessed((a.at(-1)?.index ?? 0n) + 1n, 5000);
    clock.now = new Date('2025-03-01T16:30:00.000Z'); // 00:30 on Mar 2
    const b = await s.ledger.append([packet('MN-2'), packet('MN-2'), packet('MN-3')], 'key-test');
    await s.ledger.waitWitnessed((b.at(-1)?.index ?? 0n) + 1n, 5000);
    await s.ledger.summaries!.flush();
  });
  afterAll(() => s.destroy());

  it('counts per Asia/Shanghai day and per UTC hour, every bucket of the range', async () => {
    const days = await json(await fetch(`${s.url}/v1/stats/entries?by=day&from=2025-03-01&to=2025-03-03`));
    const blocks = Number(await s.store.getBlockCount());
    expect(days).toEqual({
      by: 'day',
      from: '2025-03-01T00:00:00+08:00',
      to: '2025-03-03T00:00:00+08:00',
      buckets: [
        { start: '2025-03-01T00:00:00+08:00', entries: 5, blocks: blocks - 1 },
        { start: '2025-03-02T00:00:00+08:00', entries: 3, blocks: 1 },
      ],
      upTo: String(blocks),
    });
    const hours = await json<{ buckets: unknown[] }>(await fetch(`${s.url}/v1/stats/entries?by=hour&from=2025-03-01T14:00Z&to=${encodeURIComponent('2025-03-02T01:00:00+08:00')}`));
    expect(hours.buckets).toEqual([
      { start: '2025-03-01T14:00:00Z', entries: 0, blocks: 0 },
      { start: '2025-03-01T15:00:00Z', entries: 5, blocks: blocks - 1 },
      { start: '2025-03-01T16:00:00Z', entries: 3, blocks: 1 },
    ]);
    // Defaults: the last 48 hours and 30 days before now (the log's clock is in the past here).
    expect((await json<{ buckets: unknown[] }>(await fetch(`${s.url}/v1/stats/entries`))).buckets).toHaveLength(48);
    expect((await json<{ buckets: unknown[] }>(await fetch(`${s.url}/v1/stats/entries?by=day`))).buckets).toHaveLength(30);
  });

  it('refuses bad and too wide ranges', async () => {
    for (const q of ['by=week', 'from=2026-02-30', 'from=2025-03-01T02:00', 'to=yesterday', 'from=2025-03-03&to=2025-03-01', 'by=hour&from=2026-01-01&to=2026-03-01', 'by=day&from=2020-01-01&to=2026-01-01', 'x=1']) {
      await problem(await fetch(`${s.url}/v1/stats/entries?${q}`), 400);
    }
    for (const q of ['from=2026-01-01&to=2026-03-01', 'from=2025-03-01&to=2025-03-01', 'from=1']) await problem(await fetch(`${s.url}/v1/stats/hj212?${q}`), 400);
  });

  it('counts HJ 212 packets per device per day, devices with the most first', async () => {
    const body = await json(await fetch(`${s.url}/v1/stats/hj212?from=2025-03-01&to=2025-03-03`));
    expect(body).toEqual({
      from: '2025-03-01T00:00:00+08:00',
      to: '2025-03-03T00:00:00+08:00',
      devices: [
        { mn: 'MN-2', packets: 3, days: [{ day: '2025-03-01', packets: 1 }, { day: '2025-03-02', packets: 2 }] },
        { mn: 'MN-1', packets: 2, days: [{ day: '2025-03-01', packets: 2 }] },
        { mn: 'MN-3', packets: 1, days: [{ day: '2025-03-02', packets: 1 }] },
      ],
      upTo: '8',
    });
    expect((await json<{ devices: unknown[] }>(await fetch(`${s.url}/v1/stats/hj212?from=2025-03-02&to=2025-03-03`))).devices).toHaveLength(2);
    expect((await json<{ devices: unknown[] }>(await fetch(`${s.url}/v1/stats/hj212`))).devices).toEqual([]);
  });
});

describe('GET /v1/cases', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ ledger: { summaries: { flushIntervalMs: 20 } } });
    const add = async (caseIds: string[]) => {
      await json(await postJson(`${s.url}/v1/entries/batch`, { entries: caseIds.map((caseId, i) => ({ type: 'record', record: { i, caseId }, meta: { caseId } })) }, s.keys.submit), 201);
      await s.ledger.summaries!.flush();
    };
    await add(['衡环罚〔2026〕1号', 'B-1', '衡环罚〔2026〕2号']);
    await add(['B-2', '衡环罚〔2026〕1号']);
    await add(['B-3']);
  });
  afterAll(() => s.destroy());

  it('needs a submit or audit key (401 without)', async () => {
    await problem(await fetch(`${s.url}/v1/cases`), 401);
    for (const role of ['submit', 'audit', 'admin'] as const) await json(await fetch(`${s.url}/v1/cases`, { headers: auth(s.keys[role]) }));
  });

  it('lists the most recently touched first, paged with next as before', async () => {
    const first = await json(await fetch(`${s.url}/v1/cases?limit=2`, { headers: auth(s.keys.audit) }));
    expect(first).toEqual({
      cases: [
        { caseId: 'B-3', entries: 1, firstIndex: '5', lastIndex: '5', lastAt: expect.any(String) },
        { caseId: '衡环罚〔2026〕1号', entries: 2, firstIndex: '0', lastIndex: '4', lastAt: expect.any(String) },
      ],
      next: '4',
      upTo: '6',
    });
    const second = await json<{ cases: Array<{ caseId: string }>; next?: string }>(await fetch(`${s.url}/v1/cases?limit=2&before=4`, { headers: auth(s.keys.audit) }));
    expect(second.cases.map((c) => c.caseId)).toEqual(['B-2', '衡环罚〔2026〕2号']);
    const third = await json<{ cases: Array<{ caseId: string }>; next?: string }>(await fetch(`${s.url}/v1/cases?limit=2&before=${second.next}`, { headers: auth(s.keys.audit) }));
    expect([third.cases.map((c) => c.caseId), third.next]).toEqual([['B-1'], undefined]);
  });

  it('filters by prefix, in case id order, paged', async () => {
    const q = (p: string) => fetch(`${s.url}/v1/cases?${p}`, { headers: auth(s.keys.submit) });
    const a = await json<{ cases: Array<{ caseId: string }>; next?: string }>(await q(`prefix=${encodeURIComponent('衡环罚')}&limit=1`));
    expect([a.cases.map((c) => c.caseId), a.next]).toEqual([['衡环罚〔2026〕1号'], '衡环罚〔2026〕1号']);
    const b = await json<{ cases: Array<{ caseId: string }>; next?: string }>(await q(`prefix=${encodeURIComponent('衡环罚')}&limit=1&before=${encodeURIComponent(a.next!)}`));
    expect([b.cases.map((c) => c.caseId), b.next]).toEqual([['衡环罚〔2026〕2号'], undefined]);
    expect((await json<{ cases: Array<{ caseId: string }> }>(await q('prefix=B-'))).cases.map((c) => c.caseId)).toEqual(['B-1', 'B-2', 'B-3']);
    expect((await json<{ cases: unknown[] }>(await q('prefix=Z'))).cases).toEqual([]);
  });

  it('refuses a bad cursor, prefix or limit', async () => {
    const q = (p: string) => fetch(`${s.url}/v1/cases?${p}`, { headers: auth(s.keys.submit) });
    expect((await problem(await q('before=x'), 400)).field).toBe('before');
    expect((await problem(await q('before=01'), 400)).field).toBe('before');
    expect((await problem(await q('prefix=B-&before=A-1'), 400)).field).toBe('before');
    expect((await problem(await q('prefix='), 400)).field).toBe('prefix');
    expect((await problem(await q('prefix=%01'), 400)).field).toBe('prefix');
    expect((await problem(await q('limit=0'), 400)).field).toBe('limit');
    expect((await problem(await q('limit=1001'), 400)).field).toBe('limit');
  });
});

describe('GET /v1/admin/health', () => {
  it('is /healthz plus the gateway, the summaries, the event streams and the checkpoint age, for admins only', async () => {
    const s = await startServer({ deps: { hj212: { status: () => ({ address: '127.0.0.1:7212', connections: 3, maxConnections: 10 }) } } });
    try {
      await problem(await fetch(`${s.url}/v1/admin/health`), 401);
      await problem(await fetch(`${s.url}/v1/admin/health`, { headers: auth(s.keys.submit) }), 403);
      await s.ledger.summaries!.flush();
      const h = await json(await fetch(`${s.url}/v1/admin/health`, { headers: auth(s.keys.admin) }));
      const { status, size, checkpointSize, queued, storage, tsa } = await json(await fetch(`${s.url}/healthz`));
      expect(h).toEqual({
        status,
        size,
        checkpointSize,
        queued,
        storage,
        tsa,
        hj212: { state: 'running', address: '127.0.0.1:7212', connections: 3, maxConnections: 10 },
        summaries: { state: expect.stringMatching(/^(current|catching-up)$/), blocks: { upTo: '1', behind: '0' }, entries: { upTo: '0', behind: '0' } },
        events: { clients: 0 },
        checkpoint: { size: '0', height: '0', time: s.ledger.latest().block.time, ageSeconds: expect.any(Number) },
      });
      expect(h.checkpoint.ageSeconds).toBeGreaterThanOrEqual(0);
      expect(h.checkpoint.ageSeconds).toBeLessThan(60);
    } finally {
      await s.destroy();
    }
    const off = await startServer({ ledger: { summaries: false } });
    try {
      const h = await json<{ hj212: unknown; summaries: unknown }>(await fetch(`${off.url}/v1/admin/health`, { headers: auth(off.keys.admin) }));
      expect([h.hj212, h.summaries]).toEqual([{ state: 'off' }, { state: 'off' }]);
      expect((await problem(await fetch(`${off.url}/v1/stats/entries`), 503)).code).toBe('UNAVAILABLE');
    } finally {
      await off.destroy();
    }
  });
});
