/**
 * A log created in the first format (format-1 blocks, guzheng-receipt/v1 receipts, a v1 bundle:
 * test/fixtures/wave1-log, made by the wave-1 service) opened by this version, extended, audited
 * locally and remotely, monitored, and its old and new documents verified
 * (SPEC.md#logs-created-before-signed-blocks).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockHash, parseBlock, type BlockJson } from '../../src/core/block.js';
import { toHex } from '../../src/core/bytes.js';
import { LocalSource } from '../../src/audit/local.js';
import { monitorOnce } from '../../src/audit/monitor.js';
import { RemoteSource } from '../../src/audit/remote.js';
import { runAudit } from '../../src/audit/replay.js';
import { formatReport } from '../../src/audit/report.js';
import { parseVerifierKey } from '../../src/core/note.js';
import { DEFAULTS, loadConfig, type ServiceConfig } from '../../src/config.js';
import { startService, type RunningService } from '../../src/server.js';
import { verifyBundle, verifyReceipt } from '../../src/verifier/index.js';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'wave1-log');
const KEY = 'guzheng.test/wave1+96d1dd6f+AREuOeD+YLMsKf7IQew6fAB7Sx2kJB+ion/PlFKRNjOx';
const CASE = '衡环罚〔2026〕12号';

let dir: string;
let service: RunningService | undefined;
let admin: string;

function config(dataDir: string): ServiceConfig {
  return { ...loadConfig({}), dataDir, port: 0, origin: undefined, adminKey: undefined, hj212Port: undefined, hj212Host: '127.0.0.1', hj212LegacyCrc: new Map(), tsaUrls: [], tsaCaFile: undefined, checkpointIntervalMs: 20, receiptIntervalMs: 10 };
}

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${service!.url}${path}`, { headers: { authorization: `Bearer ${admin}` } });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

async function post<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`${service!.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status, path).toBe(201);
  return (await res.json()) as T;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'guzheng-upgrade-'));
  cpSync(join(FIXTURE, 'data'), dir, { recursive: true });
  chmodSync(join(dir, 'log-key'), 0o600);
  chmodSync(join(dir, 'admin-api-key'), 0o600);
  admin = readFileSync(join(dir, 'admin-api-key'), 'utf8').trim();
  service = await startService(config(dir), () => {});
}, 60_000);

afterAll(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a log created before blocks were signed', () => {
  it('opens with its 8 entries and 6 format-1 blocks untouched', async () => {
    const { blocks } = await get<{ blocks: Array<BlockJson & { hash: string }> }>('/v1/blocks?from=0&limit=10');
    expect(service!.ledger.verifierKey).toBe(KEY);
    expect(service!.ledger.sequencer.size).toBe(8n);
    expect(blocks).toHaveLength(6);
    for (const b of blocks) {
      expect(b.format).toBeUndefined();
      expect(b.hash).toBe(toHex(blockHash(parseBlock((({ hash: _h, ...j }) => j)(b)))));
    }
  });

  it('seals every new block signed, the first linking to the last format-1 block', async () => {
    const r = await post<{ results: Array<{ index: string; receipt: unknown }> }>('/v1/entries/batch?wait=receipt', { entries: [{ type: 'record', record: { after: 'upgrade' }, meta: { caseId: CASE } }, { type: 'record', record: { n: 2 } }] });
    expect(r.results.map((x) => x.index)).toEqual(['8', '9']);
    const { blocks } = await get<{ blocks: Array<BlockJson & { hash: string }> }>('/v1/blocks?from=5&limit=10');
    const [last1, first2] = blocks.map(({ hash: _h, ...j }) => parseBlock(j)) as [ReturnType<typeof parseBlock>, ReturnType<typeof parseBlock>];
    expect(last1.format).toBe(1);
    expect(first2.format).toBe(2);
    expect(first2.height).toBe(6n);
    expect(toHex(first2.prev)).toBe(toHex(blockHash(last1)));
    const fresh = await verifyReceipt(r.results[0]!.receipt, { trustedKeys: [KEY] });
    expect(fresh.valid).toBe(true);
    expect(fresh.facts).toMatchObject({ blockFormat: '2', blockHeight: '6' });
    expect(fresh.facts.blockTime).toBeDefined();
  });

  it('keeps verifying the receipts and the bundle the old service handed out, never showing their block time as verified', async () => {
    const doc = readFileSync(join(FIXTURE, 'doc.txt'));
    const old = await verifyReceipt(JSON.parse(readFileSync(join(FIXTURE, 'receipt-1.json'), 'utf8')), { trustedKeys: [KEY], content: { bytes: new Uint8Array(doc) } });
    expect(old.valid).toBe(true);
    expect(old.checks.find((c) => c.id === 'format')?.message).toBe('guzheng-receipt/v1');
    expect(old.checks.find((c) => c.id === 'timestamp')).toMatchObject({ status: 'skip', message: expect.stringMatching(/v1 receipt carries no time stamp/) });
    expect(old.facts.blockFormat).toBe('1');
    expect(old.facts.blockTime).toBeUndefined();
    expect(old.facts.blockTimeUnsigned).toMatch(/^2026-12-04T/);
    expect(old.checks.find((c) => c.id === 'block')?.message).toMatch(/not authenticated/);
    const zero = await verifyReceipt(JSON.parse(readFileSync(join(FIXTURE, 'receipt-0.json'), 'utf8')), { trustedKeys: [KEY] });
    expect(zero.valid).toBe(true);
    const bundle = await verifyBundle(JSON.parse(readFileSync(join(FIXTURE, 'case.bundle.json'), 'utf8')), { trustedKeys: [KEY], files: [{ label: 'doc.txt', content: { bytes: new Uint8Array(doc) } }] });
    expect(bundle.valid).toBe(true);
    expect(bundle.checks.find((c) => c.id === 'format')?.message).toMatch(/^guzheng-bundle\/v1/);
  });

  it('hands out v2 receipts of old entries: sealed in a format-1 block, proved against the signed head', async () => {
    const receipt = await get<{ format: string; block: BlockJson; timestamp: unknown }>('/v1/receipts/1');
    expect(receipt.format).toBe('guzheng-receipt/v2');
    expect(receipt.block.format).toBeUndefined();
    expect(receipt.timestamp).toBeNull();
    const r = await verifyReceipt(receipt, { trustedKeys: [KEY] });
    expect(r.valid).toBe(true);
    expect(r.facts.blockFormat).toBe('1');
    // A format-1 block time changed in a receipt still verifies alone: it is reported, never shown, as unsigned.
    const changed = await verifyReceipt({ ...receipt, block: { ...receipt.block, time: '2020-01-01T00:00:00.000Z' } }, { trustedKeys: [KEY] });
    expect(changed.valid).toBe(true);
    expect(changed.facts.blockTime).toBeUndefined();
    expect(changed.facts.blockTimeUnsigned).toBe('2020-01-01T00:00:00.000Z');
    // The case bundle is now a v2 bundle mixing both block formats.
    const bundle = await get<{ format: string }>(`/v1/cases/${encodeURIComponent(CASE)}/bundle`);
    expect(bundle.format).toBe('guzheng-bundle/v2');
    expect((await verifyBundle(bundle, { trustedKeys: [KEY] })).valid).toBe(true);
  });

  it('audits clean through the API, reporting the format-1 blocks and where the signed chain starts', async () => {
    const source = new RemoteSource(service!.url, parseVerifierKey(KEY), { apiKey: admin });
    const report = await runAudit(source, { verifierKey: KEY });
    await source.close();
    expect(report.ok, formatReport(report)).toBe(true);
    expect(report.time).toMatchObject({ unsignedBlocks: 6n, upgradedAt: 6n });
    expect(report.time.signedBlocks).toBeGreaterThanOrEqual(1n);
    expect(formatReport(report)).toMatch(/6 format-1 \(sealed before blocks were signed/);
  });

  it('is followed by the monitor across the upgrade', async () => {
    const state = join(dir, 'monitor.json');
    expect((await monitorOnce({ url: service!.url, verifierKey: KEY, stateFile: state })).status).toBe('initialized');
    await post('/v1/entries?wait=receipt', { type: 'record', record: { n: 3 } });
    expect((await monitorOnce({ url: service!.url, verifierKey: KEY, stateFile: state })).status).toBe('advanced');
  });

  it('audits clean from the stopped data directory, and reopens again', async () => {
    await service!.close();
    service = undefined;
    const source = await LocalSource.open(dir);
    const report = await runAudit(source, { verifierKey: KEY });
    await source.close();
    expect(report.ok, formatReport(report)).toBe(true);
    expect(report.size).toBe(11n);
    expect(report.time).toMatchObject({ unsignedBlocks: 6n, upgradedAt: 6n });
    service = await startService(config(dir), () => {});
    expect(service.ledger.sequencer.size).toBe(11n);
  });
});
