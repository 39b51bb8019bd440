import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/core/errors.js';
import { resolveHttpConfig } from '../../src/http/config.js';
import { HttpProblem, toProblem } from '../../src/http/errors.js';
import { LogClosedError, OverloadedError } from '../../src/log/sequencer.js';
import { json, postJson, problem, sha256Hex, startServer } from './helpers.js';

const opts = { retryAfterSeconds: 3 };

describe('toProblem (the one error mapper)', () => {
  it('maps core input errors to 400 naming the field from the message', () => {
    const { problem } = toProblem(new LedgerError('INPUT_INVALID', 'record.readings[2]: got NaN, want a finite number'), opts);
    expect(problem).toEqual({ type: '/problems/input-invalid', title: 'Invalid input', status: 400, detail: 'record.readings[2]: got NaN, want a finite number', code: 'INPUT_INVALID', field: 'record.readings[2]' });
    expect(toProblem(new LedgerError('ENTRY_INVALID', 'entry: got 70000 bytes, want at most 65535'), opts).problem).toMatchObject({ status: 400, code: 'ENTRY_INVALID', field: 'entry' });
    expect(toProblem(new LedgerError('DIGEST_MISMATCH', 'x'), opts).problem).toMatchObject({ status: 422, code: 'DIGEST_MISMATCH' });
  });

  it('hides internal failures behind an opaque 500', () => {
    for (const err of [new LedgerError('PROOF_INVALID', 'invalid proof'), new Error('storage: node 3/7 missing'), 'a string', undefined]) {
      const r = toProblem(err, opts);
      expect(r.internal).toBe(true);
      expect(r.problem).toEqual({ type: '/problems/internal', title: 'Internal server error', status: 500, detail: 'internal error', code: 'INTERNAL' });
    }
  });

  it('maps overload and shutdown to 503 with Retry-After', () => {
    expect(toProblem(new OverloadedError(5), opts)).toMatchObject({ problem: { status: 503, code: 'OVERLOADED' }, headers: { 'Retry-After': '3' } });
    expect(toProblem(new LogClosedError(), opts)).toMatchObject({ problem: { status: 503, code: 'UNAVAILABLE' }, headers: { 'Retry-After': '3' } });
  });

  it('keeps an HttpProblem as raised', () => {
    const p = new HttpProblem(429, 'RATE_LIMITED', 'slow down', { headers: { 'Retry-After': '2' } });
    expect(toProblem(p, opts)).toMatchObject({ problem: { status: 429, code: 'RATE_LIMITED', detail: 'slow down', title: 'Too many requests' }, headers: { 'Retry-After': '2' } });
  });
});

describe('HTTP config', () => {
  it('applies defaults and rejects bad values naming them', () => {
    expect(resolveHttpConfig({})).toMatchObject({ maxJsonBytes: 1 << 20, maxBatchJsonBytes: 64 << 20, maxBatchEntries: 1000, maxDocumentBytes: 2 * 1024 ** 3, rateLimitPerKey: 1000, rateLimitBurst: 2000 });
    expect(() => resolveHttpConfig({ maxBatchEntries: 1001 })).toThrow(/maxBatchEntries/);
    expect(() => resolveHttpConfig({ maxDocumentBytes: 0 })).toThrow(/maxDocumentBytes/);
    expect(() => resolveHttpConfig({ rateLimitPerKey: -1 })).toThrow(/rateLimitPerKey/);
    expect(resolveHttpConfig({ rateLimitPerKey: 0 }).rateLimitBurst).toBe(1);
  });
});

describe('over HTTP', () => {
  it('answers 503 + Retry-After when the log queue is full, writing nothing', async () => {
    const s = await startServer({ ledger: { sequencer: { maxQueuedEntries: 2 } } });
    try {
      const entries = [1, 2, 3].map((i) => ({ type: 'digest', digest: { alg: 'sha256', hex: sha256Hex(`o${i}`) } }));
      const res = await postJson(`${s.url}/v1/entries/batch`, { entries }, s.keys.submit);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await problem(res, 503)).toMatchObject({ code: 'OVERLOADED', type: '/problems/overloaded' });
      expect(s.ledger.sequencer.size).toBe(0n);
      await json(await postJson(`${s.url}/v1/entries/batch`, { entries: entries.slice(0, 2) }, s.keys.submit), 201);
    } finally {
      await s.destroy();
    }
  });

  it('honours smaller configured JSON limits, per route', async () => {
    const s = await startServer({ config: { maxJsonBytes: 200, maxBatchJsonBytes: 400, maxBatchEntries: 2 } });
    try {
      const e = { type: 'record', record: { pad: 'x'.repeat(180) } };
      expect((await problem(await postJson(`${s.url}/v1/entries`, e, s.keys.submit), 413)).code).toBe('BODY_TOO_LARGE');
      await json(await postJson(`${s.url}/v1/entries/batch`, { entries: [e] }, s.keys.submit), 201);
      expect(await problem(await postJson(`${s.url}/v1/entries/batch`, { entries: [e, e, e] }, s.keys.submit), 413)).toMatchObject({ field: 'body' });
      const small = { type: 'record', record: {} };
      expect(await problem(await postJson(`${s.url}/v1/entries/batch`, { entries: [small, small, small] }, s.keys.submit), 400)).toMatchObject({ field: 'entries' });
      expect(s.ledger.sequencer.size).toBe(1n);
    } finally {
      await s.destroy();
    }
  });

  it('answers 405 with Allow for a known path and 404 for an unknown one', async () => {
    const s = await startServer();
    try {
      const res = await fetch(`${s.url}/v1/entries/0`, { method: 'DELETE' });
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      expect(await problem(res, 405)).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
      const put = await fetch(`${s.url}/v1/entries`, { method: 'PUT' });
      expect(put.headers.get('allow')).toBe('POST, GET, HEAD');
      await problem(put, 405);
      expect(await problem(await fetch(`${s.url}/nothing/here`), 404)).toMatchObject({ code: 'NOT_FOUND' });
      expect(await problem(await fetch(`${s.url}/v1/blocks/%E0`), 400)).toMatchObject({ code: 'INPUT_INVALID' });
    } finally {
      await s.destroy();
    }
  });
});
