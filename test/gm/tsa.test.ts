/**
 * Time stamps of a gm log (SPEC.md#what-the-log-stamps, #crypto-suites): the service started with
 * GUZHENG_PROFILE=gm and a TSA asks for tokens over SM3(checkpoint) with SM3's OID, never SHA-256,
 * and its receipts' time stamps verify against the pinned TSA root. A real openssl TSA over HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { fromBase64, toHex } from '../../src/core/bytes.js';
import { startService } from '../../src/server.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { startTsa, type TestTsa } from '../support/tsa/server.js';
import { sm3Hex, splitSigned } from './helpers.js';

let tsa: TestTsa;
const work = mkdtempSync(join(tmpdir(), 'guzheng-gm-tsa-'));
beforeAll(async () => {
  tsa = await startTsa();
});
afterAll(async () => {
  await tsa.close();
  rmSync(work, { recursive: true, force: true });
});

async function until(what: string, f: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The DER of the SM3 OID 1.2.156.10197.1.401 (GB/T 33560), as a TimeStampReq/TSTInfo names it. */
const SM3_OID_DER = '06082a811ccf55018311';

describe('a gm log with a TSA', () => {
  it('has its checkpoints stamped over SM3 with the SM3 OID; receipts verify against the TSA root', async () => {
    const admin = `gzk_${'G'.repeat(43)}`;
    const config = loadConfig({ GUZHENG_DATA: join(work, 'data'), PORT: '0', GUZHENG_PROFILE: 'gm', GUZHENG_ORIGIN: 'guzheng.test/gm-tsa', GUZHENG_TSA_URL: tsa.url, GUZHENG_TSA_CA: tsa.rootPemPath, GUZHENG_TSA_INTERVAL_MS: '100' });
    const service = await startService({ ...config, adminKey: admin, checkpointIntervalMs: 20, receiptIntervalMs: 10 }, () => {});
    const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
      const res = await fetch(`${service.url}${path}`, { ...init, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } });
      expect(res.status, path).toBeLessThan(300);
      return (await res.json()) as T;
    };
    try {
      expect(service.ledger.suite.id).toBe('gm');
      const { index } = await api<{ index: string }>('/v1/entries?wait=receipt', { method: 'POST', body: JSON.stringify({ type: 'record', record: { station: 'HS-AQ-0001', pm25: 35 } }) });
      let receipt: { timestamp: { checkpoint: string; tokens: string[] } | null } = { timestamp: null };
      await until('a stamped receipt', async () => (receipt = await api<typeof receipt>(`/v1/receipts/${index}`)).timestamp !== null);
      const stamp = receipt.timestamp!;
      // The token's message imprint is SM3 of the stamped checkpoint, under SM3's OID.
      const token = toHex(fromBase64(stamp.tokens[0]!));
      expect(token).toContain(SM3_OID_DER);
      expect(token).toContain(sm3Hex(stamp.checkpoint));
      expect(splitSigned(stamp.checkpoint).lines.length).toBeGreaterThan(0);
      const report = await verifyReceipt(receipt, { trustedKeys: [service.ledger.verifierKey], trustedTsaRoots: [tsa.rootDer] });
      expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
      expect([report.valid, report.checks.find((c) => c.id === 'timestamp')?.status]).toEqual([true, 'pass']);
    } finally {
      await service.close();
    }
  }, 60_000);
});
