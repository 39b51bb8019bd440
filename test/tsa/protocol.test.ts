/**
 * The RFC 3161 request and response formats (src/tsa/protocol.ts): formatTimeStampReq against a
 * golden encoding and against `openssl ts -query -text`; parseTimeStampResp on openssl's own
 * granted and rejection replies and on hand-built malformed ones (each DER byte written here, not
 * with the encoder under test); every truncation and every byte flip; newNonce's range.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/core/errors.js';
import { describeStatus, formatTimeStampReq, MAX_TIMESTAMP_RESPONSE_BYTES, newNonce, parseTimeStampResp, type TimeStampRequest } from '../../src/tsa/protocol.js';
import { codeOf } from '../support/codes.js';
import { makeQuery, tokenOfResponse } from '../support/tsa/forge.js';
import { opensslOk } from '../support/tsa/openssl.js';
import { testPki, TEST_OTHER_POLICY, UNSUPPORTED_POLICY, type TestPki } from '../support/tsa/pki.js';
import { opensslReply } from '../support/tsa/server.js';

const IMPRINT = Uint8Array.from({ length: 32 }, (_, i) => i);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
/** tlv writes one DER value by hand (short or one/two-byte long lengths). */
const tlv = (tag: number, ...parts: Uint8Array[]) => {
  const body = Buffer.concat(parts);
  const len = body.length < 128 ? [body.length] : body.length < 256 ? [0x81, body.length] : [0x82, body.length >> 8, body.length & 255];
  return new Uint8Array(Buffer.concat([Buffer.from([tag, ...len]), body]));
};
const int = (n: number) => tlv(0x02, new Uint8Array([n & 255]));
const utf8 = (s: string) => tlv(0x0c, new TextEncoder().encode(s));

let pki: TestPki;
let dir: string;
let granted: Uint8Array;
let rejection: Uint8Array;

