/**
 * The strict DER reader and minimal writer under the time-stamp formats (src/verifier/der.ts):
 * known encodings of INTEGERs and OIDs both ways, and one refusal per X.690 §10 rule it enforces.
 */
import { describe, expect, it } from 'vitest';
import { codeOf } from '../support/codes.js';
import { derInteger, derOid, encodeDer, encodeInteger, encodeOid, isOid, parseDer } from '../../src/verifier/der.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

describe('INTEGER', () => {
  const known: Array<[bigint, string]> = [
    [0n, '020100'], [1n, '020101'], [127n, '02017f'], [128n, '02020080'], [255n, '020200ff'], [256n, '02020100'],
    [-1n, '0201ff'], [-128n, '020180'], [-129n, '0202ff7f'], [(1n << 64n) - 1n, '020900ffffffffffffffff'], [-(1n << 63n), '02088000000000000000'],
  ];
  it('encodes and decodes known values', () => {
    for (const [n, want] of known) {
      expect(hex(encodeInteger(n))).toBe(want);
      expect(derInteger(parseDer(unhex(want), 'int'))).toBe(n);
    }
  });
  it('round-trips around every byte boundary', () => {
    for (let bits = 0n; bits <= 80n; bits++) {
      for (const n of [1n << bits, (1n << bits) - 1n, -(1n << bits), -(1n << bits) - 1n]) expect(derInteger(parseDer(encodeInteger(n), 'int'))).toBe(n);
    }
  });
});

describe('OBJECT IDENTIFIER', () => {
  const known: Array<[string, string]> = [
    ['2.16.840.1.101.3.4.2.1', '0609608648016503040201'],
    ['1.2.840.113549.1.9.16.1.4', '060b2a864886f70d0109100104'],
    ['1.3.6.1.5.5.7.3.8', '06082b06010505070308'],
    ['2.999.3', '0603883703'],
    ['0.0', '060100'],
  ];
  it('encodes and decodes known OIDs', () => {
    for (const [oid, want] of known) {
      expect(hex(encodeOid(oid))).toBe(want);
      expect(derOid(parseDer(unhex(want), 'oid'))).toBe(oid);
    }
  });
  it('isOid accepts only canonical dotted OIDs', () => {
    expect(['1.2', '2.999', '0.39', '1.2.840.113549'].map(isOid)).toEqual([true, true, true, true]);
    expect(['', '1', '1.', '3.1', '1.40', '01.2', '1.2.03', 'a.b', '1..2', ' 1.2'].map(isOid)).toEqual(Array(10).fill(false));
  });
});

describe('parseDer', () => {
  it('returns views of the whole value and its contents, with children', () => {
    const der = unhex('3006 0201 05 0101 ff');
    const node = parseDer(der, 'x');
    expect([node.tag, node.raw.length, node.value.length, node.children.map((c) => c.tag)]).toEqual([0x30, 8, 6, [0x02, 0x01]]);
    expect(node.children[1]?.raw.byteOffset).toBe(der.byteOffset + 5);
    const long = encodeDer(0x04, new Uint8Array(300));
    expect(hex(long.subarray(0, 4))).toBe('0482012c');
    expect(parseDer(long, 'x').value.length).toBe(300);
  });
  it('refuses each non-DER form with the code given and a reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty input/],
      ['1f2100', /multi-byte tag/],
      ['0000', /end-of-contents/],
      ['3080 020105 0000', /indefinite length/],
      ['3081 03 020105', /non-minimal length/],
      ['3082 0003 020105', /non-minimal length/],
      ['3085 0000000003 020105', /bad length/],
      ['3005 020105', /truncated value/],
      ['30', /truncated header/],
      ['020105 00', /1 trailing bytes/],
      ['2203 020105', /wrong primitive\/constructed form/],
      ['1000', /wrong primitive\/constructed form/],
      ['0200', /empty INTEGER/],
      ['02020005', /non-minimal INTEGER/],
      ['0202ff85', /non-minimal INTEGER/],
      ['010101', /BOOLEAN not 0x00 or 0xff/],
      ['050100', /NULL with contents/],
      ['06022a86', /truncated OID/],
      ['0603 2a8001', /non-minimal OID arc/],
      ['0302 0800', /bad BIT STRING padding/],
      ['0301 01', /bad BIT STRING padding/],
      ['0302 0101', /non-zero BIT STRING padding/],
      ['2404 0402 0102', /wrong primitive\/constructed form/],
    ];
    for (const [h, want] of cases) {
      let message = '';
      try {
        parseDer(unhex(h), 'thing', 'INPUT_INVALID');
      } catch (err) {
        message = `${(err as { code?: string }).code}: ${(err as Error).message}`;
      }
      expect(message, h).toMatch(new RegExp(`^INPUT_INVALID: thing: not DER: ${want.source}`));
    }
  });
  it('refuses nesting deeper than 48 and never throws anything but the coded error on short garbage', () => {
    let deep: Uint8Array = unhex('0500');
    for (let i = 0; i < 60; i++) deep = encodeDer(0x30, deep);
    expect(codeOf(() => parseDer(deep, 'deep'))).toBe('TIMESTAMP_INVALID');
    for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b += 17) expect(['ok', 'TIMESTAMP_INVALID']).toContain(codeOf(() => parseDer(new Uint8Array([a, b, 0, 1]), 'g')));
  });
});
