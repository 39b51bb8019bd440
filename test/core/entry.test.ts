import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ENTRY_TYPES,
  MAX_ENTRY_SIZE,
  MAX_JSON_DEPTH,
  buildEntry,
  canonicalJson,
  checkDigest,
  checkEntrySize,
  decodeEntry,
  digestBytes,
  digestRecord,
  encodeEntry,
  entrySchema,
  formatReceivedAt,
  isRfc3339,
  metaSchemas,
  newEntry,
  type Entry,
  type EntryType,
} from '../../src/core/entry/index.js';
import { fromUtf8, toHex, utf8 } from '../../src/core/bytes.js';
import { isLedgerError, type ErrorCode } from '../../src/core/errors.js';

/** Independent SHA-256 oracle (node:crypto is fine in tests, never in src/core). */
function nodeSha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Run `fn`, expect a LedgerError with `code` whose message contains every `parts` string. */
function expectError(fn: () => unknown, code: ErrorCode, ...parts: string[]): string {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  if (!isLedgerError(thrown)) throw new Error(`want LedgerError ${code}, got ${String(thrown)}`);
  expect(thrown.code).toBe(code);
  for (const p of parts) expect(thrown.message).toContain(p);
  return thrown.message;
}

// ---------------------------------------------------------------------------------------------
// Golden entries: one per type, with the exact canonical bytes written out.

/** The JSON record anchored by the `record` golden. */
const RECORD = {
  station: '衡水市环境监测站',
  pollutant: 'a34004',
  value: '35.2',
  unit: 'μg/m³',
  time: '2026-03-01T08:00:00+08:00',
};
const RECORD_JCS = '{"pollutant":"a34004","station":"衡水市环境监测站","time":"2026-03-01T08:00:00+08:00","unit":"μg/m³","value":"35.2"}';

/** An HJ 212-2017 real-time data packet (CN=2011) with its correct CRC, as the gateway receives it. */
const HJ212_PACKET =
  '##0170QN=20260301080000123;ST=22;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;' +
  'CP=&&DataTime=20260301080000;a34004-Rtd=35.2,a34004-Flag=N;a34002-Rtd=61.0,a34002-Flag=N&&35C0\r\n';

const CASE_ID = '衡环罚〔2026〕12号';

interface Golden {
  readonly entry: Entry;
  readonly text: string;
}

