/**
 * verifyTimestampToken against real tokens: `openssl ts -reply` signs them (test/support/tsa), and
 * pkijs re-signs the cases openssl will not make (test/support/tsa/forge.ts). Each rule pkijs
 * leaves to us has a token that breaks that rule only, so each test fails if its check is removed;
 * a re-signed control token passes. Then mutations (every byte, truncations, garbage), input
 * errors, the PEM parser, inspectTimestampToken, and a run of the bundled verifier with nothing
 * but WebCrypto (the browser's view).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/core/errors.js';
import { parseDer, type DerNode } from '../../src/verifier/der.js';
import { inspectTimestampToken, MAX_TIMESTAMP_TOKEN_BYTES, parseCertificatesPem, verifyTimestampToken, type TimestampInfo } from '../../src/verifier/timestamp.js';
import { genTimeBlock, ID_CT_TSTINFO, resignToken, type ResignOptions } from '../support/tsa/forge.js';
import { testPki, TEST_POLICY, type TestPki } from '../support/tsa/pki.js';
import { opensslToken } from '../support/tsa/server.js';

const sha256 = (data: Uint8Array | string) => new Uint8Array(createHash('sha256').update(data).digest());
/** The log stamps the exact bytes of a signed note; any bytes do for the verifier. */
const NOTE = 'guzheng.test/log\n42\nn3vDL3pgmJ2OXfv8YaW3dD3Dcjp2F0iNUdQfFZT4tJo=\n\n— guzheng.test/log Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n';
const IMPRINT = sha256(NOTE);
const NONCE = 0x1234_5678_9abc_def0n;
const ID_DATA = '1.2.840.113549.1.7.1';

let pki: TestPki;
let good: Uint8Array;
let roots: Uint8Array[];

async function refused(p: Promise<unknown>): Promise<LedgerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof LedgerError) return err;
    throw err;
  }
  throw new Error('accepted, want refused');
}

const verify = (token: Uint8Array, o: { imprint?: Uint8Array; nonce?: bigint; trustedRoots?: Uint8Array[] } = {}): Promise<TimestampInfo> =>
  verifyTimestampToken(token, { imprint: o.imprint ?? IMPRINT, trustedRoots: o.trustedRoots ?? roots, ...('nonce' in o ? (o.nonce === undefined ? {} : { nonce: o.nonce }) : { nonce: NONCE }) });

/** resign re-signs the good token (TSTInfo edited by `edit`) with the good signer unless told otherwise. */
const resign = (o: Partial<ResignOptions> & { edit?: (f: asn1js.AsnType[]) => asn1js.AsnType[] } = {}) =>
  resignToken(good, { signer: pki.signers.good, ...(o.edit ? { editTstInfo: o.edit } : {}), ...o });

/** at replaces TSTInfo field `i` (0 version, 1 policy, 2 imprint, 3 serial, 4 genTime, 5 accuracy, 6 nonce, 7 tsa). */
const at = (i: number, block: asn1js.AsnType) => (f: asn1js.AsnType[]) => f.map((x, j) => (j === i ? block : x));
const algId = (oid: string, params?: asn1js.AsnType) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), ...(params ? [params] : [])] });
const imprintWith = (alg: asn1js.Sequence) => new asn1js.Sequence({ value: [alg, new asn1js.OctetString({ valueHex: IMPRINT })] });

/** signatureOf returns the parsed Ecdsa-Sig-Value inside a token's one SignerInfo. */
function signatureOf(token: Uint8Array): DerNode {
  const octets = parseDer(token, 't').children[1]?.children[0]?.children.at(-1)?.children[0]?.children.at(-1) as DerNode;
  return parseDer(octets.value, 'sig');
}

beforeAll(async () => {
  pki = await testPki();
  roots = [pki.rootDer];
  good = await opensslToken(IMPRINT, { nonce: NONCE });
});

