/**
 * Interoperability with OpenSSL's own verifier: every token our code accepts, `openssl ts -verify`
 * accepts too (given the digest, the data, or our query, and the pinned root as -CAfile), and the
 * tokens openssl refuses (unpinned root, expired certificate, non-critical EKU, another imprint)
 * ours refuses as well, with the matching code. Also: openssl's TSA answers queries made by
 * formatTimeStampReq, and tokens made by the pkijs re-signer (test/support/tsa/forge.ts) are real
 * tokens that openssl accepts, so the failure cases built with it break only what they mean to.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/core/errors.js';
import { checkTimestampReply } from '../../src/tsa/check.js';
import { formatTimeStampReq } from '../../src/tsa/protocol.js';
import { verifyTimestampToken } from '../../src/verifier/timestamp.js';
import { genTimeBlock, grantedResponse, resignToken, tokenOfResponse } from '../support/tsa/forge.js';
import { openssl } from '../support/tsa/openssl.js';
import { testPki, type SignerRole, type TestPki } from '../support/tsa/pki.js';
import { opensslReply } from '../support/tsa/server.js';

/** The stamped message: a signed checkpoint note, byte for byte. */
const NOTE = 'guzheng.test/log\n1000\nQm9ndXMgcm9vdCBoYXNoIGZvciB0aGUgaW50ZXJvcCB0ZXN0IQ==\n\n— guzheng.test/log T2YgY291cnNlIHRoaXMgaXMgbm90IGEgcmVhbCBzaWduYXR1cmUu\n';
const IMPRINT = new Uint8Array(createHash('sha256').update(NOTE).digest());
const HEX = Buffer.from(IMPRINT).toString('hex');
const NONCE = 0x0bad_cafe_f00dn;

let pki: TestPki;
let dir: string;
let files = 0;

