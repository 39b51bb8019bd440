/**
 * The log's time stamping end to end (SPEC.md#time-stamps): the real service with a real TSA
 * (`openssl ts -reply` behind the loopback shim of test/support/tsa), receipts that gain their
 * stamp, verification with and without pinned TSA roots, `openssl ts -verify` on the tokens the
 * log kept, and every TSA failure: anchoring goes on, /healthz says degraded, nothing invalid is
 * stored, and stamping resumes.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64, toHex, toBase64 } from '../../src/core/bytes.js';
import { stampImprint } from '../../src/core/stamp.js';
import { DEFAULTS, loadConfig, type ServiceConfig } from '../../src/config.js';
import { startService, type RunningService } from '../../src/server.js';
import { verifyReceipt, verifyBundle } from '../../src/verifier/index.js';
import { opensslOk } from '../support/tsa/openssl.js';
import { startTsa, type TestTsa, type TsaMode } from '../support/tsa/server.js';

let dir: string;
let tsa: TestTsa;
let service: RunningService;
let admin: string;
const CASE = '衡环罚〔2026〕TS号';

async function api<T>(method: string, path: string, body?: unknown, status = method === 'POST' ? 201 : 200): Promise<T> {
  const res = await fetch(`${service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(res.status, `${method} ${path}`).toBe(status);
  return (await res.json()) as T;
}

async function anchor(n: number): Promise<{ index: string; receipt: { timestamp: unknown } }> {
  const r = await api<{ index: string; receipt: { timestamp: unknown } }>('POST', '/v1/entries?wait=receipt', { type: 'record', record: { n, at: Date.now() }, meta: { caseId: CASE } });
  return r;
}

async function until(what: string, f: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

type Health = { status: string; tsa: string; tsaDetail?: { consecutiveFailures?: number; lastStampedHeight?: string; unstampedBlocks?: number; lastError?: string } };
const health = () => api<Health>('GET', '/healthz');
const stampedHeight = async () => (await health()).tsaDetail?.lastStampedHeight;
const tokensKept = async () => {
  const { blocks } = await api<{ blocks: Array<{ timestamps?: unknown[] }> }>('GET', '/v1/blocks?from=0&limit=1000');
  return blocks.filter((b) => b.timestamps !== undefined).length;
};

beforeAll(async () => {
  tsa = await startTsa();
  dir = mkdtempSync(join(tmpdir(), 'guzheng-tsa-'));
  admin = `gzk_${'A'.repeat(43)}`;
  const config: ServiceConfig = {
    ...loadConfig({}),
    dataDir: dir,
    port: 0,
    origin: 'guzheng.test/tsa',
    adminKey: admin,
    hj212Port: undefined,
    hj212Host: '127.0.0.1',
    hj212LegacyCrc: new Map(),
    checkpointIntervalMs: 20,
    receiptIntervalMs: 10,
    tsaUrls: [tsa.url],
    tsaCaFile: tsa.rootPemPath,
    tsaIntervalMs: 200,
    tsaTimeoutMs: 1500,
  };
  service = await startService(config, () => {});
}, 60_000);

afterAll(async () => {
  await service?.close();
  await tsa?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('time stamping by an RFC 3161 TSA', () => {
  it('stamps the signed checkpoints; a receipt fetched later carries the token, which verifies with the pinned root', async () => {
    const fresh = await anchor(1);
    expect(fresh.receipt.timestamp === null || typeof fresh.receipt.timestamp === 'object').toBe(true);
    await until('a stamp covering entry 0', async () => (await api<{ timestamp: unknown }>('GET', `/v1/receipts/${fresh.index}`)).timestamp !== null);
    const receipt = await api<{ timestamp: { checkpoint: string; tokens: string[] } }>('GET', `/v1/receipts/${fresh.index}`);
    const ok = await verifyReceipt(receipt, { trustedKeys: [service.ledger.verifierKey], trustedTsaRoots: [tsa.rootDer] });
    expect(ok.valid).toBe(true);
    const check = ok.checks.find((c) => c.id === 'timestamp');
    expect(check?.status, check?.message).toBe('pass');
    expect(check?.message).toMatch(/existed no later than 20\d\d-/);
    const token = ok.facts.timestamp?.tokens[0];
    expect(token).toMatchObject({ verified: true, policy: '1.3.6.1.4.1.59999.3161.1' });
    expect(token?.tsa).toMatch(/CN=/);
    // The imprint is SHA-256 of the note exactly as the log signed it.
    expect(receipt.timestamp.checkpoint.trimEnd().split('\n').filter((l) => l.startsWith('— '))).toHaveLength(1);
  });

  it('shows the time as unverified without pinned roots, and fails with an unpinned root or an altered token', async () => {
    const receipt = await api<{ timestamp: { tokens: string[] } }>('GET', '/v1/receipts/0');
    const keys = [service.ledger.verifierKey];
    const unpinned = await verifyReceipt(receipt, { trustedKeys: keys });
    expect(unpinned.valid).toBe(true);
    expect(unpinned.checks.find((c) => c.id === 'timestamp')).toMatchObject({ status: 'skip', message: expect.stringMatching(/not verified: no TSA root certificate pinned/) });
    expect(unpinned.facts.timestamp?.tokens[0]?.verified).toBe(false);
    const otherRoot = await verifyReceipt(receipt, { trustedKeys: keys, trustedTsaRoots: [tsa.pki.untrustedRootDer] });
    expect(otherRoot.valid).toBe(false);
    expect(otherRoot.checks.find((c) => c.id === 'timestamp')?.code).toBe('TIMESTAMP_UNTRUSTED');
    const der = fromBase64(receipt.timestamp.tokens[0]!);
    der[der.length - 10]! ^= 1;
    const altered = await verifyReceipt({ ...receipt, timestamp: { ...receipt.timestamp, tokens: [toBase64(der)] } }, { trustedKeys: keys, trustedTsaRoots: [tsa.rootDer] });
    expect(altered.valid).toBe(false);
    expect(altered.checks.find((c) => c.id === 'timestamp')?.code).toBe('TIMESTAMP_INVALID');
  });

  it('prints the trusted time on the evidence certificate, with who vouches for each time', async () => {
    const res = await fetch(`${service.url}/v1/receipts/0/certificate`, { headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('接收时间');
    expect(html).toMatch(/封存时间.*日志时钟，经日志签名/s);
    expect(html).toMatch(/可信时间<\/span>.*独立时间来源，已核验 \/ independent source, verified/s);
    expect(html).toMatch(/时间戳机构 TSA: CN=/);
  });

  it('keeps tokens that OpenSSL verifies (openssl ts -verify)', async () => {
    const { blocks } = await api<{ blocks: Array<{ checkpoint: string; timestamps?: Array<{ token: string }> }> }>('GET', '/v1/blocks?from=0&limit=1000');
    const stamped = blocks.filter((b) => b.timestamps !== undefined);
    expect(stamped.length).toBeGreaterThan(0);
    for (const b of stamped.slice(0, 3)) {
      const tokenFile = join(dir, 'token.der');
      const noteFile = join(dir, 'note.txt');
      writeFileSync(tokenFile, fromBase64(b.timestamps![0]!.token));
      writeFileSync(noteFile, b.checkpoint);
      const byData = await opensslOk(['ts', '-verify', '-in', tokenFile, '-token_in', '-data', noteFile, '-CAfile', tsa.rootPemPath]);
      expect(byData.stdout).toMatch(/Verification: OK/);
      const byDigest = await opensslOk(['ts', '-verify', '-in', tokenFile, '-token_in', '-digest', toHex(stampImprint(b.checkpoint)), '-CAfile', tsa.rootPemPath]);
      expect(byDigest.stdout).toMatch(/Verification: OK/);
    }
  });

  it('puts the stamps in the case bundle, verified per item', async () => {
    const bundle = await api<{ format: string; timestamps: unknown[] }>('GET', `/v1/cases/${encodeURIComponent(CASE)}/bundle`);
    expect(bundle.format).toBe('guzheng-bundle/v2');
    expect(bundle.timestamps.length).toBeGreaterThan(0);
    const r = await verifyBundle(bundle, { trustedKeys: [service.ledger.verifierKey], trustedTsaRoots: [tsa.rootDer] });
    expect(r.valid).toBe(true);
    expect(r.items.some((i) => i.checks.find((c) => c.id === 'timestamp')?.status === 'pass')).toBe(true);
  });

  const failures: Array<[TsaMode, string]> = [
    ['down', 'unavailable'],
    ['slow', 'unavailable'],
    ['garbage', 'invalid'],
    ['http-error', 'unavailable'],
    ['rejection', 'invalid'],
    ['wrong-imprint', 'invalid'],
    ['wrong-nonce', 'invalid'],
    ['expired-cert', 'invalid'],
    ['untrusted', 'untrusted'],
    ['noncritical-eku', 'invalid'],
  ];
  it.each(failures)('TSA %s: anchoring goes on, /healthz says degraded, nothing is kept, then stamping resumes', async (mode, outcome) => {
    await until('stamping caught up', async () => (await health()).tsa === 'ok' && (await health()).tsaDetail?.unstampedBlocks === 0);
    const kept = await tokensKept();
    tsa.setMode(mode, { slowMs: 3000 });
    // Receipts keep coming at once while the TSA fails.
    for (let i = 0; i < 3; i++) {
      const r = await anchor(100 + i);
      expect(r.receipt).toBeDefined();
    }
    await until(`tsa degraded after ${mode}`, async () => (await health()).tsa === 'degraded');
    const h = await health();
    expect(h.status).toBe('ok');
    expect(h.tsaDetail?.consecutiveFailures).toBeGreaterThan(0);
    expect(await tokensKept()).toBe(kept);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`guzheng_tsa_requests_total\\{tsa="[^"]+",outcome="${outcome}"\\} [1-9]`));
    expect(metrics).toMatch(/guzheng_tsa_up 0/);
    tsa.setMode('ok');
    await until(`stamping resumes after ${mode}`, async () => (await health()).tsa === 'ok' && (await tokensKept()) > kept, 30_000);
  });

  it('reports the last stamped height and no unstamped blocks once caught up', async () => {
    await until('caught up', async () => (await health()).tsaDetail?.unstampedBlocks === 0);
    expect(await stampedHeight()).toBe(service.ledger.latest().block.height.toString());
  });
});