const GOLDEN: Record<EntryType, Golden> = {
  record: {
    entry: {
      v: 1,
      type: 'record',
      digest: { alg: 'sha256', hex: 'd775730b4613ce78264d453ca39342ec0c4c175de59487d1a7088574b60bd44c' },
      meta: {
        caseId: CASE_ID,
        source: 'HS-AQ-0001',
        dataTime: '2026-03-01T08:00:00+08:00',
        schema: 'guzheng/air-hourly/1',
        note: '小时均值',
      },
      submitter: 'officer-01',
      receivedAt: '2026-03-01T00:00:01.234Z',
    },
    text: '{"digest":{"alg":"sha256","hex":"d775730b4613ce78264d453ca39342ec0c4c175de59487d1a7088574b60bd44c"},"meta":{"caseId":"衡环罚〔2026〕12号","dataTime":"2026-03-01T08:00:00+08:00","note":"小时均值","schema":"guzheng/air-hourly/1","source":"HS-AQ-0001"},"receivedAt":"2026-03-01T00:00:01.234Z","submitter":"officer-01","type":"record","v":1}',
  },
  document: {
    entry: {
      v: 1,
      type: 'document',
      // SHA-256("abc"), FIPS 180-4 B.1: the document is the 3 bytes "abc".
      digest: { alg: 'sha256', hex: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
      meta: { name: '现场检查笔录.pdf', mediaType: 'application/pdf', size: 3, caseId: CASE_ID, note: '第1页\n共1页' },
      submitter: 'officer-01',
      receivedAt: '2026-03-01T02:03:04.005Z',
    },
    text: String.raw`{"digest":{"alg":"sha256","hex":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},"meta":{"caseId":"衡环罚〔2026〕12号","mediaType":"application/pdf","name":"现场检查笔录.pdf","note":"第1页\n共1页","size":3},"receivedAt":"2026-03-01T02:03:04.005Z","submitter":"officer-01","type":"document","v":1}`,
  },
  digest: {
    entry: {
      v: 1,
      type: 'digest',
      // SHA-256 of the empty string.
      digest: { alg: 'sha256', hex: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
      meta: { mediaType: 'image/jpeg', size: 0, note: 'say "hi" \\ ok' },
      submitter: 'lab:hs.01',
      receivedAt: '2026-12-31T23:59:59.999Z',
    },
    text: String.raw`{"digest":{"alg":"sha256","hex":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},"meta":{"mediaType":"image/jpeg","note":"say \"hi\" \\ ok","size":0},"receivedAt":"2026-12-31T23:59:59.999Z","submitter":"lab:hs.01","type":"digest","v":1}`,
  },
  hj212: {
    entry: {
      v: 1,
      type: 'hj212',
      digest: { alg: 'sha256', hex: '2a4a049dbcc219a804f6738436bb24b111af108de6527f4b0f1de374752028d4' },
      meta: {
        mn: '010000A8900016F000169DC0',
        st: '22',
        cn: '2011',
        qn: '20260301080000123',
        dataTime: '2026-03-01T08:00:00+08:00',
        pollutants: ['a34004', 'a34002'],
        crc: { ok: true, variant: 'hj212' },
        flag: 4,
        version: 1,
        peer: '192.0.2.10:50212',
        parserVersion: 'guzheng-hj212/0.1.0',
      },
      submitter: 'gateway-hj212',
      receivedAt: '2026-03-01T00:00:02.500Z',
    },
    text: '{"digest":{"alg":"sha256","hex":"2a4a049dbcc219a804f6738436bb24b111af108de6527f4b0f1de374752028d4"},"meta":{"cn":"2011","crc":{"ok":true,"variant":"hj212"},"dataTime":"2026-03-01T08:00:00+08:00","flag":4,"mn":"010000A8900016F000169DC0","parserVersion":"guzheng-hj212/0.1.0","peer":"192.0.2.10:50212","pollutants":["a34004","a34002"],"qn":"20260301080000123","st":"22","version":1},"receivedAt":"2026-03-01T00:00:02.500Z","submitter":"gateway-hj212","type":"hj212","v":1}',
  },
};

const REC = GOLDEN.record;

/** A copy of the record golden with some top-level fields replaced (for negative cases). */
function withFields(fields: Record<string, unknown>): Entry {
  return { ...structuredClone(REC.entry), ...fields } as Entry;
}

/** A copy of a golden with its meta fields replaced/added. */
function withMeta(type: EntryType, meta: Record<string, unknown>): Entry {
  const e = structuredClone(GOLDEN[type].entry);
  return { ...e, meta: { ...e.meta, ...meta } } as Entry;
}

describe('entry golden bytes', () => {
  for (const type of ENTRY_TYPES) {
    const { entry, text } = GOLDEN[type];
    it(`${type}: encodes to the exact canonical string and decodes back`, () => {
      const bytes = encodeEntry(entry);
      expect(fromUtf8(bytes)).toBe(text);
      expect(bytes).toEqual(utf8(text));
      expect(decodeEntry(utf8(text))).toEqual(entry);
      const { v: _v, ...rest } = entry;
      expect(newEntry(rest)).toEqual(entry);
    });
  }

  it('the golden digests are the content digests they claim to be', () => {
    expect(fromUtf8(canonicalJson(RECORD))).toBe(RECORD_JCS);
    expect(GOLDEN.record.entry.digest).toEqual({ alg: 'sha256', hex: nodeSha256(RECORD_JCS) });
    expect(digestRecord(RECORD)).toEqual(GOLDEN.record.entry.digest);
    expect(digestBytes(utf8('abc'))).toEqual(GOLDEN.document.entry.digest);
    expect(digestBytes(new Uint8Array(0))).toEqual(GOLDEN.digest.entry.digest);
    expect(digestBytes(utf8(HJ212_PACKET))).toEqual({ alg: 'sha256', hex: nodeSha256(HJ212_PACKET) });
    expect(digestBytes(utf8(HJ212_PACKET))).toEqual(GOLDEN.hj212.entry.digest);
  });

  it('ENTRY_TYPES lists exactly the schema variants', () => {
    expect(Object.keys(metaSchemas).sort()).toEqual([...ENTRY_TYPES].sort());
    expect(entrySchema.options.map((o) => o.shape.type.value).sort()).toEqual([...ENTRY_TYPES].sort());
  });

  it('newEntry formats a Date receive time and drops undefined optional fields', () => {
    const e = newEntry({
      type: 'record',
      digest: REC.entry.digest,
      meta: { caseId: CASE_ID, note: undefined },
      submitter: 'officer-01',
      receivedAt: new Date(Date.UTC(2026, 2, 1, 0, 0, 1, 234)),
    });
    expect(e.receivedAt).toBe('2026-03-01T00:00:01.234Z');
    expect(Object.keys(e.meta)).toEqual(['caseId']);
    expect(fromUtf8(encodeEntry(e))).toBe(
      '{"digest":{"alg":"sha256","hex":"d775730b4613ce78264d453ca39342ec0c4c175de59487d1a7088574b60bd44c"},"meta":{"caseId":"衡环罚〔2026〕12号"},"receivedAt":"2026-03-01T00:00:01.234Z","submitter":"officer-01","type":"record","v":1}',
    );
    expectError(
      () => newEntry({ type: 'digest', digest: REC.entry.digest, meta: {}, submitter: 'x', receivedAt: new Date(Number.NaN) }),
      'INPUT_INVALID',
      'receivedAt',
    );
    expectError(() => formatReceivedAt(new Date(Date.UTC(10000, 0, 1))), 'INPUT_INVALID', '+010000');
  });
});

describe('decodeEntry rejects every other spelling', () => {
  const t = REC.text;
  const variants: Record<string, string> = {
    'keys out of order (top level)': t.replace('{"digest":', '{"v":1,"digest":').replace(',"v":1}', '}'),
    'keys out of order (meta)': t.replace('"caseId":"衡环罚〔2026〕12号","dataTime":"2026-03-01T08:00:00+08:00"', '"dataTime":"2026-03-01T08:00:00+08:00","caseId":"衡环罚〔2026〕12号"'),
    'space after colon': t.replace('"v":1', '"v": 1'),
    'space after comma': t.replace(',"v":1', ', "v":1'),
    'leading space': ' ' + t,
    'trailing newline': t + '\n',
    'pretty printed': JSON.stringify(JSON.parse(t), null, 2),
    'escaped CJK (\\u8861)': t.replace('衡环罚', '\\u8861环罚'),
    'escaped ASCII (\\u0061)': t.replace('"alg":"sha256"', '"alg":"sh\\u0061256"'),
    'escaped solidus': t.replace('guzheng/air-hourly/1', 'guzheng\\/air-hourly\\/1'),
    'number 1.0': t.replace('"v":1}', '"v":1.0}'),
    'number 1e0': t.replace('"v":1}', '"v":1e0}'),
    'duplicate key, same value': t.replace('"v":1}', '"v":1,"v":1}'),
    'duplicate key, first wins elsewhere': t.replace('{"digest":', '{"digest":{"alg":"sha256","hex":"00"},"digest":'),
    'byte order mark': '\ufeff' + t,
  };
  for (const [name, text] of Object.entries(variants)) {
    it(name, () => {
      expect(text).not.toBe(t);
      // Every variant parses to the same value (or one that validates), so only the canonical check catches it.
      const message = expectError(() => decodeEntry(utf8(text)), 'ENTRY_INVALID');
      expect(message).toMatch(/not canonical|not JSON/);
    });
  }
  it('the variants really are the same JSON value (so the rejection is about spelling)', () => {
    for (const name of ['keys out of order (top level)', 'space after colon', 'escaped CJK (\\u8861)', 'number 1e0', 'duplicate key, same value']) {
      expect(JSON.parse(variants[name] ?? '')).toEqual(JSON.parse(t));
    }
  });

  it('mangling any byte by ±1 is rejected or gives a different entry that is itself canonical', () => {
    for (const { text } of Object.values(GOLDEN)) {
      const good = utf8(text);
      for (let i = 0; i < good.length; i++) {
        for (const delta of [1, 255]) {
          const bad = good.slice();
          bad[i] = ((bad[i] ?? 0) + delta) & 0xff;
          let decoded: Entry | undefined;
          try {
            decoded = decodeEntry(bad);
          } catch (err) {
            if (!isLedgerError(err, 'ENTRY_INVALID')) throw err;
            continue;
          }
          expect(encodeEntry(decoded)).toEqual(bad);
        }
      }
    }
  });

  it('rejects non-Uint8Array input as INPUT_INVALID', () => {
    expectError(() => decodeEntry(REC.text as unknown as Uint8Array), 'INPUT_INVALID');
  });
});

describe('schema strictness', () => {
  it('rejects unknown keys at every level', () => {
    expectError(() => encodeEntry(withFields({ extra: 1 })), 'ENTRY_INVALID', 'entry: Unrecognized key: "extra"');
    expectError(() => encodeEntry(withMeta('record', { device: 'x' })), 'ENTRY_INVALID', 'meta: Unrecognized key: "device"');
    expectError(() => encodeEntry(withFields({ digest: { ...REC.entry.digest, size: 32 } })), 'ENTRY_INVALID', 'digest: Unrecognized key');
    expectError(() => encodeEntry(withMeta('hj212', { crc: { ok: true, variant: 'hj212', poly: 'a001' } })), 'ENTRY_INVALID', 'meta.crc: Unrecognized key');
    // Canonical bytes with an extra key are still rejected by decodeEntry.
    expectError(() => decodeEntry(utf8(REC.text.replace('"type":', '"x":0,"type":'))), 'ENTRY_INVALID', 'Unrecognized key: "x"');
    expectError(() => decodeEntry(utf8(REC.text.replace('{"digest"', '{"__proto__":{},"digest"'))), 'ENTRY_INVALID', '__proto__');
  });

  it('rejects a wrong version, type, digest algorithm or digest spelling', () => {
    expectError(() => encodeEntry(withFields({ v: 2 })), 'ENTRY_INVALID', 'v: want 1');
    expectError(() => encodeEntry(withFields({ type: 'photo' })), 'ENTRY_INVALID', 'type:');
    // sm3 is the gm suite's digest (SPEC.md#crypto-suites): a valid entry; which alg a log takes is its suite's.
    expect(() => encodeEntry(withFields({ digest: { alg: 'sm3', hex: REC.entry.digest.hex } }))).not.toThrow();
    expectError(() => encodeEntry(withFields({ digest: { alg: 'SM3', hex: REC.entry.digest.hex } })), 'ENTRY_INVALID', 'digest.alg:');
    expectError(() => encodeEntry(withFields({ digest: { alg: 'SHA256', hex: REC.entry.digest.hex } })), 'ENTRY_INVALID', 'digest.alg:');
    expectError(() => encodeEntry(withFields({ digest: { alg: 'sha256', hex: REC.entry.digest.hex.toUpperCase() } })), 'ENTRY_INVALID', 'digest.hex:');
    expectError(() => encodeEntry(withFields({ digest: { alg: 'sha256', hex: REC.entry.digest.hex.slice(2) } })), 'ENTRY_INVALID', 'digest.hex:');
    expectError(() => encodeEntry(null as unknown as Entry), 'ENTRY_INVALID', 'entry:');
  });

  it('enforces the meta shape of each type', () => {
    expectError(() => encodeEntry(withFields({ meta: {}, type: 'document' })), 'ENTRY_INVALID', 'meta.name:', 'meta.mediaType:', 'meta.size:');
    // A record's meta does not fit a document and vice versa.
    expectError(() => encodeEntry({ ...GOLDEN.document.entry, type: 'record' } as Entry), 'ENTRY_INVALID', 'meta: Unrecognized key');
    expect(() => encodeEntry({ ...GOLDEN.digest.entry, meta: {} } as Entry)).not.toThrow();
    expectError(() => encodeEntry(withMeta('hj212', { pollutants: undefined })), 'ENTRY_INVALID', 'meta.pollutants:');
    expectError(() => encodeEntry(withMeta('hj212', { pollutants: ['a34004', 'a34004-Rtd'] })), 'ENTRY_INVALID', 'meta.pollutants[1]:');
    expectError(() => encodeEntry(withMeta('hj212', { pollutants: Array.from({ length: 257 }, () => 'a') })), 'ENTRY_INVALID', 'meta.pollutants:');
    expectError(() => encodeEntry(withMeta('hj212', { flag: 256 })), 'ENTRY_INVALID', 'meta.flag:');
    expectError(() => encodeEntry(withMeta('hj212', { mn: 'MN;PW=1' })), 'ENTRY_INVALID', 'meta.mn:');
    expectError(() => encodeEntry(withMeta('hj212', { cn: '20x1' })), 'ENTRY_INVALID', 'meta.cn:');
    expectError(() => encodeEntry(withMeta('hj212', { version: 64 })), 'ENTRY_INVALID', 'meta.version:');
    expectError(() => encodeEntry(withMeta('hj212', { pno: '1a' })), 'ENTRY_INVALID', 'meta.pno:');
    expectError(() => encodeEntry(withMeta('hj212', { warnings: [] })), 'ENTRY_INVALID', 'meta.warnings:');
    expectError(() => encodeEntry(withMeta('hj212', { warnings: ['No-QN'] })), 'ENTRY_INVALID', 'meta.warnings[0]:');
    expectError(() => encodeEntry(withMeta('hj212', { warnings: Array.from({ length: 33 }, () => 'w') })), 'ENTRY_INVALID', 'meta.warnings:');
    // A packet without a usable MN is still anchored: mn is optional.
    expect(() => encodeEntry(withMeta('hj212', { mn: undefined }))).not.toThrow();
  });

  it('checks sizes as non-negative safe integers', () => {
    for (const size of [-1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, '3']) {
      expectError(() => encodeEntry(withMeta('document', { size })), 'ENTRY_INVALID', 'meta.size:');
    }
    expect(() => encodeEntry(withMeta('document', { size: Number.MAX_SAFE_INTEGER }))).not.toThrow();
    // 2^53 in the bytes, and the non-canonical -0.
    expectError(() => decodeEntry(utf8(GOLDEN.document.text.replace('"size":3', '"size":9007199254740992'))), 'ENTRY_INVALID', 'meta.size:');
    expectError(() => decodeEntry(utf8(GOLDEN.document.text.replace('"size":3', '"size":-0'))), 'ENTRY_INVALID', 'not canonical');
  });

  it('caseId: Chinese accepted, control characters and bad lengths rejected', () => {
    expect(decodeEntry(encodeEntry(withMeta('record', { caseId: CASE_ID })))).toEqual(REC.entry);
    expect(() => encodeEntry(withMeta('record', { caseId: '衡'.repeat(128) }))).not.toThrow();
    // Lengths are code points: 128 astral characters (256 UTF-16 units) still fit.
    expect(() => encodeEntry(withMeta('record', { caseId: '😀'.repeat(128) }))).not.toThrow();
    expectError(() => encodeEntry(withMeta('record', { caseId: '衡'.repeat(129) })), 'ENTRY_INVALID', 'meta.caseId: got 129 characters, want at most 128');
    expectError(() => encodeEntry(withMeta('record', { caseId: '' })), 'ENTRY_INVALID', 'meta.caseId: empty');
    for (const c of ['\u0000', '\t', '\n', '\r', '\u001f', '\u007f', '\u0085', '\u009f']) {
      expectError(() => encodeEntry(withMeta('record', { caseId: `衡环罚${c}12号` })), 'ENTRY_INVALID', 'meta.caseId: contains control character', 'at offset 3');
    }
    expectError(() => encodeEntry(withMeta('record', { caseId: 'a\ud800b' })), 'ENTRY_INVALID', 'meta.caseId: contains a lone surrogate');
    // The same through the bytes: an escaped control character or lone surrogate.
    expectError(() => decodeEntry(utf8(REC.text.replace('12号', '\\u000012号'))), 'ENTRY_INVALID', 'meta.caseId:');
    expectError(() => decodeEntry(utf8(REC.text.replace('12号', '\\ud80012号'))), 'ENTRY_INVALID', 'meta.caseId:');
  });

  it('applies the other string rules', () => {
    const doc = (meta: Record<string, unknown>) => () => encodeEntry(withMeta('document', meta));
    expect(doc({ name: 'n'.repeat(255) })).not.toThrow();
    expectError(doc({ name: 'n'.repeat(256) }), 'ENTRY_INVALID', 'meta.name:');
    expectError(doc({ name: 'a\nb.pdf' }), 'ENTRY_INVALID', 'meta.name:');
    expect(doc({ note: 'x'.repeat(1024) })).not.toThrow();
    expect(doc({ note: 'line 1\n\tline 2' })).not.toThrow();
    expectError(doc({ note: 'x'.repeat(1025) }), 'ENTRY_INVALID', 'meta.note: got 1025 characters, want at most 1024');
    expectError(doc({ note: 'a\r\nb' }), 'ENTRY_INVALID', 'meta.note: contains control character U+000D');
    for (const mediaType of ['application/pdf', 'image/jpeg', 'application/vnd.ms-excel.sheet.macroEnabled.12', 'text/plain', `a/${'b'.repeat(125)}`]) {
      expect(doc({ mediaType }), mediaType).not.toThrow();
    }
    for (const mediaType of ['text', 'text/', '/plain', 'text/plain; charset=utf-8', 'text /plain', 'text/plain/x', '图片/jpeg', `a/${'b'.repeat(126)}`]) {
      expectError(doc({ mediaType }), 'ENTRY_INVALID', 'meta.mediaType:');
    }
    const rec = (meta: Record<string, unknown>) => () => encodeEntry(withMeta('record', meta));
    expect(rec({ source: 's'.repeat(256) })).not.toThrow();
    expectError(rec({ source: 's'.repeat(257) }), 'ENTRY_INVALID', 'meta.source:');
    for (const submitter of ['a', 'officer-01', 'lab:hs.01', 'A_b-9.x:y', 'k'.repeat(64)]) {
      expect(() => encodeEntry(withFields({ submitter })), submitter).not.toThrow();
    }
    for (const submitter of ['', 'k'.repeat(65), 'a b', '张三', 'a/b', 'a\n']) {
      expectError(() => encodeEntry(withFields({ submitter })), 'ENTRY_INVALID', 'submitter:');
    }
  });

  it('receivedAt: RFC 3339 UTC with exactly milliseconds on a real date', () => {
    const at = (receivedAt: string) => () => encodeEntry(withFields({ receivedAt }));
    for (const good of ['2026-03-01T00:00:01.234Z', '2024-02-29T12:00:00.000Z', '2000-02-29T23:59:59.999Z', '0000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
      expect(at(good), good).not.toThrow();
    }
    const bad = [
      '2026-03-01T00:00:01.234', // no Z
      '2026-03-01T00:00:01Z', // no millis
      '2026-03-01T00:00:01.2Z', // too few fraction digits
      '2026-03-01T00:00:01.2345Z', // too many
      '2026-03-01T08:00:01.234+08:00', // offset instead of Z
      '2026-03-01T00:00:01.234+00:00',
      '2026-02-30T00:00:00.000Z', // Feb 30
      '2025-02-29T00:00:00.000Z', // not a leap year
      '1900-02-29T00:00:00.000Z', // century, not leap
      '2026-04-31T00:00:00.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-00-01T00:00:00.000Z',
      '2026-03-00T00:00:00.000Z',
      '2026-03-01T24:00:00.000Z',
      '2026-03-01T23:60:00.000Z',
      '2026-12-31T23:59:60.000Z', // leap second: Date never produces it
      '2026-03-01t00:00:01.234Z',
      '2026-03-01T00:00:01.234z',
      '2026-03-01 00:00:01.234Z',
      ' 2026-03-01T00:00:01.234Z',
      '+012026-03-01T00:00:01.234Z',
      '２０２６-03-01T00:00:01.234Z',
    ];
    for (const b of bad) expectError(at(b), 'ENTRY_INVALID', 'receivedAt:');
  });

  it('dataTime: RFC 3339 with an explicit offset on a real date', () => {
    for (const good of ['2026-03-01T08:00:00+08:00', '2026-03-01T00:00:00Z', '2026-03-01T08:00:00.5+08:00', '2026-03-01T08:00:00.123456789-05:30', '2024-02-29T00:00:00-00:00']) {
      expect(isRfc3339(good), good).toBe(true);
      expect(() => encodeEntry(withMeta('record', { dataTime: good })), good).not.toThrow();
    }
    for (const bad of ['2026-03-01T08:00:00', '2026-03-01 08:00:00+08:00', '2026-03-01T08:00:00+0800', '2026-03-01T08:00:00+24:00', '2026-03-01T08:00:00+08:60', '20260301080000', '2026-02-30T08:00:00+08:00', '2026-03-01T08:00:00.+08:00', '2026-03-01T08:00:00.1234567890Z']) {
      expect(isRfc3339(bad), bad).toBe(false);
      expectError(() => encodeEntry(withMeta('record', { dataTime: bad })), 'ENTRY_INVALID', 'meta.dataTime:');
    }
  });
});

describe('size cap', () => {
  it('checkEntrySize accepts exactly 65,535 bytes and rejects 65,536', () => {
    expect(MAX_ENTRY_SIZE).toBe(65_535);
    expect(() => checkEntrySize(65_535)).not.toThrow();
    expectError(() => checkEntrySize(65_536), 'ENTRY_INVALID', 'got 65536 bytes, want at most 65535');
  });

  it('decodeEntry lets 65,535 bytes through to parsing and stops 65,536 before it', () => {
    // The golden padded with JSON whitespace: valid JSON of a valid entry, so only the canonical check fails.
    const pad = (n: number) => utf8(REC.text + ' '.repeat(n - utf8(REC.text).length));
    expect(pad(65_535).length).toBe(65_535);
    expectError(() => decodeEntry(pad(65_535)), 'ENTRY_INVALID', 'not canonical');
    expectError(() => decodeEntry(pad(65_536)), 'ENTRY_INVALID', 'got 65536 bytes, want at most 65535');
  });

  it('every schema-valid entry fits: the largest possible entry of each type is under the cap', () => {
    // Four UTF-8 bytes per code point is the worst case for text (control characters are banned).
    const wide = (n: number) => '😀'.repeat(n);
    const largest: Entry[] = [
      withMeta('record', { caseId: wide(128), source: wide(256), dataTime: '2026-03-01T08:00:00.123456789+08:00', schema: wide(256), note: wide(1024) }),
      withMeta('document', { name: wide(255), mediaType: `a/${'b'.repeat(125)}`, size: Number.MAX_SAFE_INTEGER, caseId: wide(128), note: wide(1024) }),
      withMeta('digest', { name: wide(255), mediaType: `a/${'b'.repeat(125)}`, size: Number.MAX_SAFE_INTEGER, caseId: wide(128), note: wide(1024) }),
      withMeta('hj212', {
        mn: 'M'.repeat(64),
        st: 'S'.repeat(8),
        cn: '9'.repeat(8),
        qn: '9'.repeat(32),
        dataTime: '2026-03-01T08:00:00.123456789+08:00',
        pollutants: Array.from({ length: 256 }, () => 'p'.repeat(32)),
        crc: { ok: false, variant: 'v'.repeat(32) },
        flag: 255,
        version: 63,
        pnum: '9'.repeat(8),
        pno: '9'.repeat(8),
        peer: 'p'.repeat(64),
        parserVersion: 'v'.repeat(64),
        warnings: Array.from({ length: 32 }, () => 'w'.repeat(40)),
      }),
    ].map((e) => ({ ...e, submitter: 'k'.repeat(64) }));
    for (const e of largest) {
      const n = encodeEntry(e).length;
      expect(n).toBeLessThan(MAX_ENTRY_SIZE);
      expect(n).toBeGreaterThan(5_000);
    }
  });
});

describe('invalid UTF-8', () => {
  const t = REC.text;
  const prefix = utf8(t.slice(0, t.indexOf('衡')));
  const rest = utf8(t.slice(t.indexOf('衡') + 1));
  const splice = (...mid: number[]) => new Uint8Array([...prefix, ...mid, ...rest]);
  const cases: Record<string, Uint8Array> = {
    'stray 0xff': splice(0xff),
    'lone continuation byte': splice(0x80),
    'truncated 3-byte sequence': splice(0xe8, 0xa1),
    'overlong encoding of "/"': splice(0xc0, 0xaf),
    'UTF-8 encoded surrogate U+D800': splice(0xed, 0xa0, 0x80),
    'code point above U+10FFFF': splice(0xf4, 0x90, 0x80, 0x80),
  };
  it('the splice itself is right', () => {
    expect(decodeEntry(splice(...utf8('衡')))).toEqual(REC.entry);
  });
  for (const [name, bytes] of Object.entries(cases)) {
    it(name, () => {
      expectError(() => decodeEntry(bytes), 'ENTRY_INVALID', 'not valid UTF-8');
    });
  }
  it('not JSON at all', () => {
    expectError(() => decodeEntry(new Uint8Array(0)), 'ENTRY_INVALID', 'not JSON');
    expectError(() => decodeEntry(utf8(t.slice(0, -1))), 'ENTRY_INVALID', 'not JSON');
  });
});

// ---------------------------------------------------------------------------------------------
// Content digests and RFC 8785.

describe('canonicalJson / digestRecord (RFC 8785)', () => {
  it('RFC 8785 §3.2.2 example: numbers, escapes and literals', () => {
    const value = {
      numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001],
      string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/',
      literals: [null, true, false],
    };
    const want = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(fromUtf8(canonicalJson(value))).toBe(want);
    expect(digestRecord(value)).toEqual({ alg: 'sha256', hex: nodeSha256(want) });
  });

  it('RFC 8785 §3.2.3 example: keys sorted by UTF-16 code units, not code points', () => {
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const want =
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
      '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
    expect(fromUtf8(canonicalJson(value))).toBe(want);
    expect(digestRecord(value).hex).toBe(nodeSha256(want));
  });

  it('RFC 8785 Appendix B: IEEE 754 number serialization', () => {
    const table: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'], // -0
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [ieee, want] of table) {
      const view = new DataView(new ArrayBuffer(8));
      view.setBigUint64(0, BigInt(`0x${ieee}`));
      expect(fromUtf8(canonicalJson(view.getFloat64(0))), ieee).toBe(want);
    }
    // And a record mixing them, hashed against the hand-written canonical form.
    const record = { b: 0.1, a: 1e30, c: [1e21, 1e20, 1e-7, -0, 100, 0.5], d: { z: 1, y: 2 } };
    const want = '{"a":1e+30,"b":0.1,"c":[1e+21,100000000000000000000,1e-7,0,100,0.5],"d":{"y":2,"z":1}}';
    expect(fromUtf8(canonicalJson(record))).toBe(want);
    expect(digestRecord(record)).toEqual({ alg: 'sha256', hex: nodeSha256(want) });
  });

  it('accepts null-prototype objects and nesting up to MAX_JSON_DEPTH', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 2;
    bare.a = [true, null, 'x'];
    expect(fromUtf8(canonicalJson(bare))).toBe('{"a":[true,null,"x"],"b":2}');
    const nest = (depth: number): unknown => (depth === 0 ? 0 : [nest(depth - 1)]);
    expect(fromUtf8(canonicalJson(nest(MAX_JSON_DEPTH)))).toBe('['.repeat(MAX_JSON_DEPTH) + '0' + ']'.repeat(MAX_JSON_DEPTH));
    expectError(() => canonicalJson(nest(MAX_JSON_DEPTH + 1)), 'INPUT_INVALID', 'nesting deeper');
  });

  it('rejects everything JCS cannot represent exactly, naming the path', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const getter = Object.defineProperty({}, 'x', { get: () => 1, enumerable: true });
    const hidden = Object.defineProperty({}, 'x', { value: 1, enumerable: false });
    class Reading {
      value = 1;
    }
    const cases: [unknown, string][] = [
      [undefined, 'record: got undefined'],
      [{ a: undefined }, 'record.a: got undefined'],
      [[1, undefined], 'record[1]: got undefined'],
      [{ f: () => 1 }, 'record.f: got function'],
      [{ n: Number.NaN }, 'record.n: got NaN'],
      [{ n: Number.POSITIVE_INFINITY }, 'record.n: got Infinity'],
      [{ n: Number.NEGATIVE_INFINITY }, 'record.n: got -Infinity'],
      [{ n: 1n }, 'record.n: got bigint'],
      [{ s: Symbol('s') }, 'record.s: got symbol'],
      [{ t: new Date(0) }, 'record.t: got Date'],
      [{ m: new Map() }, 'record.m: got Map'],
      [{ m: new Set([1]) }, 'record.m: got Set'],
      [{ b: new Uint8Array(1) }, 'record.b: got Uint8Array'],
      [{ r: new Reading() }, 'record.r: got Reading'],
      [{ 'a b': { c: [0, [Number.NaN]] } }, 'record["a b"].c[1][0]: got NaN'],
      // eslint-disable-next-line no-sparse-arrays
      [[1, , 3], 'record: sparse array'],
      [Object.assign([1], { extra: 2 }), 'record: sparse array or array with extra properties'],
      [cyclic, 'record.self: circular reference'],
      [{ s: 'a\ud800' }, 'record.s: lone surrogate'],
      [{ ['\udc00']: 1 }, 'lone surrogate'],
      [{ [Symbol('k')]: 1 }, 'record: symbol key'],
      [getter, 'record.x: accessor'],
      [hidden, 'record.x: accessor or non-enumerable'],
    ];
    for (const [value, message] of cases) {
      expectError(() => digestRecord(value), 'INPUT_INVALID', message);
      expectError(() => canonicalJson(value), 'INPUT_INVALID');
    }
  });
});

