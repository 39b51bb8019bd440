/**
 * RFC 3161 time stamps of a gm (国密) log (SPEC.md#what-the-log-stamps, #crypto-suites): the
 * message imprint is SM3 of the checkpoint note as signed, under SM3's OID 1.2.156.10197.1.401, in
 * the request and checked in the reply. The test TSA is `openssl ts -reply` (test/support/tsa).
 *
 * - src/tsa: the request names SM3 (OpenSSL reads it so); OpenSSL's answer is accepted when SM3
 *   was asked, a SHA-256-imprint token over the same bytes is refused, and an SM3 query written as
 *   OpenSSL writes it (parameters NULL) gives a token that verifies too.
 * - The real service started with the gm profile keeps SM3-imprint tokens: every one passes
 *   `openssl ts -verify` (given the SM3 digest, and given the note itself, which OpenSSL hashes with
 *   the token's SM3), receipts verify with verifyReceipt and the pinned TSA root, and audits with
 *   the root pinned (--url while it runs, --data once it stopped) verify every kept token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64, toHex, utf8 } from '../../src/core/bytes.js';
import { parseVerifierKey } from '../../src/core/note.js';
import { LocalSource } from '../../src/audit/local.js';
import { RemoteSource } from '../../src/audit/remote.js';
import { runAudit } from '../../src/audit/replay.js';
import { formatReport } from '../../src/audit/report.js';
import { checkTimestampReply } from '../../src/tsa/check.js';
import { formatTimeStampReq, ID_SM3 } from '../../src/tsa/protocol.js';
import { verifyTimestampToken } from '../../src/verifier/timestamp.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import { makeQuery, tokenOfResponse } from '../support/tsa/forge.js';
import { openssl, opensslOk } from '../support/tsa/openssl.js';
import { opensslReply, startTsa, type TestTsa } from '../support/tsa/server.js';
import { anchorDocument, caughtUp, stampedReceipt, startStampingService, type StampingService } from '../support/tsa/service.js';
import { sm3 } from './audit-support.js';

const work = mkdtempSync(join(tmpdir(), 'guzheng-gm-tsa-stamp-'));
let tsa: TestTsa;
let fileN = 0;

/** file writes bytes to a new file of the work directory and returns its path. */
function file(bytes: Uint8Array | string): string {
  const p = join(work, `f${fileN++}`);
  writeFileSync(p, bytes);
  return p;
}

