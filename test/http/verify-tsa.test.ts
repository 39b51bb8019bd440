/**
 * `POST /v1/verify` on documents that carry RFC 3161 time stamps, from the real service started
 * with a real TSA (`openssl ts -reply` behind test/support/tsa): the service checks the tokens
 * against the TSA roots it pins (GUZHENG_TSA_CA), so a stamped receipt, tlog-proof or bundle is
 * valid with the time-stamp check passing, and the same document with one byte of its token
 * changed is invalid with exactly the time-stamp check failing (TIMESTAMP_INVALID).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64, toBase64 } from '../../src/core/bytes.js';
import { canonicalJson } from '../../src/core/entry/jcs.js';
import { parseReceipt } from '../../src/core/receipt.js';
import { receiptToTlogProof } from '../../src/core/tlog-proof.js';
import { alterGenTime } from '../support/tsa/forge.js';
import { opensslTokenFacts, type OpensslTokenFacts } from '../support/tsa/openssl.js';
import { anchorDocument, caughtUp, stampedReceipt, startStampingService, type StampedReceipt, type StampingService } from '../support/tsa/service.js';
import { sha256Hex } from './helpers.js';

const CASE = '衡环罚〔2026〕TS号';
const dir = mkdtempSync(join(tmpdir(), 'guzheng-http-verify-tsa-'));
let s: StampingService;
const docs = [new TextEncoder().encode('%PDF-1.7 现场检查笔录\n'), new TextEncoder().encode('\xff\xd8 photo 0001')];
let receipt: StampedReceipt;
let altered: StampedReceipt;
let token: OpensslTokenFacts;

interface Check {
  id: string;
  status: string;
  code?: string;
  message: string;
}
interface Answer {
  kind: string;
  valid: boolean;
  checks: Check[];
  facts: { timestamp?: { height: string; tokens: Array<Record<string, unknown>> } };
  items?: Array<{ index: string; valid: boolean; checks: Check[] }>;
  online: { logStillHolds?: boolean; consistency?: { ok: boolean } };
}

/** alterToken returns `stamp` with one byte of its first token's DER changed. */
function alterToken<T extends { tokens: string[] }>(stamp: T): T {
  return { ...stamp, tokens: [toBase64(alterGenTime(fromBase64(stamp.tokens[0] as string))), ...stamp.tokens.slice(1)] };
}