describe('verifyTimestampToken accepts', () => {
  it('an openssl token, reporting what it says', async () => {
    const info = await verify(good);
    expect(info.genTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/);
    expect(info.genTimeMs).toBe(Date.parse(info.genTime));
    expect(Math.abs(info.genTimeMs - Date.now())).toBeLessThan(120_000);
    expect(info).toMatchObject({
      policy: TEST_POLICY,
      accuracy: { seconds: 1, millis: 500, micros: 100 },
      ordering: false,
      tsaName: 'CN=Guzheng Test TSA, OU=Time Stamping, O=Guzheng Test, C=CN',
      signerSubject: 'CN=Guzheng Test TSA, OU=Time Stamping, O=Guzheng Test, C=CN',
      signerIssuer: 'CN=Guzheng Test Root CA, O=Guzheng Test',
      root: 'CN=Guzheng Test Root CA, O=Guzheng Test',
      hashAlgorithm: '2.16.840.1.101.3.4.2.1',
      nonce: NONCE.toString(),
    });
    expect(info.serialNumber).toMatch(/^[0-9a-f]+$/);
  });

  it('knowing only the digest: the stamped message itself is never needed', async () => {
    const message = randomBytes(1 << 20);
    const token = await opensslToken(sha256(message));
    expect((await verify(token, { imprint: sha256(message), nonce: undefined })).nonce).toBeUndefined();
    const other = Buffer.from(message);
    other[12345] = (other[12345] as number) ^ 1;
    expect((await refused(verify(token, { imprint: sha256(other), nonce: undefined }))).message).toMatch(/imprint does not match/);
  });

  it('ESS signingCertificate v1 (SHA-1) as well as v2', async () => {
    expect((await verify(await opensslToken(IMPRINT, { nonce: NONCE, section: 'tsa_sha1' }))).root).toBe('CN=Guzheng Test Root CA, O=Guzheng Test');
    await expect(verify(await resign({ ess: 'both' }))).resolves.toBeDefined();
  });

  it('a chain through an intermediate carried in the token, or with the intermediate pinned', async () => {
    const token = await opensslToken(IMPRINT, { nonce: NONCE, signer: pki.signers.viaIntermediate });
    expect((await verify(token)).signerIssuer).toBe('CN=Guzheng Test Intermediate CA, O=Guzheng Test');
    const intermediate = pki.signers.viaIntermediate.chainDer[0] as Uint8Array;
    expect((await verify(token, { trustedRoots: [intermediate] })).root).toBe('CN=Guzheng Test Intermediate CA, O=Guzheng Test');
  });

  it('the control: a pkijs re-signed token breaking no rule', async () => {
    expect((await verify(await resign())).policy).toBe(TEST_POLICY);
  });

  it('with several pinned roots, naming the one reached', async () => {
    const token = await opensslToken(IMPRINT, { nonce: NONCE, signer: pki.signers.untrusted });
    expect((await verify(token, { trustedRoots: [pki.rootDer, pki.untrustedRootDer] })).root).toBe('CN=Guzheng Untrusted Root CA, O=Guzheng Elsewhere');
  });

  it('a token made while its certificate was valid, long after it expired (validated at genTime)', async () => {
    const token = await resign({ signer: pki.signers.expired, edit: at(4, genTimeBlock('20200601120000.25Z')) });
    const info = await verify(token);
    expect(info.genTime).toBe('2020-06-01T12:00:00.25Z');
    expect(info.signerSubject).toBe('CN=Guzheng Test TSA expired, O=Guzheng Test');
  });
});

