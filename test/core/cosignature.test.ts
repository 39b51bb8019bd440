import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  COSIGNATURE_TYPE_ED25519,
  COSIGNATURE_TYPE_ML_DSA_44,
  SUBTREE_V1_LABEL,
  formatCosignatureMessage,
  formatSubtreeMessage,
  formatWitnessSignerKey,
  formatWitnessVerifierKey,
  generateWitnessKey,
  openCosigned,
  parseWitnessSignerKey,
  parseWitnessVerifierKey,
  signCosignature,
  verifyCosignature,
  witnessKeyId,
  type CosignatureAlgorithm,
} from '../../src/core/cosignature.js';
import { ed25519Sign, sha256 } from '../../src/core/crypto.js';
import { concatBytes, fromBase64, toBase64, toHex, utf8 } from '../../src/core/bytes.js';
import { generateSignerKey, parseVerifierKey } from '../../src/core/note.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { codeOf } from '../support/codes.js';

// The C2SP example checkpoint (tlog-checkpoint, tlog-cosignature, tlog-witness).
const C2SP_TEXT = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
// tlog-cosignature's example witness line (its key is not published: it can only be ignored).
const C2SP_W1_LINE = '— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==';
// The C2SP example checkpoint signed by the project's test key (src/core/checkpoint.ts worked example).
const LOG_VKEY = 'example.com/behind-the-sofa+252b74d2+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs';
const LOG_NOTE = `${C2SP_TEXT}\n— example.com/behind-the-sofa JSt00p6KTYtH8opAMF2NJ7glHT4uHMzg9iBNNDYLQta3PzLlhUjMPmDAXA2L1DXjWfKrvjQJdIEVj9Tiu9f35PqL5g8=\n`;

const seed = (b: number) => new Uint8Array(32).fill(b);
const ED = generateWitnessKey('witness.example/w1', seed(5), 'ed25519');
const PQ = generateWitnessKey('witness.example/pq', seed(6), 'ml-dsa-44');

/** Every proper substring and every byte±1 of an ASCII string (Go TestNewVerifier). */
function manglings(s: string, substrings = true): string[] {
  const out: string[] = [];
  if (substrings) {
    for (let i = 0; i <= s.length; i++) for (let j = i + 1; j <= s.length; j++) if (i !== 0 || j !== s.length) out.push(s.slice(i, j));
  } else {
    for (let i = 1; i < s.length; i++) out.push(s.slice(0, i), s.slice(i));
  }
  for (let i = 0; i < s.length; i++) for (const d of [1, -1]) out.push(s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) + d) + s.slice(i + 1));
  return out;
}

function blobOf(line: string): Uint8Array {
  return fromBase64(line.slice(line.lastIndexOf(' ') + 1));
}
function withBlob(line: string, blob: Uint8Array): string {
  return line.slice(0, line.lastIndexOf(' ') + 1) + toBase64(blob);
}