async function verify(body: unknown): Promise<Answer> {
  const res = await fetch(`${s.url}/v1/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as Answer;
}

const checkOf = (checks: Check[], id: string) => checks.find((c) => c.id === id);
const failed = (checks: Check[]) => checks.filter((c) => c.status === 'fail').map((c) => `${c.id}:${c.code}`);

beforeAll(async () => {
  s = await startStampingService({ dir, origin: 'guzheng.test/verify-tsa-http' });
  const indexes: bigint[] = [];
  for (const [i, d] of docs.entries()) indexes.push(await anchorDocument(s, `doc-${i}.pdf`, d, CASE));
  receipt = await stampedReceipt(s, indexes.at(-1) as bigint);
  await caughtUp(s);
  altered = { ...receipt, timestamp: alterToken(receipt.timestamp) };
  writeFileSync(join(dir, 'token.der'), fromBase64(receipt.timestamp.tokens[0] as string));
  token = await opensslTokenFacts(join(dir, 'token.der'));
}, 120_000);

afterAll(async () => {
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('POST /v1/verify with a time-stamped document', () => {
  it('a stamped receipt is valid with the timestamp check passing against the roots the service pins', async () => {
    const r = await verify({ receipt, digest: { alg: 'sha256', hex: sha256Hex(docs[1]!) } });
    expect(r.valid).toBe(true);
    expect(failed(r.checks)).toEqual([]);
    expect(checkOf(r.checks, 'timestamp')).toMatchObject({ status: 'pass', message: expect.stringContaining(`the entry existed no later than ${token.genTime} according to TSA ${token.tsa} (serial ${token.serial}`) });
    expect(r.facts.timestamp?.tokens).toEqual([expect.objectContaining({ verified: true, genTime: token.genTime, serial: token.serial, tsa: token.tsa, policy: token.policy })]);
    expect(r.online).toMatchObject({ logStillHolds: true, consistency: { ok: true } });
  });

  it('the same receipt with its token altered is invalid, with exactly the timestamp check failing', async () => {
    const r = await verify({ receipt: altered, digest: { alg: 'sha256', hex: sha256Hex(docs[1]!) } });
    expect(r.valid).toBe(false);
    expect(failed(r.checks)).toEqual(['timestamp:TIMESTAMP_INVALID']);
    expect(checkOf(r.checks, 'timestamp')?.message).toBe('time-stamp token: the CMS signature does not verify');
    // The log still holds the entry; only the token is wrong.
    expect(r.online).toMatchObject({ logStillHolds: true, consistency: { ok: true } });
  });

  it('as multipart/form-data with the file itself: the same verdicts', async () => {
    const post = async (doc: StampedReceipt) => {
      const form = new FormData();
      form.set('receipt', JSON.stringify(doc));
      form.set('file', new Blob([docs[1]!]), 'doc-1.pdf');
      const res = await fetch(`${s.url}/v1/verify`, { method: 'POST', body: form });
      expect(res.status).toBe(200);
      return (await res.json()) as Answer;
    };
    const [ok, bad] = await Promise.all([post(receipt), post(altered)]);
    expect([ok.valid, checkOf(ok.checks, 'timestamp')?.status, checkOf(ok.checks, 'content')?.status]).toEqual([true, 'pass', 'pass']);
    expect([bad.valid, failed(bad.checks)]).toEqual([false, ['timestamp:TIMESTAMP_INVALID']]);
  });

  it('a tlog-proof carries the stamp in its extra data: checked the same way', async () => {
    const entry = toBase64(canonicalJson(receipt.entry));
    const ok = await verify({ receipt: receiptToTlogProof(parseReceipt(receipt)), entry });
    expect(ok.kind).toBe('tlog-proof');
    expect([ok.valid, checkOf(ok.checks, 'timestamp')?.status]).toEqual([true, 'pass']);
    const bad = await verify({ receipt: receiptToTlogProof(parseReceipt(altered)), entry });
    expect([bad.valid, failed(bad.checks)]).toEqual([false, ['timestamp:TIMESTAMP_INVALID']]);
  });

  it('a case bundle: every stamped item passes; with the stamp’s token altered, the items it covers fail on timestamp alone', async () => {
    const res = await s.api(`/v1/cases/${encodeURIComponent(CASE)}/bundle`);
    expect(res.status).toBe(200);
    const bundle = (await res.json()) as { timestamps: Array<{ checkpoint: string; consistency: string[]; tokens: string[] }>; items: Array<{ index: string; timestamp: string | null }> };
    expect(bundle.timestamps.length).toBeGreaterThan(0);
    const stampedItems = bundle.items.filter((i) => i.timestamp !== null).map((i) => i.index);
    expect(stampedItems.length).toBeGreaterThan(0);
    const ok = await verify({ receipt: bundle });
    expect(ok.kind).toBe('bundle');
    expect(ok.valid).toBe(true);
    for (const item of ok.items ?? []) expect(checkOf(item.checks, 'timestamp')?.status, item.index).toBe(stampedItems.includes(item.index) ? 'pass' : 'skip');
    const bad = await verify({ receipt: { ...bundle, timestamps: bundle.timestamps.map(alterToken) } });
    expect(bad.valid).toBe(false);
    expect(bad.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['items']);
    expect(Object.fromEntries((bad.items ?? []).filter((i) => !i.valid).map((i) => [i.index, failed(i.checks)]))).toEqual(Object.fromEntries(stampedItems.map((i) => [i, ['timestamp:TIMESTAMP_INVALID']])));
  });
});