describe('verifyTimestampToken refuses, one rule at a time', () => {
  const invalid = async (token: Promise<Uint8Array> | Uint8Array, message: RegExp, o: Parameters<typeof verify>[1] = {}) => {
    const err = await refused(verify(await token, o));
    expect([err.code, err.message]).toEqual(['TIMESTAMP_INVALID', expect.stringMatching(message)]);
  };

  it('content type other than id-ct-TSTInfo (even with a TSTInfo inside, signed attribute saying TSTInfo)', async () => {
    await invalid(resign({ eContentType: ID_DATA, contentTypeAttr: ID_CT_TSTINFO }), /content type 1\.2\.840\.113549\.1\.7\.1 is not id-ct-TSTInfo/);
  });
  it('a signed content-type attribute that is not id-ct-TSTInfo, or none', async () => {
    await invalid(resign({ contentTypeAttr: ID_DATA }), /content-type attribute is not id-ct-TSTInfo/);
    await invalid(resign({ contentTypeAttr: null }), /content-type attribute/);
  });
  it('TSTInfo version 2', async () => {
    await invalid(resign({ edit: at(0, new asn1js.Integer({ value: 2 })) }), /TSTInfo version 2, want 1/);
  });
  it('two SignerInfos, both valid', async () => {
    await invalid(resign({ signerInfos: 2 }), /2 SignerInfos, want exactly one/);
  });
  it('a CMS signature that does not verify', async () => {
    const token = good.slice();
    const sig = parseDer(token, 't').children[1]?.children[0]?.children.at(-1)?.children[0]?.children.at(-1);
    const r = sig?.value.subarray(6) as Uint8Array; // inside r of the Ecdsa-Sig-Value
    r[3] = (r[3] as number) ^ 0x40;
    await invalid(token, /CMS signature does not verify/);
  });
  it('an ECDSA signature value that is not strict DER inside its OCTET STRING (pkijs reads it loosely)', async () => {
    // The Ecdsa-Sig-Value's SEQUENCE length one short: pkijs still finds r and s and the signature verifies.
    const m = good.slice();
    const sig = signatureOf(m);
    sig.raw[1] = (sig.raw[1] as number) - 1;
    await invalid(m, /ECDSA signature: not DER/);
  });
  it('no ESS signing-certificate attribute', async () => {
    await invalid(resign({ ess: 'none' }), /no ESS signing-certificate attribute/);
  });
  it('an ESS attribute naming another certificate, by hash or by issuerSerial', async () => {
    await invalid(resign({ essCertDer: pki.signers.noEku.certDer, essIssuerSerial: 'absent' }), /signingCertificateV2 attribute does not identify the signer's certificate/);
    await invalid(resign({ ess: 'v1', essCertDer: pki.signers.noEku.certDer, essIssuerSerial: 'absent' }), /signingCertificate attribute does not identify/);
    await invalid(resign({ essIssuerSerial: 'wrong' }), /issuerSerial does not name the signer's certificate/);
  });
  it('a TSA certificate whose timeStamping EKU is not critical, absent, or not the only purpose', async () => {
    await invalid(resign({ signer: pki.signers.nonCriticalEku }), /extended key usage is not critical/);
    await invalid(resign({ signer: pki.signers.noEku }), /no extended key usage/);
    await invalid(resign({ signer: pki.signers.extraPurpose }), /key purposes are \[1\.3\.6\.1\.5\.5\.7\.3\.8, 1\.3\.6\.1\.5\.5\.7\.3\.3\], want only id-kp-timeStamping/);
  });
  it('a TSA certificate whose key usage allows more than signing', async () => {
    await invalid(resign({ signer: pki.signers.badKeyUsage }), /key usage allows more than digitalSignature/);
  });
  it('genTime outside the TSA certificate validity', async () => {
    await invalid(opensslToken(IMPRINT, { nonce: NONCE, signer: pki.signers.expired }), /genTime \S+ is outside the TSA certificate's validity \(2020-01-01T00:00:00.000Z to 2021-01-01T00:00:00.000Z\)/);
    await invalid(resign({ edit: at(4, genTimeBlock('20000101000000Z')) }), /genTime 2000-01-01T00:00:00Z is outside/);
    await invalid(resign({ edit: at(4, genTimeBlock('20990101000000Z')) }), /genTime 2099-01-01T00:00:00Z is outside/);
  });
  it('genTime not in the form RFC 3161 §2.4.2 allows', async () => {
    for (const text of ['20261204170622.480Z', '202612041706Z', '20261204170622+0100', '20261204170622.Z', '20261304170622Z', '20260230170622Z']) {
      await invalid(resign({ edit: at(4, genTimeBlock(text)) }), /genTime/);
    }
  });
  it('a message imprint that is not SHA-256 (same 32 bytes), or with parameters', async () => {
    await invalid(resign({ edit: at(2, imprintWith(algId('2.16.840.1.101.3.4.2.2'))) }), /imprint algorithm 2\.16\.840\.1\.101\.3\.4\.2\.2 is not SHA-256/);
    await invalid(resign({ edit: at(2, imprintWith(algId('2.16.840.1.101.3.4.2.1', new asn1js.Integer({ value: 0 })))) }), /parameters must be absent or NULL/);
    await expect(verify(await resign({ edit: at(2, imprintWith(algId('2.16.840.1.101.3.4.2.1', new asn1js.Null()))) }))).resolves.toBeDefined();
  });
  it('another imprint than the one asked about', async () => {
    await invalid(good, /message imprint does not match the stamped digest/, { imprint: sha256('another note') });
  });
  it('a nonce other than the request\'s, or none', async () => {
    await invalid(good, /nonce does not match the request/, { nonce: NONCE + 1n });
    await invalid(resign({ edit: (f) => f.filter((_, i) => i !== 6) }), /no nonce, but one was requested/);
  });
  it('a tsa name that is not one of the signer certificate\'s names (absent is fine)', async () => {
    await invalid(resign({ signer: pki.signers.viaIntermediate, tsaName: 'keep' }), /names the TSA CN=Guzheng Test TSA, OU=Time Stamping, O=Guzheng Test, C=CN, which is not a name of the signer's certificate \(CN=Guzheng Test TSA via intermediate, O=Guzheng Test; RFC 3161 §2\.4\.2\)/);
    const info = await verify(await resign({ signer: pki.signers.viaIntermediate, tsaName: 'none' }));
    expect(info.tsaName).toBe('CN=Guzheng Test TSA via intermediate, O=Guzheng Test');
  });
  it('a token without its signer\'s certificate', async () => {
    await invalid(resign({ certificates: [pki.rootDer] }), /does not carry the TSA certificate/);
  });
  it('a critical TSTInfo extension (a non-critical one is ignored)', async () => {
    const ext = (critical: boolean) => (f: asn1js.AsnType[]) => [...f, new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value: [new pkijs.Extension({ extnID: '1.2.3.4', critical, extnValue: new asn1js.Null().toBER() }).toSchema()] }) as unknown as asn1js.AsnType];
    await invalid(resign({ edit: ext(true) }), /critical extension 1\.2\.3\.4/);
    await expect(verify(await resign({ edit: ext(false) }))).resolves.toBeDefined();
  });
  it('accuracy millis outside 1–999', async () => {
    const acc = new asn1js.Sequence({ value: [new asn1js.Integer({ value: 1 }), new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: new Uint8Array([0x03, 0xe8]) })] });
    await invalid(resign({ edit: at(5, acc) }), /accuracy millis 1000 is outside 1–999/);
  });
});

