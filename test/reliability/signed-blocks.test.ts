/**
 * The defect of issue 12, tried again as an outsider would (SPEC.md#signed-block-header): a
 * receipt whose block time, prev or height was changed must not verify anywhere (`guzheng verify`,
 * `POST /v1/verify`), and a proxy between an auditor and the service that moves the newest block's
 * time forward by a year and recomputes its hash must be caught by `guzheng audit --url` and
 * `guzheng monitor`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockHash, parseBlock, type BlockJson } from '../../src/core/block.js';
import { toHex } from '../../src/core/bytes.js';
import { monitorOnce, MonitorError } from '../../src/audit/monitor.js';
import { RemoteSource } from '../../src/audit/remote.js';
import { runAudit } from '../../src/audit/replay.js';
import { formatReport } from '../../src/audit/report.js';
import { parseVerifierKey } from '../../src/core/note.js';
import { startServer, type TestServer } from '../http/helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'src', 'cli', 'bin.ts');
const dir = mkdtempSync(join(tmpdir(), 'guzheng-signed-blocks-'));
let s: TestServer;
let proxy: Server;
let proxyUrl: string;
let receipt: { block: BlockJson } & Record<string, unknown>;

function cli(args: string[]): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout }));
  });
}

const aYearLater = (t: string) => new Date(Date.parse(t) + 365 * 86_400_000).toISOString();

/** forgeNewest moves the newest block of a /v1/blocks page a year forward and recomputes its hash. */
function forgeNewest(page: { blocks: Array<BlockJson & { hash: string }> }, newest: bigint): void {
  for (const b of page.blocks) {
    if (BigInt(b.height) !== newest) continue;
    b.time = aYearLater(b.time);
    const { hash: _h, ...json } = b;
    b.hash = toHex(blockHash(parseBlock(json)));
  }
}

beforeAll(async () => {
  s = await startServer();
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${s.url}/v1/entries?wait=receipt`, { method: 'POST', headers: { authorization: `Bearer ${s.keys.submit}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'record', record: { i } }) });
    receipt = ((await res.json()) as { receipt: typeof receipt }).receipt;
  }
  // The proxy: everything passes through, but /v1/blocks pages are forged.
  proxy = createServer(async (req, res) => {
    const upstream = await fetch(`${s.url}${req.url}`, { headers: { ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) } });
    const type = upstream.headers.get('content-type') ?? 'application/octet-stream';
    let body = Buffer.from(await upstream.arrayBuffer());
    if (req.url?.startsWith('/v1/blocks?') && upstream.status === 200) {
      const page = JSON.parse(body.toString('utf8')) as { blocks: Array<BlockJson & { hash: string }> };
      forgeNewest(page, s.ledger.latest().block.height);
      body = Buffer.from(JSON.stringify(page));
    }
    res.writeHead(upstream.status, { 'content-type': type });
    res.end(body);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => proxy.close(() => r()));
  await s.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('a receipt with an altered block', () => {
  const alterations: Array<[string, (b: BlockJson) => BlockJson]> = [
    ['time set to 2020', (b) => ({ ...b, time: '2020-01-01T00:00:00.000Z' })],
    ['one hex digit of prev changed', (b) => ({ ...b, prev: (b.prev[0] === 'a' ? 'b' : 'a') + b.prev.slice(1) })],
    ['height changed', (b) => ({ ...b, height: String(BigInt(b.height) + 1n) })],
  ];

  it.each(alterations)('%s: guzheng verify exits 1 naming the block check', async (_what, alter) => {
    const file = join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ ...receipt, block: alter(receipt.block) }));
    const r = await cli(['verify', '--receipt', file, '--key', s.ledger.verifierKey]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/✗ Sealing block: .*differs from the signed block header/);
    expect(r.stdout).toMatch(/INVALID: failed block \(BLOCK_INVALID\)/);
  });

  it.each(alterations)('%s: POST /v1/verify reports it invalid', async (_what, alter) => {
    const res = await fetch(`${s.url}/v1/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ receipt: { ...receipt, block: alter(receipt.block) } }) });
    const report = (await res.json()) as { valid: boolean; checks: Array<{ id: string; status: string; code?: string }> };
    expect(res.status).toBe(200);
    expect(report.valid).toBe(false);
    expect(report.checks.find((c) => c.id === 'block')).toMatchObject({ status: 'fail', code: 'BLOCK_INVALID' });
  });

  it('the unaltered receipt verifies, with the signed time', async () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify(receipt));
    const r = await cli(['verify', '--receipt', file, '--key', s.ledger.verifierKey]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`sealed    ${receipt.block.time}  (log clock, signed by the log; block ${receipt.block.height})`);
  });
});

describe('a proxy that moves the newest block a year forward and re-hashes it', () => {
  it('is caught by the remote audit', async () => {
    const direct = new RemoteSource(s.url, parseVerifierKey(s.ledger.verifierKey), { apiKey: s.keys.audit });
    const clean = await runAudit(direct, { verifierKey: s.ledger.verifierKey });
    await direct.close();
    expect(clean.ok, formatReport(clean)).toBe(true);
    const source = new RemoteSource(proxyUrl, parseVerifierKey(s.ledger.verifierKey), { apiKey: s.keys.audit });
    const r = await runAudit(source, { verifierKey: s.ledger.verifierKey });
    await source.close();
    expect(r.ok).toBe(false);
    const newest = s.ledger.latest().block.height;
    expect(r.problems.find((p) => p.kind === 'block-invalid')).toMatchObject({ height: newest, code: 'BLOCK_INVALID', message: expect.stringMatching(/time .* differs from the signed block header/) });
    expect(formatReport(r)).not.toMatch(/everything is consistent/);
  });

  it('is caught by the monitor', async () => {
    const state = join(dir, 'monitor.json');
    // A fresh monitor checks the newest blocks on its first poll: the forgery is caught at once,
    // and nothing is saved.
    const first = await monitorOnce({ url: proxyUrl, verifierKey: s.ledger.verifierKey, stateFile: state }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(MonitorError);
    expect((first as Error).message).toMatch(/BLOCK_INVALID/);
    expect(existsSync(state)).toBe(false);
    // Initialized straight from the log, the monitor catches the proxy again once the log grows.
    expect((await monitorOnce({ url: s.url, verifierKey: s.ledger.verifierKey, stateFile: state })).status).toBe('initialized');
    await fetch(`${s.url}/v1/entries?wait=receipt`, { method: 'POST', headers: { authorization: `Bearer ${s.keys.submit}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'record', record: { late: true } }) });
    const err = await monitorOnce({ url: proxyUrl, verifierKey: s.ledger.verifierKey, stateFile: state }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MonitorError);
    expect((err as MonitorError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(/blocks that do not match its signed checkpoints: BLOCK_INVALID/);
    // The same poll straight to the log advances.
    expect((await monitorOnce({ url: s.url, verifierKey: s.ledger.verifierKey, stateFile: state })).status).toBe('advanced');
  });
});
