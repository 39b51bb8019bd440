import { describe, it, expect } from 'vitest';
import { codeOf } from '../support/codes.js';
import { LedgerError, type ErrorCode } from '../../src/core/errors.js';
import { fromBase64, toBase64, utf8, MAX_UINT64 } from '../../src/core/bytes.js';
import { generateSignerKey, parseSignerKey, parseVerifierKey, signNote } from '../../src/core/note.js';
import {
  formatCheckpoint,
  MAX_CHECKPOINT_SIZE,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from '../../src/core/checkpoint.js';

// The C2SP tlog-checkpoint example body.
const ROOT_B64 = 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=';
const GOLDEN = 'example.com/behind-the-sofa\n20852163\n' + ROOT_B64 + '\n';
const CP = { origin: 'example.com/behind-the-sofa', size: 20852163n, root: fromBase64(ROOT_B64) };

const ORIGIN = 'guzheng.example/log';
const LOG = generateSignerKey(ORIGIN, Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i));
// Same name, another key: a different key id, so an unknown key to a verifier of LOG.
const IMPOSTOR = generateSignerKey(ORIGIN, Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i));
const WITNESS = generateSignerKey('witness.example/w1', Uint8Array.from({ length: 32 }, (_, i) => 0xc0 + i));
const OTHER_LOG = generateSignerKey('other.example/log', Uint8Array.from({ length: 32 }, (_, i) => 0x20 + i));
const ROOT = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
const LOG_CP = { origin: ORIGIN, size: 42n, root: ROOT };


describe('formatCheckpoint / parseCheckpoint', () => {
  it('round-trips the golden checkpoint exactly', () => {
    expect(formatCheckpoint(CP)).toBe(GOLDEN);
    expect(parseCheckpoint(GOLDEN)).toEqual({ ...CP, extensions: [] });
    expect(formatCheckpoint(parseCheckpoint(GOLDEN))).toBe(GOLDEN);
  });

  it('round-trips the extreme sizes', () => {
    for (const size of [0n, 1n, MAX_UINT64]) {
      const text = formatCheckpoint({ ...CP, size });
      expect(text.split('\n')[1]).toBe(size.toString());
      expect(parseCheckpoint(text).size).toBe(size);
    }
  });

  it('parses extension lines', () => {
    const cp = parseCheckpoint(GOLDEN + 'ext one\n— looks like a signature\n');
    expect(cp.extensions).toEqual(['ext one', '— looks like a signature']);
    expect(cp.size).toBe(20852163n);
    // Formatting keeps them: format and parse are an exact pair, extension lines included.
    expect(formatCheckpoint(cp)).toBe(GOLDEN + 'ext one\n— looks like a signature\n');
    for (const bad of [[''], ['a\nb'], ['tab\there'], ['\ud800'], [7]]) {
      expect(codeOf(() => formatCheckpoint({ ...cp, extensions: bad as string[] }))).toBe('CHECKPOINT_MALFORMED');
    }
  });

  it('rejects non-canonical sizes', () => {
    for (const size of ['01', '00', '+1', '-1', ' 1', '1 ', '1.0', '1e3', '0x10', '', '١', '18446744073709551616', '99999999999999999999999']) {
      const text = `${CP.origin}\n${size}\n${ROOT_B64}\n`;
      expect([size, codeOf(() => parseCheckpoint(text))]).toEqual([size, 'CHECKPOINT_MALFORMED']);
    }
    expect(parseCheckpoint(`${CP.origin}\n18446744073709551615\n${ROOT_B64}\n`).size).toBe(MAX_UINT64);
  });

  it('rejects roots that are not the canonical base64 of 32 bytes', () => {
    const roots = [
      toBase64(new Uint8Array(31)),
      toBase64(new Uint8Array(33)),
      '',
      ROOT_B64.replace(/I=$/, 'J='), // non-zero pad bits: same bytes, second spelling
      ROOT_B64.slice(0, -1), // no padding
      ROOT_B64.replace('/', '_'), // URL alphabet
      ROOT_B64 + ' ',
      ROOT_B64.slice(0, 20) + '\u00a0' + ROOT_B64.slice(20),
    ];
    for (const root of roots) {
      expect([root, codeOf(() => parseCheckpoint(`${CP.origin}\n1\n${root}\n`))]).toEqual([root, 'CHECKPOINT_MALFORMED']);
    }
  });

  it('rejects malformed layout and origins', () => {
    const bad: Array<[string, string]> = [
      ['two lines', `${CP.origin}\n1\n`],
      ['no final newline', GOLDEN.slice(0, -1)],
      ['empty', ''],
      ['empty origin', `\n1\n${ROOT_B64}\n`],
      ['origin with space', `example.com log\n1\n${ROOT_B64}\n`],
      ['origin with plus', `example.com+log\n1\n${ROOT_B64}\n`],
      ['origin with NBSP', `example.com\u00a0log\n1\n${ROOT_B64}\n`],
      ['empty extension line', GOLDEN + '\n'],
      ['empty extension line between', GOLDEN + 'a\n\nb\n'],
      ['CRLF', GOLDEN.replace(/\n/g, '\r\n')],
      ['tab', GOLDEN.replace('example', 'exa\tmple')],
      ['lone surrogate', GOLDEN + '\ud800\n'],
      ['too big', GOLDEN + ('x'.repeat(1000) + '\n').repeat(MAX_CHECKPOINT_SIZE / 1000)],
    ];
    for (const [desc, text] of bad) expect([desc, codeOf(() => parseCheckpoint(text))]).toEqual([desc, 'CHECKPOINT_MALFORMED']);
  });

  it('formatCheckpoint rejects what parseCheckpoint would reject', () => {
    const bad = [
      { ...CP, origin: '' },
      { ...CP, origin: 'a b' },
      { ...CP, origin: 'a+b' },
      { ...CP, size: -1n },
      { ...CP, size: MAX_UINT64 + 1n },
      { ...CP, size: 1 as unknown as bigint },
      { ...CP, root: new Uint8Array(31) },
      { ...CP, root: new Uint8Array(33) },
    ];
    for (const cp of bad) expect(codeOf(() => formatCheckpoint(cp))).toBe('CHECKPOINT_MALFORMED');
  });
});