describe('verifyTimestampToken: the chain reaches only pinned roots', () => {
  it('TIMESTAMP_UNTRUSTED for a TSA under an unrelated root', async () => {
    const err = await refused(verify(await opensslToken(IMPRINT, { nonce: NONCE, signer: pki.signers.untrusted })));
    expect([err.code, err.message]).toEqual(['TIMESTAMP_UNTRUSTED', 'time-stamp token: the TSA certificate (CN=Guzheng Untrusted TSA, O=Guzheng Elsewhere) does not chain to any pinned root']);
  });
  it('TIMESTAMP_UNTRUSTED for a root with the pinned root\'s name but another key (it is in the token)', async () => {
    expect((await refused(verify(await opensslToken(IMPRINT, { nonce: NONCE, signer: pki.signers.impostor })))).code).toBe('TIMESTAMP_UNTRUSTED');
  });
  it('TIMESTAMP_UNTRUSTED when the intermediate is missing', async () => {
    const token = await resign({ signer: pki.signers.viaIntermediate, certificates: [pki.signers.viaIntermediate.certDer, pki.rootDer] });
    expect((await refused(verify(token))).code).toBe('TIMESTAMP_UNTRUSTED');
  });
  it('TIMESTAMP_INVALID when the chain is unpinned AND the signature is bad (untrusted must be the only fault)', async () => {
    const token = (await opensslToken(IMPRINT, { nonce: NONCE, signer: pki.signers.untrusted })).slice();
    const sig = parseDer(token, 't').children[1]?.children[0]?.children.at(-1)?.children[0]?.children.at(-1);
    const r = sig?.value.subarray(6) as Uint8Array;
    r[3] = (r[3] as number) ^ 0x40;
    const err = await refused(verify(token));
    expect([err.code, err.message]).toEqual(['TIMESTAMP_INVALID', 'time-stamp token: the CMS signature does not verify']);
  });
});

