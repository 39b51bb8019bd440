import { describe, it, expect } from 'vitest';
import { codeOf } from '../support/codes.js';
import { createPrivateKey, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { LedgerError } from '../../src/core/errors.js';
import { fromBase64, toBase64, utf8 } from '../../src/core/bytes.js';
import {
  formatSignerKey,
  formatVerifierKey,
  generateSignerKey,
  isValidKeyName,
  keyIdOf,
  MAX_NOTE_SIZE,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  UnverifiedNoteError,
} from '../../src/core/note.js';

// Go golang.org/x/mod/sumdb/note documentation and note_test.go.
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
// EnochRoot's signature of TEXT from Go's doubly-signed example (its signer key is not published).
const ENOCH_SIG =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const SIGNED = TEXT + '\n' + PETER_SIG;

// Our own second signer, from a fixed seed (core takes randomness as bytes).
const SEED_B = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const KEYS_B = generateSignerKey('guzheng.example/witness', SEED_B);

/** Every proper substring and every byte+1 of an ASCII string (Go TestNewVerifier). */
function manglings(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i <= s.length; i++) {
    for (let j = i + 1; j <= s.length; j++) if (i !== 0 || j !== s.length) out.push(s.slice(i, j));
  }
  for (let i = 0; i < s.length; i++) out.push(s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) + 1) + s.slice(i + 1));
  return out;
}