beforeAll(async () => {
  tsa = await startTsa();
}, 60_000);
afterAll(async () => {
  await tsa?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('src/tsa with an SM3 imprint', () => {
  const note = 'guzheng.test/gm-tsa\n1\nAAAA\n\n— guzheng.test/gm-tsa AAAA\n';
  const imprint = sm3(utf8(note));
  const nonce = 0x1234_5678_9abc_def0n;

  it('names SM3 in the request (OID 1.2.156.10197.1.401, parameters absent), as OpenSSL reads it', async () => {
    const query = formatTimeStampReq({ imprint, hashAlg: 'sm3', nonce, certReq: true });
    // SEQUENCE { SEQUENCE { OID sm3 } OCTET STRING[32] }: the OID's DER, no NULL after it.
    expect(toHex(query)).toContain(`300a06082a811ccf55018311` + `0420${imprint.toString('hex')}`);
    expect(ID_SM3).toBe('1.2.156.10197.1.401');
    const r = await opensslOk(['ts', '-query', '-in', file(query), '-text']);
    expect(r.stdout).toMatch(/Hash Algorithm: sm3/);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(`0000 - ${imprint.subarray(0, 8).toString('hex').match(/../g)!.join(' ')}`);
    expect(() => formatTimeStampReq({ imprint, hashAlg: 'sha1' as 'sm3', nonce, certReq: true })).toThrow(/hashAlg "sha1", want sha256 or sm3/);
  });

  it("accepts OpenSSL's reply to it when SM3 was asked; the same reply checked as SHA-256 is refused", async () => {
    const reply = await opensslReply(formatTimeStampReq({ imprint, hashAlg: 'sm3', nonce, certReq: true }), tsa.pki.signers.good);
    const base = { imprint, nonce, trustedRoots: [tsa.rootDer], now: new Date(), maxSkewMs: 3_600_000 };
    const ok = await checkTimestampReply(reply, { ...base, imprintAlg: 'sm3' });
    expect(ok.info.hashAlgorithm).toBe(ID_SM3);
    await expect(checkTimestampReply(reply, base)).rejects.toMatchObject({ code: 'TIMESTAMP_INVALID', message: expect.stringMatching(/message imprint algorithm 1\.2\.156\.10197\.1\.401 is not SHA-256/) });
  });

  it('refuses a TSA that answers an SM3 request with a SHA-256-imprint token over the same bytes', async () => {
    const swapped = await opensslReply(makeQuery(imprint, nonce, undefined, 'sha256'), tsa.pki.signers.good);
    await expect(checkTimestampReply(swapped, { imprint, imprintAlg: 'sm3', nonce, trustedRoots: [tsa.rootDer], now: new Date(), maxSkewMs: 3_600_000 })).rejects.toMatchObject({
      code: 'TIMESTAMP_INVALID',
      message: expect.stringMatching(/is not SM3/),
    });
  });

  it('verifies a token of an SM3 query written by `openssl ts -query -sm3` (parameters NULL)', async () => {
    const q = join(work, 'openssl-sm3.tsq');
    await opensslOk(['ts', '-query', '-digest', imprint.toString('hex'), '-sm3', '-cert', '-out', q]);
    const token = tokenOfResponse(await opensslReply(new Uint8Array(readFileSync(q)), tsa.pki.signers.good));
    const info = await verifyTimestampToken(token, { imprint, imprintAlg: 'sm3', trustedRoots: [tsa.rootDer] });
    expect(info.hashAlgorithm).toBe(ID_SM3);
  });
});

describe('a gm log stamped by the openssl TSA (the real service, GUZHENG_PROFILE=gm)', () => {
  let s: StampingService;
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= s.close());
  let key: string;
  const indexes: bigint[] = [];
  /** The blocks served with a kept token: height, checkpoint note, token DER. */
  let kept: Array<{ height: string; checkpoint: string; token: Uint8Array }>;

  beforeAll(async () => {
    s = await startStampingService({ dir: work, origin: 'guzheng.test/gm-tsa-stamp', tsa, profile: 'gm' });
    key = s.service.ledger.verifierKey;
    expect(s.service.ledger.suite.id).toBe('gm');
    for (let i = 0; i < 3; i++) indexes.push(await anchorDocument(s, `现场照片-${i}.jpg`, utf8(`gm photo ${i}`)));
    await caughtUp(s);
    const page = (await (await s.api('/v1/blocks?from=0&limit=100')).json()) as { blocks: Array<{ height: string; checkpoint: string; timestamps?: Array<{ token: string }> }> };
    kept = page.blocks.filter((b) => b.timestamps !== undefined).map((b) => ({ height: b.height, checkpoint: b.checkpoint, token: fromBase64(b.timestamps![0]!.token) }));
  }, 120_000);
  afterAll(async () => {
    if (s !== undefined) await stop();
  });

  it('keeps tokens whose imprint is SM3 of the checkpoint note: `openssl ts -verify` passes for each', async () => {
    expect(kept.length).toBeGreaterThan(0);
    for (const k of kept) {
      const token = file(k.token);
      const text = await opensslOk(['ts', '-reply', '-in', token, '-token_in', '-text']);
      expect(text.stdout).toMatch(/Hash Algorithm: sm3/);
      const digest = sm3(utf8(k.checkpoint)).toString('hex');
      const byDigest = await opensslOk(['ts', '-verify', '-digest', digest, '-in', token, '-token_in', '-CAfile', tsa.rootPemPath]);
      expect(byDigest.stdout, `block ${k.height}`).toMatch(/Verification: OK/);
      // Given the note itself, OpenSSL hashes it with the token's algorithm (SM3) and agrees.
      const byData = await opensslOk(['ts', '-verify', '-data', file(k.checkpoint), '-in', token, '-token_in', '-CAfile', tsa.rootPemPath]);
      expect(byData.stdout).toMatch(/Verification: OK/);
      // SHA-256 of the note is not what was stamped.
      const sha = new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(k.checkpoint)));
      const wrong = await openssl(['ts', '-verify', '-digest', toHex(sha), '-in', token, '-token_in', '-CAfile', tsa.rootPemPath]);
      expect(wrong.stdout).not.toMatch(/Verification: OK/);
    }
  }, 60_000);

  it('receipts verify with verifyReceipt and the pinned TSA root; another root fails, none pinned is unverified', async () => {
    for (const index of indexes) {
      const receipt = await stampedReceipt(s, index);
      const report = await verifyReceipt(receipt, { trustedKeys: [key], trustedTsaRoots: [tsa.rootDer] });
      expect(report.checks.filter((c) => c.status === 'fail'), `receipt ${index}`).toEqual([]);
      expect([report.valid, report.checks.find((c) => c.id === 'timestamp')?.status]).toEqual([true, 'pass']);
      expect(report.facts.timestamp?.tokens[0]).toMatchObject({ verified: true });
      const token = fromBase64(receipt.timestamp.tokens[0]!);
      const info = await verifyTimestampToken(token, { imprint: sm3(utf8(receipt.timestamp.checkpoint)), imprintAlg: 'sm3', trustedRoots: [tsa.rootDer] });
      expect(info.hashAlgorithm).toBe(ID_SM3);
      const other = await verifyReceipt(receipt, { trustedKeys: [key], trustedTsaRoots: [tsa.pki.untrustedRootDer] });
      expect(other.checks.find((c) => c.id === 'timestamp')?.status).toBe('fail');
      const unpinned = await verifyReceipt(receipt, { trustedKeys: [key] });
      expect([unpinned.valid, unpinned.checks.find((c) => c.id === 'timestamp')?.status]).toEqual([true, 'skip']);
    }
  }, 60_000);

  it('an audit with the TSA root pinned verifies every kept token, over HTTP and from the stopped data directory', async () => {
    const remote = new RemoteSource(s.url, parseVerifierKey(key), { apiKey: s.admin, attempts: 1 });
    let r;
    try {
      r = await runAudit(remote, { verifierKey: key, workers: 0, tsaRoots: [tsa.rootDer] });
    } finally {
      await remote.close();
    }
    expect(r.ok, formatReport(r)).toBe(true);
    expect(r.suite).toBe('gm');
    expect(r.time.tokens).toBeGreaterThanOrEqual(kept.length);
    expect(r.time.verifiedTokens).toBe(r.time.tokens);
    await stop();
    const copy = join(work, 'stopped-copy');
    cpSync(join(s.dataDir, 'ledger'), copy, { recursive: true });
    const local = await LocalSource.open(copy);
    try {
      const l = await runAudit(local, { verifierKey: key, workers: 0, tsaRoots: [tsa.rootDer] });
      expect(l.ok, formatReport(l)).toBe(true);
      expect(l.time.tokens).toBe(r.time.tokens);
      expect(l.time.verifiedTokens).toBe(l.time.tokens);
    } finally {
      await local.close();
    }
  }, 120_000);
});