beforeAll(async () => {
  pki = await testPki();
  dir = mkdtempSync(join(tmpdir(), 'guzheng-tsa-proto-'));
  granted = await opensslReply(formatTimeStampReq({ imprint: IMPRINT, nonce: 99n, certReq: true }), pki.signers.good);
  rejection = await opensslReply(makeQuery(IMPRINT, 1n, UNSUPPORTED_POLICY), pki.signers.good);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function opensslText(query: Uint8Array): Promise<string> {
  const path = join(dir, `q-${hex(query).slice(-16)}.tsq`);
  writeFileSync(path, query);
  return (await opensslOk(['ts', '-query', '-in', path, '-text'])).stdout;
}

describe('formatTimeStampReq', () => {
  it('encodes the golden request (RFC 3161 §2.4.1: v1, SHA-256 with absent parameters, nonce, certReq)', () => {
    const der = formatTimeStampReq({ imprint: IMPRINT, nonce: 0x0102030405060708n, certReq: true });
    expect(hex(der)).toBe(
      '3041' + '020101' + '302f' + '300b' + '0609608648016503040201' + '0420' + hex(IMPRINT) + '02080102030405060708' + '0101ff',
    );
  });
  it('is read back by openssl ts -query -text, with and without a policy, for a 64-bit nonce', async () => {
    const text = await opensslText(formatTimeStampReq({ imprint: IMPRINT, nonce: 0xfedcba9876543210n, certReq: true }));
    expect(text).toMatch(/Version: 1\n/);
    expect(text).toMatch(/Hash Algorithm: sha256\n/);
    expect(text).toMatch(/Policy OID: unspecified\n/);
    expect(text).toMatch(/Nonce: 0xFEDCBA9876543210\n/);
    expect(text).toMatch(/Certificate required: yes\n/);
    expect(text).toContain('0000 - 00 01 02 03 04 05 06 07-08 09 0a 0b 0c 0d 0e 0f');
    const withPolicy = await opensslText(formatTimeStampReq({ imprint: IMPRINT, nonce: 1n, certReq: true, policy: TEST_OTHER_POLICY }));
    expect(withPolicy).toContain(`Policy OID: ${TEST_OTHER_POLICY}\n`);
    expect(withPolicy).toMatch(/Nonce: 0x01\n/);
  });
  it('refuses bad input with INPUT_INVALID', () => {
    const base: TimeStampRequest = { imprint: IMPRINT, nonce: 1n, certReq: true };
    const cases: unknown[] = [
      { ...base, imprint: IMPRINT.subarray(1) }, { ...base, imprint: 'ab'.repeat(32) }, { ...base, nonce: 0n }, { ...base, nonce: -5n },
      { ...base, nonce: 1n << 64n }, { ...base, nonce: 7 }, { ...base, certReq: false }, { ...base, policy: 'abc' }, { ...base, policy: '1.2.03' }, { ...base, policy: '3.1' },
    ];
    expect(cases.map((c) => codeOf(() => formatTimeStampReq(c as TimeStampRequest)))).toEqual(cases.map(() => 'INPUT_INVALID'));
    expect(codeOf(() => formatTimeStampReq({ ...base, nonce: (1n << 64n) - 1n }))).toBe('ok');
  });
});

describe('parseTimeStampResp', () => {
  it("reads openssl's granted reply and returns the token bytes as received", () => {
    const r = parseTimeStampResp(granted);
    expect(r.status).toBe(0);
    expect(r.failInfo).toBeUndefined();
    expect(r.token).toEqual(tokenOfResponse(granted));
    expect(describeStatus(r)).toBe('granted');
  });
  it("reads openssl's rejection (status, text, failInfo) and describes it", () => {
    const r = parseTimeStampResp(rejection);
    expect(r).toEqual({ status: 2, statusText: ['Requested policy is not supported.'], failInfo: 1 << 15 });
    expect(describeStatus(r)).toBe('rejection: "Requested policy is not supported." (failInfo unacceptedPolicy)');
  });
  it('reads hand-built replies: waiting with two texts, several failure bits', () => {
    const r = parseTimeStampResp(tlv(0x30, tlv(0x30, int(3), tlv(0x30, utf8('busy'), utf8('再试')), tlv(0x03, unhex('06 80 00 00 40')))));
    expect(r).toEqual({ status: 3, statusText: ['busy', '再试'], failInfo: (1 << 0) | (1 << 25) });
    expect(describeStatus(r)).toBe('waiting: "busy", "再试" (failInfo badAlg, systemFailure)');
  });
  it('refuses malformed replies with TIMESTAMP_INVALID and says what is wrong', () => {
    const token = tokenOfResponse(granted);
    const cases: Array<[Uint8Array, RegExp]> = [
      [tlv(0x30, tlv(0x30, int(0))), /status granted but no time-stamp token/],
      [tlv(0x30, tlv(0x30, int(2)), token), /status rejection but a time-stamp token is present/],
      [tlv(0x30, tlv(0x30, int(6))), /status 6 is not a PKIStatus/],
      [tlv(0x30, tlv(0x30, tlv(0x02, unhex('ff')))), /status -1 is not a PKIStatus/],
      [new Uint8Array([...granted, 0]), /1 trailing bytes/],
      [tlv(0x30, tlv(0x30, int(2), tlv(0x30))), /empty statusString/],
      [tlv(0x30, tlv(0x30, int(2), tlv(0x30, tlv(0x0c, unhex('fffe'))))), /statusString is not UTF-8/],
      [tlv(0x30, tlv(0x30, int(2), tlv(0x30, tlv(0x13, unhex('41'))))), /statusString: got tag 0x13/],
      [tlv(0x30, tlv(0x30, int(2), tlv(0x03, unhex('00 01 02 03 04 05')))), /failInfo has 40 bits/],
      [tlv(0x30, tlv(0x30, int(2), int(5))), /unexpected field with tag 0x2 in PKIStatusInfo/],
      [tlv(0x30, tlv(0x30, int(0)), token, token), /TimeStampResp has 3 fields/],
      [tlv(0x30, tlv(0x30, int(0)), tlv(0x04)), /time-stamp token: got tag 0x4/],
      [tlv(0x30), /TimeStampResp has 0 fields/],
      [unhex('3081053003020100'), /non-minimal length/],
      [unhex('30803003020100 0000'), /indefinite length/],
      [unhex('3006300402020000'), /non-minimal INTEGER/],
      [new Uint8Array(0), /empty input/],
      [new Uint8Array(MAX_TIMESTAMP_RESPONSE_BYTES + 1), /exceeds the 1048576-byte cap/],
      ['text' as unknown as Uint8Array, /got string, want bytes/],
    ];
    for (const [der, want] of cases) {
      let err: unknown;
      try {
        parseTimeStampResp(der);
      } catch (e) {
        err = e;
      }
      expect(err, want.source).toBeInstanceOf(LedgerError);
      expect([(err as LedgerError).code, (err as LedgerError).message]).toEqual(['TIMESTAMP_INVALID', expect.stringMatching(want)]);
    }
  });
  it('refuses every truncation of a real reply', () => {
    for (let n = 0; n < granted.length; n++) expect(codeOf(() => parseTimeStampResp(granted.subarray(0, n)))).toBe('TIMESTAMP_INVALID');
  });
  it('never throws anything but a coded error for any byte flip of a real reply', () => {
    for (const reply of [granted, rejection]) {
      for (let i = 0; i < reply.length; i++) {
        for (const x of [0x01, 0x80, 0xff]) {
          const m = reply.slice();
          m[i] = (m[i] as number) ^ x;
          expect(['ok', 'TIMESTAMP_INVALID']).toContain(codeOf(() => parseTimeStampResp(m)));
        }
      }
    }
  });
});

describe('newNonce', () => {
  it('draws 64-bit nonces in [1, 2^64) that formatTimeStampReq accepts', () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 500; i++) {
      const n = newNonce();
      expect(n >= 1n && n < 1n << 64n).toBe(true);
      seen.add(n);
      formatTimeStampReq({ imprint: IMPRINT, nonce: n, certReq: true });
    }
    expect(seen.size).toBe(500);
    expect([...seen].some((n) => n >= 1n << 63n)).toBe(true);
  });
});