describe('keys', () => {
  it('parses Go example verifier key', () => {
    const v = parseVerifierKey(PETER_VKEY);
    expect(v.name).toBe('PeterNeumann');
    expect(v.keyId).toBe(0xc74f20a3);
    expect(v.publicKey).toHaveLength(32);
    expect(v.text).toBe(PETER_VKEY);
    expect(formatVerifierKey(v.name, v.publicKey)).toBe(PETER_VKEY);
    expect(keyIdOf('PeterNeumann', v.publicKey)).toBe(0xc74f20a3);
  });

  it('parses Go example signer key and derives exactly its verifier key', () => {
    const s = parseSignerKey(PETER_SKEY);
    expect(s.name).toBe('PeterNeumann');
    expect(s.keyId).toBe(0xc74f20a3);
    expect(s.seed).toHaveLength(32);
    expect(formatVerifierKey(s.name, s.publicKey)).toBe(PETER_VKEY);
    expect(formatSignerKey(s.name, s.seed)).toBe(PETER_SKEY);
    expect(generateSignerKey(s.name, s.seed)).toEqual({ signerKey: PETER_SKEY, verifierKey: PETER_VKEY });
  });

  it('parses Go EnochRoot verifier key (high bit set in key id)', () => {
    const v = parseVerifierKey(ENOCH_VKEY);
    expect(v.keyId).toBe(0xaf0cfe78);
    expect(formatVerifierKey(v.name, v.publicKey)).toBe(ENOCH_VKEY);
  });

  it('rejects a signer key whose key id does not match its seed', () => {
    // Circulated as "Go's EnochRoot signer key", but its seed derives key id 700e3074, not af0cfe78.
    const bogus = 'PRIVATE+KEY+EnochRoot+af0cfe78+AUMNYkdW3GgQgq+2TSsodqb/+YPvAwHV3a4CzcZ5Fbdq';
    expect(codeOf(() => parseSignerKey(bogus))).toBe('KEY_MALFORMED');
  });

  it('checks a signer key object again once its seed was changed after a first signature', () => {
    const s = parseSignerKey(PETER_SKEY);
    const key = { ...s, seed: s.seed.slice(), publicKey: s.publicKey.slice() };
    expect(signNote('hello\n', [key])).toContain('PeterNeumann');
    // Checked keys are remembered; a changed seed must not sign under the old key's id.
    key.seed[0] = (key.seed[0] as number) ^ 1;
    expect(codeOf(() => signNote('hello\n', [key]))).toBe('KEY_MALFORMED');
    key.seed[0] = (key.seed[0] as number) ^ 1;
    expect(signNote('hello\n', [key])).toContain('PeterNeumann');
    expect(codeOf(() => signNote('hello\n', [{ ...key, keyId: key.keyId ^ 1 }]))).toBe('KEY_MALFORMED');
  });

  it('generates consistent key pairs from a seed', () => {
    const s = parseSignerKey(KEYS_B.signerKey);
    const v = parseVerifierKey(KEYS_B.verifierKey);
    expect(s.name).toBe('guzheng.example/witness');
    expect(v.keyId).toBe(s.keyId);
    expect(v.publicKey).toEqual(s.publicKey);
    expect(s.seed).toEqual(SEED_B);
    const [, name, hex, data] = /^([^+]+)\+([^+]+)\+(.*)$/.exec(KEYS_B.verifierKey)!;
    expect([name, hex]).toEqual(['guzheng.example/witness', s.keyId.toString(16).padStart(8, '0')]);
    expect(fromBase64(data!)).toEqual(new Uint8Array([1, ...s.publicKey]));
    // Regression pin (self-generated; the cross-implementation check is Go's PeterNeumann key).
    expect(KEYS_B).toEqual({
      signerKey: 'PRIVATE+KEY+guzheng.example/witness+0863ae60+AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g',
      verifierKey: 'guzheng.example/witness+0863ae60+AXm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk',
    });
  });

  it('agrees with node:crypto Ed25519 (independent implementation)', () => {
    // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
    const pkcs8 = new Uint8Array([...fromBase64('MC4CAQAwBQYDK2VwBCIEIA=='), ...SEED_B]);
    const priv = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
    expect(new Uint8Array(spki.subarray(-32))).toEqual(parseVerifierKey(KEYS_B.verifierKey).publicKey);
    const line = signNote(TEXT, [KEYS_B.signerKey]).trimEnd().split('\n').pop()!;
    const sig = fromBase64(line.split(' ')[2]!).subarray(4);
    expect(nodeVerify(null, Buffer.from(TEXT), createPublicKey(priv), Buffer.from(sig))).toBe(true);
  });

  it('rejects every mangling of the verifier key (Go TestNewVerifier)', () => {
    const accepted = manglings(PETER_VKEY).filter((k) => codeOf(() => parseVerifierKey(k)) !== 'KEY_MALFORMED');
    expect(accepted).toEqual([]);
  });

  it('rejects every mangling of the signer key (Go TestNewSigner), without echoing key data', () => {
    const keyData = PETER_SKEY.slice(PETER_SKEY.lastIndexOf('+', PETER_SKEY.length - 40) + 1);
    const accepted: string[] = [];
    for (const k of manglings(PETER_SKEY)) {
      try {
        parseSignerKey(k);
        accepted.push(k);
      } catch (err) {
        expect(err).toBeInstanceOf(LedgerError);
        expect((err as LedgerError).code).toBe('KEY_MALFORMED');
        expect((err as LedgerError).message).not.toContain(keyData.slice(4, 20));
      }
    }
    expect(accepted).toEqual([]);
  });

  it('rejects wrong-length and unknown-algorithm keys even with adjusted key ids', () => {
    expect(codeOf(() => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='))).toBe('KEY_MALFORMED');
    expect(codeOf(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'))).toBe('KEY_MALFORMED');
  });

  it('rejects spellings Go accepts but that are not canonical', () => {
    const bad = [
      PETER_VKEY.replace('c74f20a3', 'C74F20A3'), // uppercase key id
      PETER_VKEY.replace('ARpc2QcU', 'ARpc2QcU\n'), // Go's base64 skips newlines
      PETER_VKEY.replace('/', '_'), // URL alphabet
      PETER_VKEY + '=', // stray padding
      ' ' + PETER_VKEY,
      PETER_VKEY + ' ',
    ];
    for (const k of bad) expect(codeOf(() => parseVerifierKey(k))).toBe('KEY_MALFORMED');
    expect(codeOf(() => parseSignerKey(PETER_SKEY.replace('c74f20a3', 'C74F20A3')))).toBe('KEY_MALFORMED');
    expect(codeOf(() => parseSignerKey(PETER_SKEY.replace('PRIVATE', 'private')))).toBe('KEY_MALFORMED');
  });

  it('validates key names like Go isValidName', () => {
    for (const ok of ['a', 'example.com/log', 'Καλημέρα', 'a\u200bb' /* ZWSP is not White_Space */]) {
      expect(isValidKeyName(ok)).toBe(true);
    }
    for (const bad of ['', 'a b', 'a+b', 'a\tb', 'a\nb', 'a\u00a0b', 'a\u2028b', 'a\u3000b', 'a\u0001b', 'a\ud800b']) {
      expect(isValidKeyName(bad)).toBe(false);
      expect(codeOf(() => generateSignerKey(bad, SEED_B))).toBe('KEY_MALFORMED');
    }
  });

  it('rejects seeds and public keys of the wrong length', () => {
    expect(codeOf(() => generateSignerKey('a', new Uint8Array(31)))).toBe('KEY_MALFORMED');
    expect(codeOf(() => formatVerifierKey('a', new Uint8Array(33)))).toBe('KEY_MALFORMED');
    expect(codeOf(() => keyIdOf('a', new Uint8Array(31)))).toBe('KEY_MALFORMED');
  });
});

describe('signNote', () => {
  it("reproduces Go's example byte for byte", () => {
    expect(signNote(TEXT, [PETER_SKEY])).toBe(SIGNED);
    expect(signNote(TEXT, [parseSignerKey(PETER_SKEY)])).toBe(SIGNED);
  });

  it('signs with several keys in the order given', () => {
    const signed = signNote(TEXT, [PETER_SKEY, KEYS_B.signerKey]);
    expect(signed.startsWith(SIGNED)).toBe(true);
    expect(signed.slice(SIGNED.length).startsWith('— guzheng.example/witness ')).toBe(true);
    const both = openNote(signed, [PETER_VKEY, KEYS_B.verifierKey]);
    expect(both.verified.map((s) => s.name)).toEqual(['PeterNeumann', 'guzheng.example/witness']);
    expect(both.unverified).toEqual([]);
  });

  it('round-trips texts with blank lines and signature-like lines', () => {
    for (const text of ['\n', 'a\n\nb\n', 'a\n\n', 'x\n\n' + PETER_SIG, 'tab-free \u007f DEL and ünïcödé 🙂\n']) {
      expect(openNote(signNote(text, [PETER_SKEY]), [PETER_VKEY]).text).toBe(text);
    }
  });

  it('rejects text that could not be opened', () => {
    for (const text of ['', 'abc', 'a\tb\n', 'a\rb\n', 'a\r\n', '\u0000\n', 'a\ud800\n']) {
      expect(codeOf(() => signNote(text, [PETER_SKEY]))).toBe('NOTE_MALFORMED');
    }
    expect(codeOf(() => signNote('a'.repeat(MAX_NOTE_SIZE) + '\n', [PETER_SKEY]))).toBe('NOTE_MALFORMED');
  });

  it('rejects empty, duplicate and malformed signers', () => {
    expect(codeOf(() => signNote(TEXT, []))).toBe('INPUT_INVALID');
    expect(codeOf(() => signNote(TEXT, [PETER_SKEY, PETER_SKEY]))).toBe('INPUT_INVALID');
    expect(codeOf(() => signNote(TEXT, [PETER_VKEY]))).toBe('KEY_MALFORMED');
    const s = parseSignerKey(PETER_SKEY);
    expect(codeOf(() => signNote(TEXT, [{ ...s, keyId: s.keyId ^ 1 }]))).toBe('KEY_MALFORMED');
    expect(codeOf(() => signNote(TEXT, [{ ...s, publicKey: parseVerifierKey(ENOCH_VKEY).publicKey }]))).toBe('KEY_MALFORMED');
  });
});

describe('openNote', () => {
  it("verifies Go's example, from a string and from bytes", () => {
    for (const input of [SIGNED, utf8(SIGNED)]) {
      const n = openNote(input, [PETER_VKEY]);
      expect(n.text).toBe(TEXT);
      expect(n.verified).toEqual([{ name: 'PeterNeumann', keyId: 0xc74f20a3 }]);
      expect(n.unverified).toEqual([]);
    }
    expect(openNote(SIGNED, [parseVerifierKey(PETER_VKEY), PETER_VKEY]).verified).toHaveLength(1);
  });

  it("verifies Go's doubly-signed example; unknown signers are listed, not checked", () => {
    const msg = SIGNED + ENOCH_SIG;
    expect(openNote(msg, [PETER_VKEY, ENOCH_VKEY]).verified).toEqual([
      { name: 'PeterNeumann', keyId: 0xc74f20a3 },
      { name: 'EnochRoot', keyId: 0xaf0cfe78 },
    ]);
    const one = openNote(msg, [PETER_VKEY]);
    expect(one.verified).toEqual([{ name: 'PeterNeumann', keyId: 0xc74f20a3 }]);
    expect(one.unverified).toEqual([{ name: 'EnochRoot', keyId: 0xaf0cfe78 }]);
    // Garbage from an unknown key, or from a known name with another key id, is ignored.
    const junk = '— EnochRoot ' + toBase64(new Uint8Array(5)) + '\n' + '— PeterNeumann AAAAAAAA\n';
    const n = openNote(msg + junk, [PETER_VKEY]);
    expect(n.verified).toHaveLength(1);
    expect(n.unverified).toEqual([
      { name: 'EnochRoot', keyId: 0xaf0cfe78 },
      { name: 'EnochRoot', keyId: 0 },
      { name: 'PeterNeumann', keyId: 0 },
    ]);
    // Identical unknown lines are listed once (Go).
    expect(openNote(msg + ENOCH_SIG, [PETER_VKEY]).unverified).toHaveLength(1);
  });

  it('rejects a bad signature by a known key with SIGNATURE_INVALID', () => {
    const inserted = TEXT + '\n' + PETER_SIG.slice(0, 60) + 'ABCD' + PETER_SIG.slice(60); // Go TestOpen
    expect(codeOf(() => openNote(inserted, [PETER_VKEY]))).toBe('SIGNATURE_INVALID');
    expect(codeOf(() => openNote('X' + SIGNED, [PETER_VKEY]))).toBe('SIGNATURE_INVALID');
    // Another key's signature under Peter's name and key id.
    const lastLine = signNote(TEXT, [KEYS_B.signerKey]).trimEnd().split('\n').pop()!;
    const other = fromBase64(lastLine.split(' ')[2]!);
    other.set([0xc7, 0x4f, 0x20, 0xa3], 0);
    const forged = TEXT + '\n— PeterNeumann ' + toBase64(other) + '\n';
    expect(codeOf(() => openNote(forged, [PETER_VKEY]))).toBe('SIGNATURE_INVALID');
    // One good and one bad signature still fails.
    expect(codeOf(() => openNote(SIGNED + ENOCH_SIG.replace('NbfRGz', 'NbfRGy'), [PETER_VKEY, ENOCH_VKEY]))).toBe('SIGNATURE_INVALID');
  });

  it('rejects a note no known key signed with NOTE_UNVERIFIED, carrying the note', () => {
    let caught: unknown;
    try {
      openNote(SIGNED + ENOCH_SIG, [KEYS_B.verifierKey]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UnverifiedNoteError);
    const e = caught as UnverifiedNoteError;
    expect(e.code).toBe('NOTE_UNVERIFIED');
    expect(e.note.text).toBe(TEXT);
    expect(e.note.unverified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(codeOf(() => openNote(SIGNED, []))).toBe('NOTE_UNVERIFIED');
  });

  it('rejects two signatures by one known key', () => {
    expect(codeOf(() => openNote(SIGNED + PETER_SIG, [PETER_VKEY]))).toBe('NOTE_MALFORMED');
    expect(codeOf(() => openNote(SIGNED + ENOCH_SIG + PETER_SIG, [PETER_VKEY]))).toBe('NOTE_MALFORMED');
  });

  it('rejects malformed notes with NOTE_MALFORMED', () => {
    const sigBody = PETER_SIG.slice('— PeterNeumann '.length, -1);
    const bad: Array<[string, string]> = [
      ['text only', TEXT],
      ['no signatures', TEXT + '\n'],
      ['no final newline', TEXT + '\n' + PETER_SIG.slice(0, -1)],
      ['control character', '\u0001' + SIGNED],
      ['carriage return', SIGNED.replace('problem,\n', 'problem,\r\n')],
      ['CRLF signature line', SIGNED.slice(0, -1) + '\r\n'],
      ['tab', SIGNED.replace('If you', 'If\tyou')],
      ['NUL', SIGNED.replace('If', 'I\u0000')],
      ['lone surrogate', '\ud800' + SIGNED],
      ['missing blank line', TEXT + PETER_SIG],
      ['bad key name', TEXT + '\n— Bad Name ' + sigBody + '\n'],
      ['name with plus', TEXT + '\n— Peter+Neumann ' + sigBody + '\n'],
      ['unexpected line', SIGNED + 'Unexpected line.\n'],
      ['hyphen, not em dash', TEXT + '\n- PeterNeumann ' + sigBody + '\n'],
      ['en dash', TEXT + '\n– PeterNeumann ' + sigBody + '\n'],
      ['no space after dash', TEXT + '\n—PeterNeumann ' + sigBody + '\n'],
      ['two spaces', TEXT + '\n— PeterNeumann  ' + sigBody + '\n'],
      ['trailing space', TEXT + '\n— PeterNeumann ' + sigBody + ' \n'],
      ['no signature', TEXT + '\n— PeterNeumann\n'],
      ['empty signature', TEXT + '\n— PeterNeumann \n'],
      ['4-byte signature', TEXT + '\n— PeterNeumann AAAAAA==\n'],
      ['non-canonical base64 pad bits', TEXT + '\n— PeterNeumann ' + sigBody.replace(/M=$/, 'N=') + '\n'],
      ['unpadded base64', TEXT + '\n— PeterNeumann ' + sigBody.slice(0, -1) + '\n'],
      ['empty', ''],
      ['only blank', '\n\n'],
    ];
    for (const [desc, msg] of bad) expect([desc, codeOf(() => openNote(msg, [PETER_VKEY]))]).toEqual([desc, 'NOTE_MALFORMED']);
  });

  it('splits text from signatures at the LAST blank line', () => {
    // A blank line between signature lines turns the first ones into text, which Peter never signed.
    const msg = SIGNED + '\n' + ENOCH_SIG;
    expect(codeOf(() => openNote(msg, [PETER_VKEY]))).toBe('NOTE_UNVERIFIED');
    expect(codeOf(() => openNote(msg, [PETER_VKEY, ENOCH_VKEY]))).toBe('SIGNATURE_INVALID');
  });

  it('rejects invalid UTF-8 bytes', () => {
    const good = utf8(SIGNED);
    for (const seq of [[0xff], [0xc3, 0x28], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x80]]) {
      const bytes = new Uint8Array([...seq, ...good]);
      expect(codeOf(() => openNote(bytes, [PETER_VKEY]))).toBe('NOTE_MALFORMED');
    }
  });

  it('caps the number of signature lines at 100', () => {
    const unknown = '— EnochRoot AAAAAAA=\n';
    const lines = (n: number): string => Array.from({ length: n }, (_, i) => `— W${i} AAAAAAA=\n`).join('');
    expect(openNote(SIGNED + lines(99), [PETER_VKEY]).unverified).toHaveLength(99);
    expect(codeOf(() => openNote(SIGNED + lines(100), [PETER_VKEY]))).toBe('NOTE_MALFORMED');
    expect(codeOf(() => openNote(TEXT + '\n' + PETER_SIG.repeat(101), [PETER_VKEY]))).toBe('NOTE_MALFORMED');
    expect(codeOf(() => openNote(TEXT + '\n' + unknown.repeat(101), []))).toBe('NOTE_MALFORMED');
  });

  it('caps the note at 1,000,000 bytes', () => {
    const overhead = utf8(signNote('\n', [PETER_SKEY])).length - 1;
    const atCap = signNote('a'.repeat(MAX_NOTE_SIZE - overhead - 1) + '\n', [PETER_SKEY]);
    expect(utf8(atCap).length).toBe(MAX_NOTE_SIZE);
    expect(openNote(atCap, [PETER_VKEY]).verified).toHaveLength(1);
    expect(openNote(utf8(atCap), [PETER_VKEY]).verified).toHaveLength(1);
    const over = 'b' + atCap;
    expect(codeOf(() => openNote(over, [PETER_VKEY]))).toBe('NOTE_MALFORMED');
    expect(codeOf(() => openNote(utf8(over), [PETER_VKEY]))).toBe('NOTE_MALFORMED');
    // Multi-byte characters count as their UTF-8 length.
    const wide = 'é'.repeat(500_000) + '\n\n' + PETER_SIG;
    expect(codeOf(() => openNote(wide, [PETER_VKEY]))).toBe('NOTE_MALFORMED');
  });

  it('rejects malformed verifier keys', () => {
    expect(codeOf(() => openNote(SIGNED, [PETER_SKEY]))).toBe('KEY_MALFORMED');
    const v = parseVerifierKey(PETER_VKEY);
    expect(codeOf(() => openNote(SIGNED, [{ ...v, keyId: 0xc74f20a4 }]))).toBe('KEY_MALFORMED');
  });
});
