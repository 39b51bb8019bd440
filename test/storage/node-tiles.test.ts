/**
 * Tree nodes as tiles (src/storage/node-tiles.ts): every node a compact range emits, placed in its
 * tile flush by flush (partial tiles extended from what is stored), reads back exactly; the slot
 * layout is a bijection onto the 510 slots of a tile; and a tile's first slots are the C2SP tile
 * of its level (the leaf hashes, the level-8 nodes).
 */
import { describe, expect, it } from 'vitest';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { CompactRange } from '../../src/core/merkle/compact.js';
import type { NodeHash } from '../../src/core/merkle/node.js';
import { toHex } from '../../src/core/bytes.js';
import { TILE_SLOTS, baseHashes, nodeComplete, nodeFromTile, placeNodes, tileName, tileSlot, type TileBytes } from '../../src/storage/node-tiles.js';

function leaf(i: number): Uint8Array {
  const h = new Uint8Array(32);
  new DataView(h.buffer).setUint32(0, i);
  h[31] = i & 0xff;
  h[30] = 0x5a;
  return h;
}

/** build appends `n` leaves in flushes of the given sizes, placing each flush's nodes in tiles. */
function build(n: number, flush: (i: number) => number): { stored: TileBytes; nodes: NodeHash[] } {
  const range = CompactRange.empty();
  const stored: TileBytes = new Map();
  const all: NodeHash[] = [];
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + flush(i));
    const nodes: NodeHash[] = [];
    for (; i < end; i++) range.appendTo(leaf(i), nodes);
    for (const [name, bytes] of placeNodes(nodes, (x) => stored.get(x))) stored.set(name, bytes);
    all.push(...nodes);
  }
  return { stored, nodes: all };
}

describe('node tiles', () => {
  it('lays the 510 slots of a tile out one to one, sub-level by sub-level', () => {
    const seen = new Set<number>();
    for (let k = 0; k < 8; k++) {
      for (let i = 0n; i < BigInt(256 >> k); i++) {
        const at = tileSlot({ level: 8 + k, index: 5n * BigInt(256 >> k) + i });
        expect(at.tileLevel).toBe(1);
        expect(at.tileIndex).toBe(5n);
        seen.add(at.slot);
      }
    }
    expect(seen.size).toBe(TILE_SLOTS);
    expect(Math.min(...seen)).toBe(0);
    expect(Math.max(...seen)).toBe(TILE_SLOTS - 1);
    expect(tileSlot({ level: 16, index: 3n })).toEqual({ tileLevel: 2, tileIndex: 0n, slot: 3 });
    expect(() => tileSlot({ level: 64, index: 0n })).toThrow(RangeError);
  });

  it('reads back every node of a 70,000-leaf tree placed flush by flush, and the C2SP tiles are its first slots', () => {
    const n = 70_000;
    const { stored, nodes } = build(n, (i) => 1 + ((i * 37) % 1500));
    const wrong: string[] = [];
    for (const node of nodes) {
      const at = tileSlot(node);
      const tile = stored.get(tileName(at.tileLevel, at.tileIndex));
      if (!nodeComplete(node, BigInt(n)) || tile === undefined || Buffer.compare(nodeFromTile(tile, at.slot), node.hash) !== 0) wrong.push(`${node.level}/${node.index}`);
    }
    expect(wrong).toEqual([]);
    expect(nodes.length).toBeGreaterThan(n);
    // Tile 0/3 serves leaves 768 … 1023; tile 1/0 the level-8 nodes 0 … 255 (those complete).
    const t03 = baseHashes(stored.get('0/3') as Uint8Array, 256);
    for (let j = 0; j < 256; j++) expect(toHex(t03.subarray(32 * j, 32 * j + 32))).toBe(toHex(leaf(768 + j)));
    const level8 = new Map(nodes.filter((x) => x.level === 8).map((x) => [x.index, toHex(x.hash)]));
    const width = Math.min(256, Math.floor(n / 256));
    const t10 = baseHashes(stored.get('1/0') as Uint8Array, width);
    for (let j = 0; j < width; j++) expect(toHex(t10.subarray(32 * j, 32 * j + 32))).toBe(level8.get(BigInt(j)));
    // 274 tiles at level 0 (the last partial), 2 at level 1, 1 at level 2.
    expect([...stored.keys()].filter((k) => k.startsWith('0/')).length).toBe(Math.ceil(n / 256));
    expect([...stored.keys()].filter((k) => !k.startsWith('0/')).sort()).toEqual(['1/0', '1/1', '2/0']);
  }, 60_000);

  it('property: any flush sizes give the same tiles as one flush', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 30 }), (n, sizes) => {
        const once = build(n, () => n).stored;
        const many = build(n, (i) => sizes[i % sizes.length] as number).stored;
        expect([...many.keys()].sort()).toEqual([...once.keys()].sort());
        for (const [name, bytes] of once) expect(toHex(many.get(name) as Uint8Array)).toBe(toHex(bytes));
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it('refuses a stored tile of the wrong size and a hash that is not 32 bytes', () => {
    expect(() => placeNodes([{ level: 0, index: 0n, hash: new Uint8Array(32) }], () => new Uint8Array(10))).toThrow(/want 16320/);
    expect(() => placeNodes([{ level: 0, index: 0n, hash: new Uint8Array(31) }], () => undefined)).toThrow(/32 bytes/);
    expect(() => nodeFromTile(new Uint8Array(TILE_SLOTS * 32), TILE_SLOTS)).toThrow(RangeError);
  });
});
