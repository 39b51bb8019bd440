/** The mirror's object names and block bundles (src/mirror/layout.ts): pure, no object store. */
import { describe, expect, it } from 'vitest';
import { formatTilePath, listTiles } from '../../src/core/tiles.js';
import type { BlockJson } from '../../src/core/block.js';
import {
  blockBundleKey,
  blockGroupsBetween,
  checkPrefix,
  checkpointKey,
  cosignatureKey,
  decodeBlockBundle,
  encodeBlockBundle,
  stampKey,
  tileKey,
  tilesBetween,
} from '../../src/mirror/layout.js';

const SIZES = [0n, 1n, 2n, 255n, 256n, 257n, 511n, 512n, 65535n, 65536n, 65537n, 70000n, 16777216n + 3n];

describe('mirror layout', () => {
  it('names objects as tlog-tiles paths under the prefix, and Guzheng objects beside them', () => {
    expect(checkpointKey('logs/a')).toBe('logs/a/checkpoint');
    expect(checkpointKey('')).toBe('checkpoint');
    expect(tileKey('p', { kind: 'hash', level: 1, index: 1234067n, width: 5 })).toBe('p/tile/1/x001/x234/067.p/5');
    expect(tileKey('p', { kind: 'entries', index: 3n, width: 256 })).toBe('p/tile/entries/003');
    expect(blockBundleKey('p', { index: 0n, width: 7 })).toBe('p/guzheng/blocks/000.p/7');
    expect(blockBundleKey('p', { index: 1000n, width: 256 })).toBe('p/guzheng/blocks/x001/000');
    expect(stampKey('p', 12n)).toBe('p/guzheng/tsa/012');
    // SHA-256("— w1 abc") names the line.
    expect(cosignatureKey('p', 5n, '— w1 abc')).toMatch(/^p\/guzheng\/cosignatures\/005\/[0-9a-f]{64}$/);
  });

  it('refuses prefixes that are not plain segments', () => {
    for (const bad of ['/a', 'a/', 'a//b', 'a/../b', '.', 'a b', 'a\\b', 'ä']) expect(() => checkPrefix(bad), bad).toThrow(/prefix/);
    for (const good of ['', 'a', 'logs/city-1/v1', 'a.b_c']) expect(checkPrefix(good)).toBe(good);
  });

  it('tilesBetween(a, b) is exactly the tiles of b that a does not have', () => {
    for (const a of SIZES) {
      for (const b of SIZES) {
        if (b < a || b > 70000n) continue;
        const have = new Set([...listTiles(a)].map(formatTilePath));
        const want = [...listTiles(b)].map(formatTilePath).filter((p) => !have.has(p));
        expect([...tilesBetween(a, b)].map(formatTilePath), `${a} → ${b}`).toEqual(want);
      }
    }
    // Large sizes: only the right edge is new, a handful of tiles.
    expect([...tilesBetween(16777216n, 16777216n + 3n, false)].map(formatTilePath)).toEqual(['tile/0/x065/536.p/3']);
    expect([...tilesBetween(5n, 5n)]).toEqual([]);
    expect(() => [...tilesBetween(6n, 5n)]).toThrow();
  });

  it('blockGroupsBetween groups blocks like entry bundles', () => {
    expect([...blockGroupsBetween(0n, 3n)]).toEqual([{ index: 0n, width: 3 }]);
    expect([...blockGroupsBetween(3n, 258n)]).toEqual([
      { index: 0n, width: 256 },
      { index: 1n, width: 2 },
    ]);
    expect([...blockGroupsBetween(256n, 256n)]).toEqual([]);
    expect([...blockGroupsBetween(256n, 257n)]).toEqual([{ index: 1n, width: 1 }]);
  });

  it('block bundles are canonical JSON Lines that round-trip, and decoding is strict', () => {
    const block = (h: number): BlockJson => ({
      format: 'guzheng-block/v2',
      height: String(h),
      prev: 'ab'.repeat(32),
      time: '2026-03-01T00:00:00.000Z',
      first: String(h * 10),
      count: '10',
      checkpoint: `log\n${h}\nroot\n\n— log sig\n`,
    });
    const blocks = [block(256), block(257)];
    const bytes = encodeBlockBundle(blocks);
    const text = new TextDecoder().decode(bytes);
    expect(text.split('\n')).toHaveLength(3);
    expect(text.startsWith('{"checkpoint":')).toBe(true); // RFC 8785: keys sorted
    expect(decodeBlockBundle(bytes, { index: 1n, width: 2 })).toEqual(blocks);
    expect(encodeBlockBundle(blocks)).toEqual(bytes);
    expect(() => decodeBlockBundle(bytes, { index: 0n, width: 2 })).toThrow(/height/);
    expect(() => decodeBlockBundle(bytes, { index: 1n, width: 3 })).toThrow(/want 3/);
    expect(() => decodeBlockBundle(bytes.subarray(0, bytes.length - 1), { index: 1n, width: 2 })).toThrow(/newline/);
    const pretty = new TextEncoder().encode(blocks.map((b) => JSON.stringify(b) + '\n').join(''));
    expect(() => decodeBlockBundle(pretty, { index: 1n, width: 2 })).toThrow(/canonical/);
    expect(() => encodeBlockBundle([block(1), block(3)])).toThrow(/consecutive/);
    expect(() => encodeBlockBundle([])).toThrow();
  });
});
