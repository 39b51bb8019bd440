/**
 * The court page's 国密 pieces in Node (src/web/sm3.ts, hash.ts, suite.ts, input.ts): the
 * incremental SM3 against OpenSSL's (node:crypto) at every chunk boundary and on the GB/T 32905
 * examples, one-pass hashing with both algorithms, the suite taken from the pinned key, the digest
 * picked for the verifier, and the `#sm3=` fragment a gm certificate's QR code opens.
 */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GM_KEYS, TEST_KEYS } from '../../scripts/vectors/mini-log.js';
import { toHex } from '../../src/core/bytes.js';
import { sm3 } from '../../src/core/crypto-gm.js';
import { C2SP, GM } from '../../src/core/suite.js';
import { digestBlob, sha256Blob, sm3Blob } from '../../src/web/hash.js';
import { digestFromFragment, expectedDigestFromFragment } from '../../src/web/input.js';
import { createSm3 } from '../../src/web/sm3.js';
import { contentDigestAlg, digestAlgsToCompute, entryDigestAlg, pinnedSuites, SUITE_WORDS } from '../../src/web/suite.js';

const opensslSm3 = (b: Uint8Array) => createHash('sm3').update(b).digest('hex');

describe('incremental SM3 (src/web/sm3.ts)', () => {
  it('gives the GB/T 32905 examples', () => {
    expect(toHex(createSm3().update(new TextEncoder().encode('abc')).digest())).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
    expect(toHex(createSm3().update(new TextEncoder().encode('abcd'.repeat(16))).digest())).toBe('debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732');
  });

  it('equals OpenSSL on any input cut into any pieces (padding at 55/56/64-byte edges included)', () => {
    for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129]) {
      const b = new Uint8Array(randomBytes(n));
      expect(toHex(createSm3().update(b).digest()), `${n} bytes`).toBe(opensslSm3(b));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.array(fc.nat({ max: 700 }), { maxLength: 8 }), (data, cuts) => {
        const h = createSm3();
        let at = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          const to = Math.min(c, data.length);
          if (to >= at) {
            h.update(data.subarray(at, to));
            at = to;
          }
        }
        h.update(data.subarray(at));
        return toHex(h.digest()) === opensslSm3(data) && toHex(sm3(data)) === opensslSm3(data);
      }),
      { numRuns: 300 },
    );
  });

  it('clones mid-stream', () => {
    const a = createSm3().update(new Uint8Array(100).fill(1));
    const b = a.clone();
    a.update(new Uint8Array([2]));
    b.update(new Uint8Array([2]));
    expect(toHex(a.digest())).toBe(toHex(b.digest()));
  });
});

describe('streaming file digests for a gm log (src/web/hash.ts)', () => {
  it('sm3Blob equals OpenSSL for every chunk size, and digestBlob computes SHA-256 and SM3 in one pass', async () => {
    const data = new Uint8Array(randomBytes(100_003));
    for (const chunkBytes of [1 << 20, 65_536, 4096, 1000, 7, 100_003, 100_002]) {
      expect(await sm3Blob(new Blob([data]), { chunkBytes }), `chunk ${chunkBytes}`).toBe(opensslSm3(data));
    }
    const reads: number[] = [];
    const both = await digestBlob(new Blob([data]), ['sm3', 'sha256', 'sm3'], { chunkBytes: 40_000, onProgress: (d) => reads.push(d) });
    expect(both).toEqual({ sm3: opensslSm3(data), sha256: createHash('sha256').update(data).digest('hex') });
    expect(reads).toEqual([40_000, 80_000, 100_003]);
    expect(await sha256Blob(new Blob([data]))).toBe(both.sha256);
    expect(await sm3Blob(new Blob([]))).toBe(opensslSm3(new Uint8Array(0)));
    await expect(digestBlob(new Blob([data]), [])).rejects.toThrow(/no algorithm/);
  });

  it('hashes a file larger than one default chunk', async () => {
    const part = new Uint8Array(randomBytes(1 << 20));
    const blob = new Blob(Array.from({ length: 9 }, () => part));
    const h = createHash('sm3');
    for (let i = 0; i < 9; i++) h.update(part);
    expect(await sm3Blob(blob)).toBe(h.digest('hex'));
  });
});

describe('the suite on the page (src/web/suite.ts)', () => {
  it('comes from the pinned keys, in key order, distinct; a malformed key is KEY_MALFORMED', () => {
    expect(pinnedSuites([GM_KEYS.verifierKey])).toEqual([GM]);
    expect(pinnedSuites([TEST_KEYS.verifierKey, GM_KEYS.verifierKey, TEST_KEYS.verifierKey])).toEqual([C2SP, GM]);
    expect(() => pinnedSuites(['not-a-key'])).toThrow(expect.objectContaining({ code: 'KEY_MALFORMED' }));
    expect(SUITE_WORDS.gm.name.zh).toBe('国密 SM3 / SM2');
    expect(SUITE_WORDS.gm.meaning.en).toMatch(/SM3 .*SM2/);
    expect(SUITE_WORDS.c2sp.name.en).toMatch(/SHA-256 \/ Ed25519/);
  });

  it('hashes with each pinned suite’s algorithm (and the certificate’s), and gives the verifier the entry’s when it computed it', () => {
    expect(digestAlgsToCompute([GM])).toEqual(['sm3']);
    expect(digestAlgsToCompute([C2SP])).toEqual(['sha256']);
    expect(digestAlgsToCompute([GM], 'sha256')).toEqual(['sm3', 'sha256']);
    expect(digestAlgsToCompute([], undefined)).toEqual(['sha256']);
    expect(entryDigestAlg({ entry: { digest: { alg: 'sm3', hex: 'x' } } })).toBe('sm3');
    expect(entryDigestAlg({ digest: { alg: 'sha256' } })).toBe('sha256');
    expect(entryDigestAlg({ entry: { digest: { alg: 'md5' } } })).toBeUndefined();
    expect(entryDigestAlg('text')).toBeUndefined();
    expect(contentDigestAlg([GM], 'sm3')).toBe('sm3');
    // A receipt claiming another algorithm than every pinned key's cannot choose the hash.
    expect(contentDigestAlg([GM], 'sha256')).toBe('sm3');
    expect(contentDigestAlg([C2SP, GM], 'sm3')).toBe('sm3');
    expect(contentDigestAlg([C2SP, GM], undefined)).toBe('sha256');
  });

  it('reads #sm3= and #sha256= from the fragment a certificate’s QR code opens', () => {
    const hex = 'ab'.repeat(32);
    expect(expectedDigestFromFragment(`#sm3=${hex}`)).toEqual({ alg: 'sm3', hex });
    expect(expectedDigestFromFragment(`#x=1&sha256=${hex.toUpperCase()}`)).toEqual({ alg: 'sha256', hex });
    expect(expectedDigestFromFragment(`#sm3=${hex}0`)).toBeUndefined();
    expect(expectedDigestFromFragment('#md5=00')).toBeUndefined();
    expect(digestFromFragment(`#sm3=${hex}`)).toBeUndefined();
  });
});