describe('C2SP examples, byte for byte', () => {
  it('the Ed25519 signed message of tlog-cosignature', () => {
    expect(formatCosignatureMessage(C2SP_TEXT, 1679315147)).toBe(
      'cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
    );
    expect(formatCosignatureMessage(C2SP_TEXT, 0n).startsWith('cosignature/v1\ntime 0\n')).toBe(true);
  });

  it("tlog-cosignature's example line: key id 8d66cf3f, timestamp 1679315147 (the message's), ignored without its key", () => {
    const blob = blobOf(C2SP_W1_LINE);
    expect(blob.length).toBe(4 + 8 + 64);
    expect(toHex(blob.subarray(0, 12))).toBe('8d66cf3f00000000641850cb');
    const c = openCosigned(`${LOG_NOTE}${C2SP_W1_LINE}\n`, LOG_VKEY, [ED.verifierKey]);
    expect(c.cosignatures).toEqual([]);
    expect(c.failed).toEqual([]);
    expect(c.ignored).toEqual([{ name: 'witness.example.com/w1', keyId: 0x8d66cf3f, line: C2SP_W1_LINE }]);
  });

  it("tlog-witness's example response lines are well-formed and ignored (unknown keys)", () => {
    const lines = [
      '— witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==',
      '— witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlbQNt64vWhO+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==',
      '— witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbYKA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==',
    ];
    const c = openCosigned(LOG_NOTE + lines.map((l) => l + '\n').join(''), LOG_VKEY, [ED.verifierKey, PQ.verifierKey]);
    expect(c.ignored.map((i) => i.line)).toEqual(lines);
    expect(c.cosignatures).toEqual([]);
    for (const l of lines) expect(codeOf(() => verifyCosignature(C2SP_TEXT, l, ED.verifierKey))).toBe('NOTE_UNVERIFIED');
  });

  it('the ML-DSA-44 cosigned_message layout (tlog-cosignature §ML-DSA-44 signed message)', () => {
    const root = fromBase64('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
    const m = formatSubtreeMessage({ cosignerName: 'w', time: 1679315147n, origin: 'example.com/behind-the-sofa', start: 0n, end: 20852163n, hash: root });
    const want =
      toHex(utf8('subtree/v1\n')) + '00' + '01' + toHex(utf8('w')) + '00000000641850cb' + '1b' + toHex(utf8('example.com/behind-the-sofa')) +
      '0000000000000000' + '00000000013e2dc3' + toHex(root);
    expect(toHex(m)).toBe(want);
    expect(SUBTREE_V1_LABEL.length).toBe(12);
    expect(codeOf(() => formatSubtreeMessage({ cosignerName: 'w', time: 5n, origin: 'o', start: 1n, end: 2n, hash: root }))).toBe('INPUT_INVALID');
    expect(codeOf(() => formatSubtreeMessage({ cosignerName: 'w', time: 0n, origin: 'o', start: 3n, end: 2n, hash: root }))).toBe('INPUT_INVALID');
    expect(codeOf(() => formatSubtreeMessage({ cosignerName: 'w'.repeat(256), time: 0n, origin: 'o', start: 0n, end: 2n, hash: root }))).toBe('INPUT_INVALID');
  });

  it('key ids: SHA-256(name || 0x0A || 0x04|0x06 || public key)[:4]', () => {
    for (const pair of [ED, PQ]) {
      const k = parseWitnessVerifierKey(pair.verifierKey);
      const type = k.algorithm === 'ed25519' ? COSIGNATURE_TYPE_ED25519 : COSIGNATURE_TYPE_ML_DSA_44;
      const h = sha256(concatBytes(utf8(k.name), new Uint8Array([0x0a, type]), k.publicKey));
      expect(k.keyId).toBe(((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0);
      expect(witnessKeyId(k.name, k.algorithm, k.publicKey)).toBe(k.keyId);
      expect(k.publicKey.length).toBe(k.algorithm === 'ed25519' ? 32 : 1312);
      const vk = pair.verifierKey;
      expect(fromBase64(vk.slice(vk.indexOf('+', vk.indexOf('+') + 1) + 1))[0]).toBe(type);
    }
  });
});

describe('keys', () => {
  it('round-trip: format(parse(k)) = k, and the signer derives its verifier key', () => {
    for (const [alg, pair] of [['ed25519', ED], ['ml-dsa-44', PQ]] as const) {
      const v = parseWitnessVerifierKey(pair.verifierKey);
      expect(v.algorithm).toBe(alg);
      expect(formatWitnessVerifierKey(v.name, v.algorithm, v.publicKey)).toBe(pair.verifierKey);
      const s = parseWitnessSignerKey(pair.signerKey);
      expect(formatWitnessSignerKey(s.name, s.algorithm, s.seed)).toBe(pair.signerKey);
      expect(formatWitnessVerifierKey(s.name, s.algorithm, s.publicKey)).toBe(pair.verifierKey);
    }
  });

  it('log keys (0x01) are not witness keys and witness keys are not log keys', () => {
    const log = generateSignerKey('example.com/log', seed(1));
    expect(() => parseWitnessVerifierKey(log.verifierKey)).toThrow(/0x01 is a log key/);
    expect(codeOf(() => parseWitnessSignerKey(log.signerKey))).toBe('KEY_MALFORMED');
    expect(codeOf(() => parseVerifierKey(ED.verifierKey))).toBe('KEY_MALFORMED');
  });

  it('rejects every substring and byte±1 of the Ed25519 verifier and signer keys', () => {
    expect(manglings(ED.verifierKey).filter((k) => codeOf(() => parseWitnessVerifierKey(k)) !== 'KEY_MALFORMED')).toEqual([]);
    for (const k of manglings(ED.signerKey)) {
      let msg = '';
      try {
        parseWitnessSignerKey(k);
      } catch (err) {
        msg = (err as Error).message;
        expect(codeOf(() => parseWitnessSignerKey(k))).toBe('KEY_MALFORMED');
      }
      expect(msg, `accepted ${k}`).not.toBe('');
      expect(msg).not.toContain(ED.signerKey.split('+').at(-1)!.slice(4));
    }
  });

  it('rejects every byte±1, prefix and suffix of the ML-DSA-44 verifier key, every substring and byte±1 of its signer key', () => {
    expect(PQ.verifierKey.length).toBeGreaterThan(1700);
    expect(manglings(PQ.verifierKey, false).filter((k) => codeOf(() => parseWitnessVerifierKey(k)) !== 'KEY_MALFORMED')).toEqual([]);
    expect(manglings(PQ.signerKey).filter((k) => codeOf(() => parseWitnessSignerKey(k)) !== 'KEY_MALFORMED')).toEqual([]);
  }, 60_000);

  it('ML-DSA-44 names are at most 255 bytes (the message has a one-byte length)', () => {
    expect(codeOf(() => generateWitnessKey('a'.repeat(256), seed(1), 'ml-dsa-44'))).toBe('KEY_MALFORMED');
    expect(codeOf(() => generateWitnessKey('a'.repeat(256), seed(1), 'ed25519'))).toBe('ok');
  });
});

describe('sign and verify', () => {
  const ext = `${C2SP_TEXT}extension line\n`;

  for (const [alg, pair] of [['ed25519', ED], ['ml-dsa-44', PQ]] as const) {
    describe(alg, () => {
      const line = signCosignature(C2SP_TEXT, pair.signerKey, 1679315147);

      it('verifies, with the witness name, key id and time', () => {
        const v = parseWitnessVerifierKey(pair.verifierKey);
        expect(line.startsWith(`— ${v.name} `)).toBe(true);
        expect(line.endsWith('\n')).toBe(false);
        expect(blobOf(line).length).toBe(4 + 8 + (alg === 'ed25519' ? 64 : 2420));
        expect(verifyCosignature(C2SP_TEXT, line, pair.verifierKey)).toEqual({ name: v.name, keyId: v.keyId, algorithm: alg, time: 1679315147n });
      });

      it('the timestamp is 8 bytes big-endian after the key id', () => {
        expect(toHex(blobOf(line).subarray(4, 12))).toBe('00000000641850cb');
      });

      it('rejects another timestamp, another body, a truncated signature, a time over 2^63-1', () => {
        const b = blobOf(line);
        const other = b.slice();
        other[11]! ^= 1;
        expect(codeOf(() => verifyCosignature(C2SP_TEXT, withBlob(line, other), pair.verifierKey))).toBe('SIGNATURE_INVALID');
        expect(codeOf(() => verifyCosignature(C2SP_TEXT.replace('20852163', '20852164'), line, pair.verifierKey))).toBe('SIGNATURE_INVALID');
        expect(codeOf(() => verifyCosignature(C2SP_TEXT, withBlob(line, b.subarray(0, b.length - 1)), pair.verifierKey))).toBe('SIGNATURE_INVALID');
        expect(codeOf(() => verifyCosignature(C2SP_TEXT, withBlob(line, b.subarray(0, 12)), pair.verifierKey))).toBe('SIGNATURE_INVALID');
        const big = b.slice();
        big[4] = 0x80;
        expect(codeOf(() => verifyCosignature(C2SP_TEXT, withBlob(line, big), pair.verifierKey))).toBe('SIGNATURE_INVALID');
      });

      it('another key id or name is not this witness (NOTE_UNVERIFIED); a malformed line is NOTE_MALFORMED', () => {
        const b = blobOf(line).slice();
        b[0]! ^= 0x80;
        expect(codeOf(() => verifyCosignature(C2SP_TEXT, withBlob(line, b), pair.verifierKey))).toBe('NOTE_UNVERIFIED');
        expect(codeOf(() => verifyCosignature(C2SP_TEXT, line.replace('witness.example/', 'witness.example2/'), pair.verifierKey))).toBe('NOTE_UNVERIFIED');
        expect(codeOf(() => verifyCosignature(C2SP_TEXT, line.slice(2), pair.verifierKey))).toBe('NOTE_MALFORMED');
        expect(codeOf(() => verifyCosignature(C2SP_TEXT, line + '=', pair.verifierKey))).toBe('NOTE_MALFORMED');
        expect(codeOf(() => verifyCosignature('not a checkpoint\n', line, pair.verifierKey))).toBe('CHECKPOINT_MALFORMED');
      });

      it(alg === 'ed25519' ? 'covers extension lines' : 'does not cover extension lines (the message has origin, size and root only)', () => {
        const l = signCosignature(ext, pair.signerKey, 7);
        expect(verifyCosignature(ext, l, pair.verifierKey).time).toBe(7n);
        const changed = ext.replace('extension line', 'other extension');
        expect(codeOf(() => verifyCosignature(changed, l, pair.verifierKey))).toBe(alg === 'ed25519' ? 'SIGNATURE_INVALID' : 'ok');
      });

      it('refuses bad times', () => {
        expect(codeOf(() => signCosignature(C2SP_TEXT, pair.signerKey, -1))).toBe('INPUT_INVALID');
        expect(codeOf(() => signCosignature(C2SP_TEXT, pair.signerKey, 1n << 63n))).toBe('INPUT_INVALID');
        expect(codeOf(() => signCosignature(C2SP_TEXT, pair.signerKey, 1.5))).toBe('INPUT_INVALID');
        expect(codeOf(() => signCosignature(C2SP_TEXT, pair.signerKey, (1n << 63n) - 1n))).toBe('ok');
      });
    });
  }

  it('ML-DSA-44 is deterministic without randomness, hedged with it; both verify', () => {
    const a = signCosignature(C2SP_TEXT, PQ.signerKey, 1);
    expect(signCosignature(C2SP_TEXT, PQ.signerKey, 1)).toBe(a);
    const h = signCosignature(C2SP_TEXT, PQ.signerKey, 1, { randomness: seed(9) });
    expect(h).not.toBe(a);
    expect(verifyCosignature(C2SP_TEXT, h, PQ.verifierKey).time).toBe(1n);
    expect(codeOf(() => signCosignature(C2SP_TEXT, PQ.signerKey, 1, { randomness: new Uint8Array(31) }))).toBe('INPUT_INVALID');
  });

  it('ML-DSA-44 commits to the witness name: the same key under another name does not verify', () => {
    const other = generateWitnessKey('witness.example/renamed', seed(6), 'ml-dsa-44');
    const line = signCosignature(C2SP_TEXT, PQ.signerKey, 1);
    const renamed = line.replace('witness.example/pq', 'witness.example/renamed');
    const b = blobOf(renamed).slice();
    const id = parseWitnessVerifierKey(other.verifierKey).keyId;
    b.set([id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255], 0);
    expect(codeOf(() => verifyCosignature(C2SP_TEXT, withBlob(renamed, b), other.verifierKey))).toBe('SIGNATURE_INVALID');
  });

  it('a hand-made Ed25519 cosignature with time 2^63 is refused', () => {
    const s = parseWitnessSignerKey(ED.signerKey);
    const t = 1n << 63n;
    const sig = ed25519Sign(s.seed, utf8(`cosignature/v1\ntime ${t}\n${C2SP_TEXT}`));
    const tb = new Uint8Array(8);
    new DataView(tb.buffer).setBigUint64(0, t);
    const line = `— ${s.name} ${toBase64(concatBytes(new Uint8Array([s.keyId >>> 24, (s.keyId >>> 16) & 255, (s.keyId >>> 8) & 255, s.keyId & 255]), tb, sig))}`;
    expect(codeOf(() => verifyCosignature(C2SP_TEXT, line, ED.verifierKey))).toBe('SIGNATURE_INVALID');
  });

  it('properties: sign then verify gives back the time; any flipped bit of the signature fails', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.nat({ max: 64 * 8 - 1 }),
        (sd, time, size, bit) => {
          const pair = generateWitnessKey('w.example/p', sd, 'ed25519');
          const text = `example.org/log\n${size}\n${toBase64(sha256(sd))}\n`;
          const line = signCosignature(text, pair.signerKey, time);
          expect(verifyCosignature(text, line, pair.verifierKey).time).toBe(time);
          const b = blobOf(line).slice();
          b[12 + (bit >> 3)]! ^= 1 << (bit & 7);
          expect(codeOf(() => verifyCosignature(text, withBlob(line, b), pair.verifierKey))).toBe('SIGNATURE_INVALID');
        },
      ),
      { numRuns: 60 },
    );
  });

  it('property: verifier keys round-trip for random names and seeds', () => {
    const name = fc.stringMatching(/^[a-z0-9./-]{1,40}$/);
    fc.assert(
      fc.property(name, fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom<CosignatureAlgorithm>('ed25519', 'ml-dsa-44'), (n, sd, alg) => {
        const pair = generateWitnessKey(n, sd, alg);
        const v = parseWitnessVerifierKey(pair.verifierKey);
        expect(formatWitnessVerifierKey(v.name, v.algorithm, v.publicKey)).toBe(pair.verifierKey);
        expect(parseWitnessSignerKey(pair.signerKey).keyId).toBe(v.keyId);
      }),
      { numRuns: 30 },
    );
  });
});