describe('digestBytes / checkDigest', () => {
  it('digestBytes is SHA-256 of the bytes', () => {
    const bytes = utf8('衡水 HJ 212 \u0000 raw');
    expect(digestBytes(bytes)).toEqual({ alg: 'sha256', hex: nodeSha256(bytes) });
    expectError(() => digestBytes('abc' as unknown as Uint8Array), 'INPUT_INVALID');
    expectError(() => digestBytes(new Uint8Array(1), 'sha1' as unknown as 'sha256'), 'INPUT_INVALID', 'sha1');
  });

  it('checkDigest passes on a match and throws DIGEST_MISMATCH with both digests otherwise', () => {
    expect(() => checkDigest(GOLDEN.document.entry, digestBytes(utf8('abc')))).not.toThrow();
    expect(() => checkDigest(GOLDEN.record.entry, digestRecord({ ...RECORD }))).not.toThrow();
    const other = digestBytes(utf8('abd'));
    expectError(() => checkDigest(GOLDEN.document.entry, other), 'DIGEST_MISMATCH', other.hex, GOLDEN.document.entry.digest.hex);
    // A changed record value changes the digest.
    expectError(() => checkDigest(GOLDEN.record.entry, digestRecord({ ...RECORD, value: '35.20' })), 'DIGEST_MISMATCH');
    expectError(() => checkDigest(GOLDEN.document.entry, { alg: 'sha256', hex: 'ABC' }), 'INPUT_INVALID');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties.

const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/gu;
const CONTROLS_MULTILINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/gu;

/** Free text of 1..max code points with controls removed (TAB/LF kept if multiline). */
function textArb(max: number, multiline = false): fc.Arbitrary<string> {
  const unit = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('a', 'Z', '0', ' ', '"', '\\', '/', '衡', '〔', '号', '😀', 'é', '\u2028', '\t', '\n') },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  );
  return fc
    .array(unit, { minLength: 1, maxLength: Math.min(max, 40) })
    .map((units) => units.join('').replace(multiline ? CONTROLS_MULTILINE : CONTROLS, ''))
    .filter((s) => s.length > 0 && [...s].length <= max);
}

const dateArb = fc.date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });
const receivedAtArb = dateArb.map((d) => d.toISOString());
const dataTimeArb = fc
  .tuple(dateArb, fc.option(fc.stringMatching(/^[0-9]{1,9}$/), { nil: undefined }), fc.oneof(fc.constant('Z'), fc.stringMatching(/^[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]$/)))
  .map(([d, frac, offset]) => d.toISOString().slice(0, 19) + (frac === undefined ? '' : `.${frac}`) + offset);
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ({ alg: 'sha256' as const, hex: toHex(b) }));
const mediaTypeArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,30}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,30}$/);
const sizeArb = fc.oneof(fc.constantFrom(0, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());

const metaArbs = {
  record: fc.record(
    { caseId: textArb(128), source: textArb(256), dataTime: dataTimeArb, schema: textArb(256), note: textArb(1024, true) },
    { requiredKeys: [] },
  ),
  document: fc.record(
    { name: textArb(255), mediaType: mediaTypeArb, size: sizeArb, caseId: textArb(128), note: textArb(1024, true) },
    { requiredKeys: ['name', 'mediaType', 'size'] },
  ),
  digest: fc.record(
    { name: textArb(255), mediaType: mediaTypeArb, size: sizeArb, caseId: textArb(128), note: textArb(1024, true) },
    { requiredKeys: [] },
  ),
  hj212: fc.record(
    {
      mn: fc.stringMatching(/^[A-Za-z0-9!#$%()*+./:<>?@_~-]{1,64}$/),
      st: fc.stringMatching(/^[A-Za-z0-9]{1,8}$/),
      cn: fc.stringMatching(/^[0-9]{1,8}$/),
      qn: fc.stringMatching(/^[0-9]{1,32}$/),
      dataTime: dataTimeArb,
      pollutants: fc.array(fc.stringMatching(/^[A-Za-z0-9_]{1,32}$/), { maxLength: 20 }),
      crc: fc.record({ ok: fc.boolean(), variant: fc.stringMatching(/^[A-Za-z0-9._-]{1,32}$/) }),
      flag: fc.integer({ min: 0, max: 255 }),
      version: fc.integer({ min: 0, max: 63 }),
      pnum: fc.stringMatching(/^[0-9]{1,8}$/),
      pno: fc.stringMatching(/^[0-9]{1,8}$/),
      peer: fc.stringMatching(/^[A-Za-z0-9.:[\]%_-]{1,64}$/),
      parserVersion: fc.stringMatching(/^[A-Za-z0-9._+/@-]{1,64}$/),
      warnings: fc.array(fc.stringMatching(/^[a-z0-9-]{1,40}$/), { minLength: 1, maxLength: 32 }),
    },
    { requiredKeys: ['pollutants', 'crc', 'parserVersion'] },
  ),
};

const entryArb: fc.Arbitrary<Entry> = fc.oneof(
  ...ENTRY_TYPES.map((type) =>
    fc
      .record({ digest: digestArb, meta: metaArbs[type] as fc.Arbitrary<unknown>, submitter: fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/), receivedAt: receivedAtArb })
      .map((f) => ({ v: 1, type, ...f }) as Entry),
  ),
);

/** A deep copy of a JSON value with every object's keys inserted in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).reverse()) Object.defineProperty(out, k, { value: reverseKeys(v), enumerable: true, writable: true, configurable: true });
  return out;
}

describe('properties', () => {
  it('encode → decode round-trips every valid entry, and decode → encode is the identity on bytes', () => {
    fc.assert(
      fc.property(entryArb, (entry) => {
        const bytes = encodeEntry(entry);
        expect(bytes.length).toBeLessThanOrEqual(MAX_ENTRY_SIZE);
        const decoded = decodeEntry(bytes);
        expect(decoded).toEqual(entry);
        expect(encodeEntry(decoded)).toEqual(bytes);
        // The bytes are JCS of the parsed JSON: hashing the entry as a record gives the same digest.
        expect(digestRecord(JSON.parse(fromUtf8(bytes)))).toEqual(digestBytes(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('one spelling: any inserted byte is rejected or yields an entry whose encoding is exactly the new bytes', () => {
    fc.assert(
      fc.property(entryArb, fc.nat(), fc.constantFrom(0x20, 0x0a, 0x22, 0x5c, 0x2c, 0x30, 0x7d, 0xe8), (entry, at, byte) => {
        const good = encodeEntry(entry);
        const i = at % (good.length + 1);
        const bad = new Uint8Array([...good.subarray(0, i), byte, ...good.subarray(i)]);
        let decoded: Entry;
        try {
          decoded = decodeEntry(bad);
        } catch (err) {
          expect(isLedgerError(err, 'ENTRY_INVALID')).toBe(true);
          return;
        }
        expect(encodeEntry(decoded)).toEqual(bad);
      }),
      { numRuns: 500 },
    );
  });

  it('canonicalJson is idempotent on parsed output and independent of key insertion order', () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(json, (value) => {
        const once = fromUtf8(canonicalJson(value));
        expect(fromUtf8(canonicalJson(JSON.parse(once)))).toBe(once);
        expect(fromUtf8(canonicalJson(reverseKeys(value)))).toBe(once);
        expect(digestRecord(value).hex).toBe(nodeSha256(once));
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The entry serializer is specialised for schema-valid entries (codec.ts jcsValue); the general
// RFC 8785 implementation (the canonicalize package) stays the oracle.

/** An entry with some optional meta fields present but undefined, and keys in any order. */
const entryWithUndefinedArb: fc.Arbitrary<Entry> = fc
  .tuple(entryArb, fc.subarray(['caseId', 'source', 'dataTime', 'schema', 'note', 'name', 'mediaType', 'size', 'mn', 'st', 'flag', 'warnings']), fc.boolean())
  .map(([entry, unset, reverse]) => {
    const meta: Record<string, unknown> = { ...entry.meta };
    const optional = entrySchema.options.find((o) => o.shape.type.value === entry.type)?.shape.meta.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
    for (const k of unset) if (k in optional && optional[k]!.safeParse(undefined).success) meta[k] = undefined;
    const e = { ...entry, meta } as Entry;
    return (reverse ? reverseKeys(e) : e) as Entry;
  });

describe('differential: the entry serializer against canonicalize (RFC 8785)', () => {
  it('encodeEntry, buildEntry and decodeEntry agree byte for byte with canonicalize on every valid entry', () => {
    fc.assert(
      fc.property(fc.oneof(entryArb, entryWithUndefinedArb), (entry) => {
        const want = canonicalize(entry);
        expect(typeof want).toBe('string');
        const bytes = encodeEntry(entry);
        expect(fromUtf8(bytes)).toBe(want);
        const built = buildEntry({ type: entry.type, digest: entry.digest, meta: entry.meta, submitter: entry.submitter, receivedAt: entry.receivedAt } as Parameters<typeof buildEntry>[0]);
        expect(fromUtf8(built.bytes)).toBe(want);
        // The built entry is exactly what its bytes decode to (no undefined members left).
        expect(built.entry).toStrictEqual(decodeEntry(built.bytes));
        expect(canonicalize(built.entry)).toBe(want);
        expect(newEntry({ type: entry.type, digest: entry.digest, meta: entry.meta, submitter: entry.submitter, receivedAt: entry.receivedAt } as Parameters<typeof newEntry>[0])).toStrictEqual(built.entry);
      }),
      { numRuns: 2000 },
    );
  });

  it('buildEntry returns exactly what its bytes decode to, even for -0 and undefined members', () => {
    const built = buildEntry({ type: 'document', digest: digestBytes(utf8('x')), meta: { name: 'a.pdf', mediaType: 'application/pdf', size: -0, note: undefined }, submitter: 'officer-01', receivedAt: '2026-03-01T00:00:00.000Z' });
    expect(fromUtf8(built.bytes)).toBe(canonicalize(built.entry));
    expect(Object.is(built.entry.meta.size, 0)).toBe(true);
    expect('note' in built.entry.meta).toBe(false);
    expect(built.entry).toStrictEqual(decodeEntry(built.bytes));
  });

  it('decodeEntry accepts exactly the canonicalize spelling: re-serialized with other key orders or spacing it is refused', () => {
    fc.assert(
      fc.property(entryArb, (entry) => {
        const want = canonicalize(entry) as string;
        expect(decodeEntry(utf8(want))).toEqual(entry);
        const other = JSON.stringify(reverseKeys(JSON.parse(want)));
        if (other !== want) expectError(() => decodeEntry(utf8(other)), 'ENTRY_INVALID', 'not canonical');
        expectError(() => decodeEntry(utf8(JSON.stringify(JSON.parse(want), null, 1))), 'ENTRY_INVALID');
      }),
      { numRuns: 500 },
    );
  });
});