describe('signCheckpoint / openCheckpoint', () => {
  const signed = signCheckpoint(LOG_CP, LOG.signerKey);

  it('signs a checkpoint as a note and opens it', () => {
    expect(signed.startsWith(formatCheckpoint(LOG_CP) + '\n— ' + ORIGIN + ' ')).toBe(true);
    expect(signed).toBe(signNote(formatCheckpoint(LOG_CP), [LOG.signerKey]));
    for (const key of [LOG.verifierKey, parseVerifierKey(LOG.verifierKey)]) {
      const opened = openCheckpoint(signed, key, { origin: ORIGIN });
      expect(opened.checkpoint).toEqual({ ...LOG_CP, extensions: [] });
      expect(opened.note).toBe(signed);
      expect(opened.text).toBe(formatCheckpoint(LOG_CP));
      expect(opened.verified).toEqual([{ name: ORIGIN, keyId: parseVerifierKey(LOG.verifierKey).keyId }]);
    }
    expect(openCheckpoint(utf8(signed), LOG.verifierKey).note).toBe(signed);
    expect(signCheckpoint(LOG_CP, parseSignerKey(LOG.signerKey))).toBe(signed);
  });

  it('reproduces the TSDoc worked example of openCheckpoint', () => {
    const keys = generateSignerKey('example.com/behind-the-sofa', new Uint8Array(32).fill(7));
    const skey = 'PRIVATE+KEY+example.com/behind-the-sofa+252b74d2+AQcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH';
    const vkey = 'example.com/behind-the-sofa+252b74d2+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs';
    const example =
      GOLDEN +
      '\n— example.com/behind-the-sofa JSt00p6KTYtH8opAMF2NJ7glHT4uHMzg9iBNNDYLQta3PzLlhUjMPmDAXA2L1DXjWfKrvjQJdIEVj9Tiu9f35PqL5g8=\n';
    expect(keys).toEqual({ signerKey: skey, verifierKey: vkey });
    expect(signCheckpoint(CP, skey)).toBe(example);
    const { checkpoint } = openCheckpoint(example, vkey, { origin: 'example.com/behind-the-sofa' });
    expect(checkpoint).toEqual({ ...CP, extensions: [] });
  });

  it('ignores witness cosignatures and keeps them as unverified', () => {
    const cosigned = signNote(formatCheckpoint(LOG_CP), [LOG.signerKey, WITNESS.signerKey]);
    const opened = openCheckpoint(cosigned, LOG.verifierKey);
    expect(opened.verified.map((s) => s.name)).toEqual([ORIGIN]);
    expect(opened.unverified.map((s) => s.name)).toEqual(['witness.example/w1']);
  });

  it('rejects origin mismatches', () => {
    expect(codeOf(() => openCheckpoint(signed, LOG.verifierKey, { origin: 'other.example/log' }))).toBe('ORIGIN_MISMATCH');
    expect(codeOf(() => signCheckpoint({ ...LOG_CP, origin: 'other.example/log' }, LOG.signerKey))).toBe('ORIGIN_MISMATCH');
    // A valid signature by another log's key over a checkpoint claiming our origin.
    const foreign = signNote(formatCheckpoint(LOG_CP), [OTHER_LOG.signerKey]);
    expect(codeOf(() => openCheckpoint(foreign, OTHER_LOG.verifierKey))).toBe('ORIGIN_MISMATCH');
    expect(codeOf(() => openCheckpoint(foreign, LOG.verifierKey))).toBe('NOTE_UNVERIFIED');
  });

  it('treats a key with the same name but another key id as unknown', () => {
    const byImpostor = signCheckpoint(LOG_CP, IMPOSTOR.signerKey);
    expect(parseVerifierKey(IMPOSTOR.verifierKey).keyId).not.toBe(parseVerifierKey(LOG.verifierKey).keyId);
    expect(codeOf(() => openCheckpoint(byImpostor, LOG.verifierKey))).toBe('NOTE_UNVERIFIED');
    // The impostor's signature relabelled with the real key id is checked, and fails.
    const line = byImpostor.trimEnd().split('\n').pop()!;
    const raw = fromBase64(line.split(' ')[2]!);
    const realId = parseVerifierKey(LOG.verifierKey).keyId;
    raw.set([realId >>> 24, (realId >>> 16) & 0xff, (realId >>> 8) & 0xff, realId & 0xff], 0);
    const relabelled = formatCheckpoint(LOG_CP) + `\n— ${ORIGIN} ${toBase64(raw)}\n`;
    expect(codeOf(() => openCheckpoint(relabelled, LOG.verifierKey))).toBe('SIGNATURE_INVALID');
  });

  it('rejects a validly signed but malformed checkpoint body', () => {
    const body = `${ORIGIN}\n042\n${toBase64(ROOT)}\n`;
    expect(codeOf(() => openCheckpoint(signNote(body, [LOG.signerKey]), LOG.verifierKey))).toBe('CHECKPOINT_MALFORMED');
    const short = `${ORIGIN}\n42\n`;
    expect(codeOf(() => openCheckpoint(signNote(short, [LOG.signerKey]), LOG.verifierKey))).toBe('CHECKPOINT_MALFORMED');
  });

  it('rejects malformed keys', () => {
    expect(codeOf(() => openCheckpoint(signed, LOG.signerKey))).toBe('KEY_MALFORMED');
    expect(codeOf(() => signCheckpoint(LOG_CP, LOG.verifierKey))).toBe('KEY_MALFORMED');
  });

  it('fails to open under every byte flip, truncation and extension of a signed checkpoint', () => {
    const good = utf8(signCheckpoint(LOG_CP, LOG.signerKey));
    const allowed: ErrorCode[] = ['NOTE_MALFORMED', 'SIGNATURE_INVALID', 'NOTE_UNVERIFIED', 'CHECKPOINT_MALFORMED', 'ORIGIN_MISMATCH'];
    const variants: Array<[string, Uint8Array]> = [];
    for (let i = 0; i < good.length; i++) {
      for (const flip of [(b: number) => b ^ 0x01, (b: number) => (b + 1) & 0xff, (b: number) => b ^ 0x80]) {
        const v = good.slice();
        v[i] = flip(v[i]!);
        variants.push([`flip@${i}`, v]);
      }
      variants.push([`truncate@${i}`, good.slice(0, i)]);
    }
    variants.push(['preceding-garbage', new Uint8Array([0x78, ...good])]);
    variants.push(['trailing-garbage', new Uint8Array([...good, 0x78])]);
    variants.push(['trailing-newline', new Uint8Array([...good, 0x0a])]);
    const opened: string[] = [];
    for (const [desc, bytes] of variants) {
      const code = codeOf(() => openCheckpoint(bytes, LOG.verifierKey, { origin: ORIGIN }));
      if (!(allowed as string[]).includes(code)) opened.push(`${desc}: ${code}`);
    }
    expect(opened).toEqual([]);
    expect(variants.length).toBeGreaterThan(4 * 150);
  });
});