describe('openCosigned', () => {
  const log = generateSignerKey('example.org/log', seed(2));
  const text = 'example.org/log\n42\n' + toBase64(sha256(utf8('root'))) + '\n';
  const note = signCheckpoint({ origin: 'example.org/log', size: 42n, root: sha256(utf8('root')) }, log.signerKey);
  const edLine = signCosignature(text, ED.signerKey, 100);
  const pqLine = signCosignature(text, PQ.signerKey, 200);

  it('returns valid cosignatures by pinned keys in key order, with their times', () => {
    const c = openCosigned(`${note}${pqLine}\n${edLine}\n`, log.verifierKey, [ED.verifierKey, PQ.verifierKey]);
    expect(c.checkpoint.checkpoint.size).toBe(42n);
    expect(c.cosignatures.map((w) => [w.name, w.algorithm, w.time, w.key])).toEqual([
      ['witness.example/w1', 'ed25519', 100n, ED.verifierKey],
      ['witness.example/pq', 'ml-dsa-44', 200n, PQ.verifierKey],
    ]);
    expect(c.failed).toEqual([]);
    expect(c.ignored).toEqual([]);
  });

  it('keeps a failed cosignature by a pinned key as evidence, uncounted; ignores unknown keys', () => {
    const stranger = generateWitnessKey('stranger.example', seed(8));
    const strangerLine = signCosignature(text, stranger.signerKey, 5);
    const otherText = text.replace('\n42\n', '\n43\n');
    const wrong = signCosignature(otherText, ED.signerKey, 100);
    const c = openCosigned(`${note}${wrong}\n${strangerLine}\n`, log.verifierKey, [ED.verifierKey]);
    expect(c.cosignatures).toEqual([]);
    expect(c.failed).toEqual([{ name: 'witness.example/w1', keyId: parseWitnessVerifierKey(ED.verifierKey).keyId, key: ED.verifierKey, line: wrong, code: 'SIGNATURE_INVALID', message: expect.any(String) }]);
    expect(c.ignored.map((i) => i.line)).toEqual([strangerLine]);
  });

  it('counts a witness once, with its earliest valid time', () => {
    const later = signCosignature(text, ED.signerKey, 300);
    const earlier = signCosignature(text, ED.signerKey, 50);
    const c = openCosigned(`${note}${later}\n${earlier}\n${edLine}\n`, log.verifierKey, [ED.verifierKey, ED.verifierKey]);
    expect(c.cosignatures.map((w) => w.time)).toEqual([50n]);
  });

  it('a key with the same name and another id is unknown; the log must have signed; ambiguous pins are refused', () => {
    const sameName = generateWitnessKey('witness.example/w1', seed(11));
    const c = openCosigned(`${note}${signCosignature(text, sameName.signerKey, 1)}\n`, log.verifierKey, [ED.verifierKey]);
    expect(c.ignored).toHaveLength(1);
    expect(codeOf(() => openCosigned(`${text}\n${edLine}\n`, log.verifierKey, [ED.verifierKey]))).toBe('NOTE_UNVERIFIED');
    const twin = { ...parseWitnessVerifierKey(ED.verifierKey), algorithm: 'ed25519' as const };
    const fake = { ...twin, publicKey: parseWitnessVerifierKey(sameName.verifierKey).publicKey };
    expect(codeOf(() => openCosigned(note, log.verifierKey, [twin, fake]))).toBe('KEY_MALFORMED');
  });
});