beforeAll(async () => {
  pki = await testPki();
  dir = mkdtempSync(join(tmpdir(), 'guzheng-tsa-interop-'));
  writeFileSync(join(dir, 'note.txt'), NOTE);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(bytes: Uint8Array): string {
  const p = join(dir, `f${files++}.der`);
  writeFileSync(p, bytes);
  return p;
}

/** opensslVerify runs `openssl ts -verify` on a token and tells whether it printed "Verification: OK". */
async function opensslVerify(token: Uint8Array, how: 'digest' | 'data' | { query: Uint8Array }, caFile = pki.rootPemPath): Promise<boolean> {
  const source = how === 'digest' ? ['-digest', HEX] : how === 'data' ? ['-data', join(dir, 'note.txt')] : ['-queryfile', file(how.query)];
  const input = how === 'data' ? ['-in', file(grantedResponse(token))] : ['-in', file(token), '-token_in'];
  const r = await openssl(['ts', '-verify', ...source, ...input, '-CAfile', caFile]);
  const ok = /Verification: OK/.test(r.stdout);
  expect(ok ? r.code : 1, r.stderr).toBe(ok ? 0 : 1);
  return ok;
}

async function stamp(role: SignerRole = 'good', section?: string): Promise<{ query: Uint8Array; reply: Uint8Array; token: Uint8Array }> {
  const query = formatTimeStampReq({ imprint: IMPRINT, nonce: NONCE, certReq: true });
  const reply = await opensslReply(query, pki.signers[role], section);
  return { query, reply, token: tokenOfResponse(reply) };
}

const ours = (token: Uint8Array, trustedRoots = [pki.rootDer]) =>
  verifyTimestampToken(token, { imprint: IMPRINT, trustedRoots, nonce: NONCE }).then(
    () => 'ok',
    (err: unknown) => (err instanceof LedgerError ? err.code : Promise.reject(err)),
  );

describe('tokens we accept, openssl accepts', () => {
  it('an openssl TSA token for our query: by digest, by data and by our query', async () => {
    const { query, reply, token } = await stamp();
    const checked = await checkTimestampReply(reply, { imprint: IMPRINT, nonce: NONCE, trustedRoots: [pki.rootDer], now: new Date(), maxSkewMs: 60_000 });
    expect(checked.token).toEqual(token);
    expect(await opensslVerify(checked.token, 'digest')).toBe(true);
    expect(await opensslVerify(checked.token, 'data')).toBe(true);
    expect(await opensslVerify(checked.token, { query })).toBe(true);
  });
  it('ESS v1 tokens, and chains through an intermediate carried in the token', async () => {
    for (const [role, section] of [['good', 'tsa_sha1'], ['viaIntermediate', undefined]] as const) {
      const { token } = await stamp(role, section);
      expect(await ours(token)).toBe('ok');
      expect(await opensslVerify(token, 'digest')).toBe(true);
    }
  });
  it('tokens re-signed by the pkijs forge are real tokens (so its failure cases break one rule each)', async () => {
    const { token } = await stamp();
    for (const ess of ['v1', 'v2', 'both'] as const) {
      const forged = await resignToken(token, { signer: pki.signers.good, ess });
      expect(await ours(forged)).toBe('ok');
      expect(await opensslVerify(forged, 'digest')).toBe(true);
    }
  });
  it('a TSA under another root, when that root is the one pinned', async () => {
    const { token } = await stamp('untrusted');
    expect(await ours(token, [pki.untrustedRootDer])).toBe('ok');
    expect(await opensslVerify(token, 'digest', pki.untrustedRootPemPath)).toBe(true);
  });
});

describe('tokens openssl refuses, we refuse', () => {
  it('an unpinned root: TIMESTAMP_UNTRUSTED', async () => {
    const { token } = await stamp('untrusted');
    expect(await opensslVerify(token, 'digest')).toBe(false);
    expect(await ours(token)).toBe('TIMESTAMP_UNTRUSTED');
  });
  it('a root with the pinned name but another key: TIMESTAMP_UNTRUSTED', async () => {
    const { token } = await stamp('impostor');
    expect(await opensslVerify(token, 'digest')).toBe(false);
    expect(await ours(token)).toBe('TIMESTAMP_UNTRUSTED');
  });
  it('an expired TSA certificate: TIMESTAMP_INVALID', async () => {
    const { token } = await stamp('expired');
    expect(await opensslVerify(token, 'digest')).toBe(false);
    expect(await ours(token)).toBe('TIMESTAMP_INVALID');
  });
  it('a non-critical, missing or widened timeStamping EKU: TIMESTAMP_INVALID', async () => {
    const { token } = await stamp();
    for (const role of ['nonCriticalEku', 'noEku', 'extraPurpose', 'badKeyUsage'] as const) {
      const forged = await resignToken(token, { signer: pki.signers[role] });
      expect(await opensslVerify(forged, 'digest'), role).toBe(false);
      expect(await ours(forged), role).toBe('TIMESTAMP_INVALID');
    }
  });
  it('another imprint, and a flipped signature byte: TIMESTAMP_INVALID', async () => {
    const { token } = await stamp();
    const other = formatTimeStampReq({ imprint: IMPRINT.map((b) => b ^ 1), nonce: NONCE, certReq: true });
    expect(await opensslVerify(token, { query: other })).toBe(false);
    const m = token.slice();
    m[m.length - 10] = (m[m.length - 10] as number) ^ 0x20;
    expect(await opensslVerify(m, 'digest')).toBe(false);
    expect(await ours(m)).toBe('TIMESTAMP_INVALID');
  });
});

describe('where we are stricter or differ, on purpose', () => {
  it('a token made in 2020 by a certificate valid then: we check at genTime, openssl at the current time unless given -attime', async () => {
    const { token } = await stamp();
    const old = await resignToken(token, { signer: pki.signers.expired, editTstInfo: (f) => f.map((x, i) => (i === 4 ? genTimeBlock('20200601000000Z') : x)) });
    expect(await ours(old)).toBe('ok');
    expect(await opensslVerify(old, 'digest')).toBe(false); // "certificate has expired"
    const r = await openssl(['ts', '-verify', '-digest', HEX, '-in', file(old), '-token_in', '-CAfile', pki.rootPemPath]);
    expect(r.stderr).toMatch(/certificate has expired/);
    // Told to validate the chain at genTime (-attime), openssl agrees with us.
    const at = String(Date.parse('2020-06-01T00:00:00Z') / 1000);
    const r2 = await openssl(['ts', '-verify', '-digest', HEX, '-in', file(old), '-token_in', '-CAfile', pki.rootPemPath, '-attime', at]);
    expect(r2.stdout).toMatch(/Verification: OK/);
  });
});