describe('verifyTimestampToken: mutations', () => {
  /** Offsets of `needle` in `hay`. */
  const find = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).indexOf(Buffer.from(needle));

  it('a changed genTime digit is caught by the signature', async () => {
    const info = await verify(good);
    const raw = info.genTime.replace(/[-:T]/g, '');
    const i = find(good, new TextEncoder().encode(raw.slice(0, 14)));
    expect(i).toBeGreaterThan(0);
    const m = good.slice();
    m[i + 13] = m[i + 13] === 0x35 ? 0x34 : 0x35;
    expect((await refused(verify(m))).message).toBe('time-stamp token: the CMS signature does not verify');
  });
  it('a changed imprint is caught by the signature, even when the caller asks about the changed digest', async () => {
    const i = find(good, IMPRINT);
    const m = good.slice();
    m[i + 7] = (m[i + 7] as number) ^ 1;
    const changed = m.slice(i, i + 32);
    expect((await refused(verify(m, { imprint: changed }))).message).toBe('time-stamp token: the CMS signature does not verify');
  });
  it('trailing or preceding garbage, and every truncation', async () => {
    for (const m of [new Uint8Array([...good, 0]), new Uint8Array([...good, ...randomBytes(100)]), new Uint8Array([0, ...good])]) {
      expect((await refused(verify(m))).message).toMatch(/not DER/);
    }
    for (let n = 0; n < good.length; n++) expect((await refused(verify(good.subarray(0, n)))).code).toBe('TIMESTAMP_INVALID');
  });
  it('every single-bit flip is refused with a coded error, except inside the unsigned extra certificates', { timeout: 120_000 }, async () => {
    const certs = parseDer(good, 't').children[1]?.children[0]?.children[3]?.children ?? [];
    const extra = certs.slice(1).map((c) => [c.raw.byteOffset - good.byteOffset, c.raw.byteOffset - good.byteOffset + c.raw.length] as const);
    expect(extra.length).toBe(1); // openssl's -chain puts the root beside the signer's certificate
    const accepted: number[] = [];
    for (let i = 0; i < good.length; i++) {
      const m = good.slice();
      m[i] = (m[i] as number) ^ 1;
      try {
        await verify(m);
        accepted.push(i);
      } catch (err) {
        if (!(err instanceof LedgerError)) throw new Error(`byte ${i}: ${String(err)}`);
      }
    }
    expect(accepted.filter((i) => !extra.some(([a, b]) => i >= a && i < b))).toEqual([]);
  });
});

describe('verifyTimestampToken: bad input', () => {
  it('INPUT_INVALID for a bad imprint, no roots, a root that is not a certificate, a non-bigint nonce', async () => {
    expect((await refused(verify(good, { imprint: IMPRINT.subarray(1) }))).code).toBe('INPUT_INVALID');
    expect((await refused(verify(good, { trustedRoots: [] }))).code).toBe('INPUT_INVALID');
    expect((await refused(verify(good, { trustedRoots: [new Uint8Array([0x30, 0])] }))).code).toBe('INPUT_INVALID');
    expect((await refused(verifyTimestampToken(good, { imprint: IMPRINT, trustedRoots: roots, nonce: 5 as unknown as bigint }))).code).toBe('INPUT_INVALID');
  });
  it('TIMESTAMP_INVALID for a non-byte token and one over the size cap', async () => {
    expect((await refused(verifyTimestampToken('x' as unknown as Uint8Array, { imprint: IMPRINT, trustedRoots: roots }))).code).toBe('TIMESTAMP_INVALID');
    expect((await refused(verify(new Uint8Array(MAX_TIMESTAMP_TOKEN_BYTES + 1)))).message).toMatch(/exceeds the 262144-byte cap/);
  });
});