describe('vectors (scripts/vectors/cosignature.ts)', () => {
  it('generates the same vectors every run, each as the verifier decides', async () => {
    const { cosignatureVectors } = await import('../../scripts/vectors/cosignature.js');
    const a = cosignatureVectors();
    expect(JSON.stringify(cosignatureVectors())).toBe(JSON.stringify(a));
    expect(a.map((v) => v.name)).toEqual(
      ['ed25519', 'mldsa44'].flatMap((t) => ['valid', 'valid-extension-line', 'valid-time-zero', 'other-timestamp', 'other-body', 'other-key-id', 'truncated-signature', 'unknown-key'].map((n) => `${t}/${n}`)),
    );
    for (const { name, value } of a) {
      expect(typeof value.desc).toBe('string');
      const code = codeOf(() => verifyCosignature(value.checkpoint as string, value.line as string, value.witnessKey as string));
      expect(code, name).toBe(value.wantErr ? value.expectCode : 'ok');
      const c = openCosigned(value.note as string, value.logKey as string, [value.witnessKey as string]);
      expect(c.cosignatures.length === 1, name).toBe(value.counted);
      expect(c.ignored.length === 1, name).toBe(value.ignored);
    }
    expect(a.find((v) => v.name === 'ed25519/valid')!.value.message).toMatch(/^cosignature\/v1\ntime 1764806400\nexample\.gov\.cn\/guzheng\/vectors\n4242\n/);
    expect(a.find((v) => v.name === 'mldsa44/other-key-id')!.value.expectCode).toBe('NOTE_UNVERIFIED');
  });
});
