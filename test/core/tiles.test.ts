import { describe, it, expect } from 'vitest';
import { LedgerError } from '../../src/core/errors.js';
import {
  decodeEntryBundle,
  encodeEntryBundle,
  formatTileIndex,
  formatTilePath,
  listTiles,
  parseTilePath,
  planTile,
  splitHashTile,
  tileCoverage,
  tileWidth,
  type Tile,
} from '../../src/core/tiles.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof LedgerError) return err.code;
    throw err;
  }
  return 'OK';
}

describe('tile paths (c2sp.org/tlog-tiles)', () => {
  it('formats the spec examples', () => {
    expect(formatTileIndex(1234067n)).toBe('x001/x234/067');
    expect(formatTileIndex(0n)).toBe('000');
    expect(formatTileIndex(5n)).toBe('005');
    expect(formatTileIndex(999n)).toBe('999');
    expect(formatTileIndex(1000n)).toBe('x001/000');
    expect(formatTilePath({ kind: 'hash', level: 0, index: 1234067n, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(formatTilePath({ kind: 'hash', level: 1, index: 1234067n, width: 8 })).toBe('tile/1/x001/x234/067.p/8');
    expect(formatTilePath({ kind: 'entries', index: 48n, width: 256 })).toBe('tile/entries/048');
    expect(formatTilePath({ kind: 'entries', index: 1234067n, width: 255 })).toBe('tile/entries/x001/x234/067.p/255');
  });

  it('round-trips every shape exactly', () => {
    const tiles: Tile[] = [];
    for (const index of [0n, 1n, 999n, 1000n, 1001n, 123456n, 1234067n, 999_999_999n, (1n << 56n) - 1n]) {
      for (const width of [1, 2, 100, 255, 256]) {
        tiles.push({ kind: 'entries', index, width });
        for (const level of [0, 1, 7, 63]) tiles.push({ kind: 'hash', level, index, width });
      }
    }
    for (const t of tiles) {
      const path = formatTilePath(t);
      expect(parseTilePath(path)).toEqual(t);
      expect(parseTilePath('/' + path)).toEqual(t);
    }
  });

  it('rejects every non-canonical or mangled path', () => {
    const bad = [
      '',
      'tile',
      'tile/',
      'tile/0',
      'tile/0/',
      'tile/0/00',
      'tile/0/0000',
      'tile/0/1',
      'tile/00/000',
      'tile/01/000',
      'tile/64/000',
      'tile/100/000',
      'tile/-1/000',
      'tile/a/000',
      'tile/0/x000/123', // leading zero group
      'tile/0/x001', // x on the last group
      'tile/0/001/234', // missing x
      'tile/0/X001/234',
      'tile/0/x01/234',
      'tile/0/x0001/234',
      'tile/0/000/',
      'tile/0//000',
      'tile/0/000.p',
      'tile/0/000.p/',
      'tile/0/000.p/0',
      'tile/0/000.p/256',
      'tile/0/000.p/300',
      'tile/0/000.p/08',
      'tile/0/000.p/8/9',
      'tile/0/000.p/8.p/9',
      'tile/0/x001.p/3/234',
      'tile/0/000.P/8',
      'tile/0/000.q/8',
      'tile/0/+00',
      'tile/0/ 00',
      'tile/entries',
      'tile/entries/',
      'tile/entries/12',
      'tile/entries/x000/001',
      'tile/entries.p/000',
      'tile/Entries/000',
      'tiles/0/000',
      '//tile/0/000',
      'tile/0/x001/x001/x001/x001/x001/x001/000', // beyond 2^56
      'tile/0/x072/x057/x594/x037/x927/936', // 2^56 exactly
      'tile/0/000\n',
      'tile/0/000?x=1',
    ];
    for (const p of bad) expect(codeOf(() => parseTilePath(p)), p).toBe('INPUT_INVALID');
  });

  it('rejects every byte mangling of valid paths (STYLE.md §8)', () => {
    for (const good of ['tile/3/x012/345.p/67', 'tile/entries/x001/000']) {
      const canonical = parseTilePath(good);
      for (let i = 0; i < good.length; i++) {
        for (const delta of [-1, 1]) {
          const mangled = good.slice(0, i) + String.fromCharCode(good.charCodeAt(i) + delta) + good.slice(i + 1);
          let parsed: Tile | undefined;
          try {
            parsed = parseTilePath(mangled);
          } catch {
            continue;
          }
          // A mangling that still parses must name a different tile, spelled canonically.
          expect(parsed, mangled).not.toEqual(canonical);
          expect(formatTilePath(parsed)).toBe(mangled.replace(/^\//, ''));
        }
        const cut = good.slice(0, i);
        let parsedCut: Tile | undefined;
        try {
          parsedCut = parseTilePath(cut);
        } catch {
          continue;
        }
        expect(formatTilePath(parsedCut)).toBe(cut);
      }
    }
  });

  it('refuses to format invalid tiles', () => {
    expect(codeOf(() => formatTilePath({ kind: 'hash', level: 64, index: 0n, width: 1 }))).toBe('INPUT_INVALID');
    expect(codeOf(() => formatTilePath({ kind: 'hash', level: 0, index: -1n, width: 1 }))).toBe('INPUT_INVALID');
    expect(codeOf(() => formatTilePath({ kind: 'hash', level: 0, index: 1n << 56n, width: 1 }))).toBe('INPUT_INVALID');
    expect(codeOf(() => formatTilePath({ kind: 'entries', index: 0n, width: 0 }))).toBe('INPUT_INVALID');
    expect(codeOf(() => formatTilePath({ kind: 'entries', index: 0n, width: 257 }))).toBe('INPUT_INVALID');
    expect(codeOf(() => formatTilePath({ kind: 'entries', index: 0n, width: 1.5 }))).toBe('INPUT_INVALID');
  });
});

describe('tile geometry', () => {
  it('covers level-8L nodes and their leaves', () => {
    expect(tileCoverage({ kind: 'hash', level: 0, index: 2n, width: 256 })).toEqual({ nodeLevel: 0, begin: 512n, end: 768n, leafBegin: 512n, leafEnd: 768n });
    expect(tileCoverage({ kind: 'hash', level: 1, index: 1n, width: 3 })).toEqual({ nodeLevel: 8, begin: 256n, end: 259n, leafBegin: 65536n, leafEnd: 66304n });
    expect(tileCoverage({ kind: 'entries', index: 1n, width: 10 })).toEqual({ nodeLevel: 0, begin: 256n, end: 266n, leafBegin: 256n, leafEnd: 266n });
    expect(planTile(1, 0n, 2)).toEqual([
      { level: 8, index: 0n },
      { level: 8, index: 1n },
    ]);
    expect(codeOf(() => planTile(8, 0n, 1))).toBe('INPUT_INVALID');
  });

  it('computes widths: full, partial, absent', () => {
    expect(tileWidth(0, 0n, 0n)).toBe(0);
    expect(tileWidth(0, 0n, 1n)).toBe(1);
    expect(tileWidth(0, 0n, 256n)).toBe(256);
    expect(tileWidth(0, 1n, 256n)).toBe(0);
    expect(tileWidth(0, 1n, 300n)).toBe(44);
    expect(tileWidth(1, 0n, 255n)).toBe(0);
    expect(tileWidth(1, 0n, 256n)).toBe(1);
    expect(tileWidth(1, 0n, 70_000n)).toBe(256);
    expect(tileWidth(1, 1n, 70_000n)).toBe(17); // 70000 >> 8 = 273
    expect(tileWidth(7, 0n, (1n << 64n) - 1n)).toBe(255);
    expect(tileWidth(8, 0n, (1n << 64n) - 1n)).toBe(0);
  });

  it('lists every tile of a tree once', () => {
    const tiles = [...listTiles(70_000n)].map(formatTilePath);
    expect(tiles.filter((p) => p.startsWith('tile/0/'))).toHaveLength(274); // 273 full + 1 partial (112)
    expect(tiles).toContain('tile/0/273.p/112');
    expect(tiles.filter((p) => p.startsWith('tile/1/'))).toEqual(['tile/1/000', 'tile/1/001.p/17']);
    expect(tiles.filter((p) => p.startsWith('tile/2/'))).toEqual(['tile/2/000.p/1']); // 70000 >> 16 = 1
    expect(tiles.filter((p) => p.startsWith('tile/3/'))).toEqual([]);
    expect(tiles.filter((p) => p.startsWith('tile/entries/'))).toHaveLength(274);
    expect(new Set(tiles).size).toBe(tiles.length);
    expect([...listTiles(0n)]).toEqual([]);
    expect([...listTiles(256n, false)].map(formatTilePath)).toEqual(['tile/0/000', 'tile/1/000.p/1']);
  });

  it('splits hash tiles strictly', () => {
    const bytes = new Uint8Array(64).map((_, i) => i);
    const hashes = splitHashTile(bytes, 2);
    expect(hashes.map((h) => h[0])).toEqual([0, 32]);
    expect(codeOf(() => splitHashTile(bytes, 3))).toBe('INPUT_INVALID');
    expect(codeOf(() => splitHashTile(bytes.subarray(1), 2))).toBe('INPUT_INVALID');
  });
});

describe('entry bundles', () => {
  const e = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

  it('round-trips, with the exact byte layout', () => {
    const entries = [e(1, 0xaa), e(0), e(300, 1), e(65_535, 2)];
    const bundle = encodeEntryBundle(entries);
    expect(Array.from(bundle.subarray(0, 6))).toEqual([0x00, 0x01, 0xaa, 0x00, 0x00, 0x01]);
    expect(bundle.length).toBe(2 * 4 + 1 + 0 + 300 + 65_535);
    const same = (a: Uint8Array[], b: Uint8Array[]) => a.length === b.length && a.every((x, i) => Buffer.compare(x, b[i]!) === 0);
    expect(same(decodeEntryBundle(bundle), entries)).toBe(true);
    expect(same(decodeEntryBundle(bundle, 4), entries)).toBe(true);
    const full = Array.from({ length: 256 }, (_, i) => e(i % 7, i));
    expect(decodeEntryBundle(encodeEntryBundle(full), 256)).toEqual(full);
  });

  it('rejects oversize entries and bad counts when encoding', () => {
    expect(codeOf(() => encodeEntryBundle([e(65_536)]))).toBe('INPUT_INVALID');
    expect(codeOf(() => encodeEntryBundle([]))).toBe('INPUT_INVALID');
    expect(codeOf(() => encodeEntryBundle(Array.from({ length: 257 }, () => e(1))))).toBe('INPUT_INVALID');
  });

  it('rejects truncation, trailing bytes and the wrong count', () => {
    const bundle = encodeEntryBundle([e(10), e(20)]);
    expect(codeOf(() => decodeEntryBundle(bundle.subarray(0, bundle.length - 1)))).toBe('INPUT_INVALID');
    expect(codeOf(() => decodeEntryBundle(bundle.subarray(0, 13)))).toBe('INPUT_INVALID'); // half a length prefix
    expect(codeOf(() => decodeEntryBundle(new Uint8Array([...bundle, 0])))).toBe('INPUT_INVALID');
    expect(codeOf(() => decodeEntryBundle(bundle, 1))).toBe('INPUT_INVALID');
    expect(codeOf(() => decodeEntryBundle(bundle, 3))).toBe('INPUT_INVALID');
    expect(codeOf(() => decodeEntryBundle(new Uint8Array(0)))).toBe('INPUT_INVALID');
    // Every truncation of a valid bundle is rejected (or, at an entry boundary, has fewer entries).
    for (let n = 0; n < bundle.length; n++) expect(codeOf(() => decodeEntryBundle(bundle.subarray(0, n), 2)), String(n)).toBe('INPUT_INVALID');
    // 257 entries never make a bundle.
    const many = new Uint8Array(257 * 2);
    expect(codeOf(() => decodeEntryBundle(many))).toBe('INPUT_INVALID');
  });
});