describe('parseCertificatesPem', () => {
  const rootPem = () => readFileSync(pki.rootPemPath, 'utf8');
  const otherPem = () => readFileSync(pki.untrustedRootPemPath, 'utf8');
  const bad = (text: string) => {
    try {
      parseCertificatesPem(text);
    } catch (err) {
      if (err instanceof LedgerError) return err.code;
      throw err;
    }
    return 'ok';
  };

  it('reads a bundle (LF or CRLF, blank lines between blocks)', () => {
    expect(parseCertificatesPem(`${rootPem()}\n${otherPem()}`)).toEqual([pki.rootDer, pki.untrustedRootDer]);
    expect(parseCertificatesPem(rootPem().replace(/\n/g, '\r\n'))).toEqual([pki.rootDer]);
  });
  it('refuses anything else with INPUT_INVALID', () => {
    const pem = rootPem();
    const lines = pem.trimEnd().split('\n');
    const cases = [
      '', '\n', `# my roots\n${pem}`, `${pem}junk\n`, pem.replace(/CERTIFICATE/g, 'X509 CERTIFICATE'), pem.replace('-----END CERTIFICATE-----\n', ''),
      `${lines[0]}\n${(lines[1] as string) + (lines[2] as string)}\n${lines.slice(3).join('\n')}\n`, // a 128-character line
      `${lines[0]}\n${(lines[1] as string).slice(0, 60)}\n${lines.slice(2).join('\n')}\n`, // a short line before the last
      pem.replace(/\n-----END/, ' \n-----END'), pem.replace('-----BEGIN CERTIFICATE-----', ' -----BEGIN CERTIFICATE-----'),
      `-----BEGIN CERTIFICATE-----\n${Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]).toString('base64')}\n-----END CERTIFICATE-----\n`,
      `-----BEGIN CERTIFICATE-----\n${Buffer.concat([Buffer.from(pki.rootDer), Buffer.from([0])]).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`,
      `-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n`,
    ];
    expect(cases.map(bad)).toEqual(cases.map(() => 'INPUT_INVALID'));
    // a non-canonical last base64 character (non-zero pad bits)
    const last = lines[lines.length - 2] as string;
    if (last.endsWith('=')) {
      const i = last.replace(/=+$/, '').length - 1;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      const swapped = last.slice(0, i) + alphabet[(alphabet.indexOf(last[i] as string) + 1) % 64] + last.slice(i + 1);
      expect(bad([...lines.slice(0, -2), swapped, lines.at(-1)].join('\n'))).toBe('INPUT_INVALID');
    }
  });
  it('dropping any one line of a bundle is refused', () => {
    const lines = `${rootPem()}${otherPem()}`.split('\n');
    for (let i = 0; i < lines.length - 1; i++) {
      const text = [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n');
      expect(bad(text)).toBe('INPUT_INVALID');
    }
  });
});

describe('inspectTimestampToken', () => {
  it('reads the claims of a token it cannot verify, without a root', async () => {
    const info = await inspectTimestampToken(await opensslToken(IMPRINT, { signer: pki.signers.untrusted }));
    expect(info).toMatchObject({ tsaName: 'CN=Guzheng Untrusted TSA, O=Guzheng Elsewhere', policy: TEST_POLICY });
    expect(info?.root).toBeUndefined();
  });
  it('returns undefined for garbage or a token without its certificate', async () => {
    expect(await inspectTimestampToken(randomBytes(300))).toBeUndefined();
    expect(await inspectTimestampToken(await resign({ certificates: [pki.rootDer] }))).toBeUndefined();
  });
});

describe('the verifier needs nothing but WebCrypto (the browser build)', () => {
  it('bundles for the browser without node built-ins and verifies with process, Buffer and require hidden', { timeout: 60_000 }, async () => {
    const out = await build({
      entryPoints: [join(import.meta.dirname, '..', '..', 'src', 'verifier', 'timestamp.ts')],
      bundle: true, format: 'iife', globalName: 'GZ', platform: 'browser', target: 'es2020', minify: true, write: false, metafile: true, logLevel: 'silent',
    });
    expect(Object.keys(out.metafile.inputs).filter((p) => p.startsWith('node:') || /src\/(tsa|platform|storage|log|http)\//.test(p))).toEqual([]);
    // Same realm (WebCrypto's buffers must be this realm's), but the Node globals are shadowed.
    const factory = vm.runInThisContext(`(function (process, Buffer, global, require, module, exports, setImmediate) {${out.outputFiles[0]?.text ?? ''}\nreturn GZ; })`) as () => { verifyTimestampToken: typeof verifyTimestampToken };
    const GZ = factory();
    const run = (imprint: Uint8Array, root: Uint8Array) => GZ.verifyTimestampToken(good, { imprint, trustedRoots: [root], nonce: NONCE }).then((x) => x.root, (e: LedgerError) => e.code);
    expect(await run(IMPRINT, pki.rootDer)).toBe('CN=Guzheng Test Root CA, O=Guzheng Test');
    expect(await run(sha256('x'), pki.rootDer)).toBe('TIMESTAMP_INVALID');
    expect(await run(IMPRINT, pki.untrustedRootDer)).toBe('TIMESTAMP_UNTRUSTED');
  });
});
