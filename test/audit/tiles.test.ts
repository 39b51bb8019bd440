/**
 * The tlog-tiles read API served from storage (src/tiles) against an independent recomputation:
 * level-0 tiles are the leaf hashes of the exact entries, level-1 tiles the roots of 256-leaf
 * subtrees computed with the naive RFC 9162 recursion of test/support/reference-merkle.ts; entry
 * bundles decode back to the stored entries. Partial tiles exist for every published size.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { equalBytes, toHex } from '../../src/core/bytes.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import { decodeEntryBundle, formatTilePath, listTiles, parseTilePath, splitHashTile, tileWidth, TILE_WIDTH, type Tile } from '../../src/core/tiles.js';
import { Ledger } from '../../src/log/ledger.js';
import { MemoryStore } from '../../src/storage/memory.js';
import type { LedgerStore } from '../../src/storage/store.js';
import { exportTiles } from '../../src/tiles/export.js';
import { handleTileRequest, IMMUTABLE, isEntryBundlePath, PARTIAL } from '../../src/tiles/handler.js';
import { readTileBytes } from '../../src/tiles/read.js';
import { refRoot } from '../support/reference-merkle.js';
import { CLOCK, KEYS, appendEntries, cleanupDirs, tempDir } from './helpers.js';

const SIZE = 1000;
let ledger: Ledger;
let store: MemoryStore;
let leaves: Uint8Array[];
let entries: Uint8Array[];
let sizes: bigint[];

beforeAll(async () => {
  store = new MemoryStore();
  ledger = await Ledger.open({ store, signerKey: KEYS.signerKey, checkpointIntervalMs: 3_600_000, clock: CLOCK });
  // Blocks at sizes 0, 1, 130, 255, 256, 257, 600, 1000: around every tile boundary.
  const steps = [1, 130, 255, 256, 257, 600, 1000];
  for (const to of steps) await appendEntries(ledger, to, { batch: to });
  sizes = (await ledger.blocks(0n, 100)).map((b) => openCheckpoint(b.checkpoint, KEYS.verifierKey).checkpoint.size);
  entries = await store.getEntries(0n, SIZE);
  leaves = entries.map(hashLeaf);
}, 60_000);
afterAll(async () => {
  await ledger.close();
  cleanupDirs();
});

/** The independent expectation for a tile at tree size `size`. */
function expected(tile: Tile): Uint8Array[] {
  const begin = Number(tile.index) * TILE_WIDTH;
  if (tile.kind === 'entries') return entries.slice(begin, begin + tile.width);
  const span = 2 ** (8 * tile.level);
  return Array.from({ length: tile.width }, (_, i) => refRoot(leaves.slice((begin + i) * span, (begin + i + 1) * span)));
}

function same(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => equalBytes(x, b[i] as Uint8Array));
}

describe('tiles read from storage', () => {
  it('publishes blocks at the sizes the test relies on', () => {
    expect(sizes).toEqual([0n, 1n, 130n, 255n, 256n, 257n, 600n, 1000n]);
  });

  it('match an independent recomputation for every tile of every published size', async () => {
    let checked = 0;
    for (const size of sizes) {
      for (const tile of listTiles(size)) {
        const bytes = await readTileBytes(store, tile, BigInt(SIZE));
        expect(bytes, formatTilePath(tile)).toBeDefined();
        const got = tile.kind === 'hash' ? splitHashTile(bytes as Uint8Array, tile.width) : decodeEntryBundle(bytes as Uint8Array, tile.width);
        expect(same(got, expected(tile)), `${formatTilePath(tile)} at size ${size}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
    // Level 1 holds the level-8 nodes: at 1000 entries, three of them.
    const l1 = await readTileBytes(store, parseTilePath('tile/1/000.p/3'), 1000n);
    expect(toHex(l1 as Uint8Array)).toBe(toHex(Buffer.concat([0, 1, 2].map((i) => refRoot(leaves.slice(i * 256, (i + 1) * 256))))));
  });

  it('the tiles of the latest checkpoint reproduce its root', async () => {
    const cp = ledger.latest().checkpoint.checkpoint;
    const level0 = [];
    for (const tile of listTiles(cp.size, false)) if (tile.kind === 'hash' && tile.level === 0) level0.push(...splitHashTile((await readTileBytes(store, tile, cp.size)) as Uint8Array, tile.width));
    expect(toHex(refRoot(level0))).toBe(toHex(cp.root));
  });

  it('nothing beyond the published size', async () => {
    expect(await readTileBytes(store, parseTilePath('tile/0/003.p/233'), 1000n)).toBeUndefined(); // 768 + 233 > 1000
    expect(await readTileBytes(store, parseTilePath('tile/0/003'), 1000n)).toBeUndefined(); // not full yet
    expect(await readTileBytes(store, parseTilePath('tile/0/003.p/232'), 1000n)).toBeDefined();
    expect(await readTileBytes(store, parseTilePath('tile/1/000.p/4'), 1000n)).toBeUndefined();
    expect(await readTileBytes(store, parseTilePath('tile/2/000.p/1'), 1000n)).toBeUndefined();
    expect(await readTileBytes(store, parseTilePath('tile/0/000'), 255n)).toBeUndefined();
    expect(await readTileBytes(store, parseTilePath('tile/0/000'), 256n)).toBeDefined();
  });
});

describe('handleTileRequest', () => {
  const ctx = (over: object = {}) => ({ store: store as LedgerStore, checkpointSize: BigInt(SIZE), ...over });

  it('serves full tiles as immutable and partial ones briefly', async () => {
    const full = await handleTileRequest('/tile/0/001', ctx());
    expect(full.status).toBe(200);
    expect(full.headers).toMatchObject({ 'Content-Type': 'application/octet-stream', 'Cache-Control': IMMUTABLE, 'Content-Length': String(256 * 32) });
    expect(same(splitHashTile(full.body, 256), leaves.slice(256, 512))).toBe(true);
    const partial = await handleTileRequest('/tile/0/003.p/7', ctx());
    expect(partial.status).toBe(200);
    expect(partial.headers['Cache-Control']).toBe(PARTIAL);
    expect(partial.body.length).toBe(7 * 32);
  });

  it('404s beyond the checkpoint, 400s non-canonical paths', async () => {
    const r = await handleTileRequest('/tile/0/004', ctx());
    expect(r.status).toBe(404);
    expect(JSON.parse(new TextDecoder().decode(r.body))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect((await handleTileRequest('/tile/0/003', ctx({ checkpointSize: 900n }))).status).toBe(404);
    for (const bad of ['/tile/0/3', '/tile/00/000', '/tile/0/000.p/256', '/tile/0/x000/001', '/tile/x']) {
      const b = await handleTileRequest(bad, ctx());
      expect(b.status, bad).toBe(400);
      expect(b.headers['Content-Type']).toBe('application/problem+json');
    }
  });

  it('serves entry bundles only when authorized, never to shared caches', async () => {
    expect(isEntryBundlePath('/tile/entries/000')).toBe(true);
    expect(isEntryBundlePath('/tile/0/000')).toBe(false);
    const denied = await handleTileRequest('/tile/entries/000', ctx());
    expect(denied.status).toBe(401);
    expect(denied.headers['WWW-Authenticate']).toMatch(/^Bearer/);
    const ok = await handleTileRequest('/tile/entries/000', ctx({ authorized: true }));
    expect(ok.status).toBe(200);
    expect(ok.headers['Cache-Control']).toBe('private, max-age=31536000, immutable');
    expect(same(decodeEntryBundle(ok.body, 256), entries.slice(0, 256))).toBe(true);
    const pub = await handleTileRequest('/tile/entries/003.p/232', ctx({ entriesPublic: true }));
    expect(pub.headers['Cache-Control']).toBe(PARTIAL);
  });
});

describe('exportTiles', () => {
  it('writes every tile of the checkpoint and the checkpoint last; incremental afterwards', async () => {
    const out = join(tempDir(), 'export');
    const note = ledger.latest().checkpoint.note;
    const r = await exportTiles(store, note, KEYS.verifierKey, out);
    const all = [...listTiles(BigInt(SIZE))];
    expect(r).toMatchObject({ size: BigInt(SIZE), tiles: all.length, written: all.length, skipped: 0 });
    for (const tile of all) {
      const bytes = new Uint8Array(readFileSync(join(out, formatTilePath(tile))));
      const got = tile.kind === 'hash' ? splitHashTile(bytes, tile.width) : decodeEntryBundle(bytes, tile.width);
      expect(same(got, expected(tile)), formatTilePath(tile)).toBe(true);
    }
    expect(readFileSync(join(out, 'checkpoint'), 'utf8')).toBe(note);
    // Again: full tiles stay, partial ones and the checkpoint are rewritten.
    const mtime = statSync(join(out, 'tile/0/000')).mtimeMs;
    const again = await exportTiles(store, note, KEYS.verifierKey, out, { entries: false });
    expect(again.skipped).toBe(3 /* tile/0/000..002 */);
    expect(statSync(join(out, 'tile/0/000')).mtimeMs).toBe(mtime);
    expect(existsSync(join(out, 'tile/0/003.p/232'))).toBe(true);
  });

  it('refuses a checkpoint the store does not match, or one not signed by the key', async () => {
    const out = join(tempDir(), 'export');
    const older = (await ledger.block(3n))!.checkpoint; // size 255
    const forged = new MemoryStore();
    const other = await Ledger.open({ store: forged, signerKey: KEYS.signerKey, checkpointIntervalMs: 3_600_000, clock: CLOCK });
    await appendEntries(other, 255, { batch: 255, variant: () => 'other ' });
    await expect(exportTiles(forged, older, KEYS.verifierKey, out)).rejects.toThrow(/has root .* the checkpoint says/);
    await expect(exportTiles(store, older, 'other.example/log+00000000+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4', out)).rejects.toThrow();
    expect(existsSync(join(out, 'checkpoint'))).toBe(false);
    await other.close();
  });

  it('exports the tiles of an older checkpoint unchanged after the log grew', async () => {
    const out = join(tempDir(), 'export');
    const older = (await ledger.block(5n))!.checkpoint; // size 257
    await exportTiles(store, older, KEYS.verifierKey, out);
    expect(readFileSync(join(out, 'tile/0/001.p/1')).length).toBe(32);
    expect(equalBytes(new Uint8Array(readFileSync(join(out, 'tile/0/001.p/1'))), leaves[256] as Uint8Array)).toBe(true);
    expect(tileWidth(1, 0n, 257n)).toBe(1);
    expect(equalBytes(new Uint8Array(readFileSync(join(out, 'tile/1/000.p/1'))), refRoot(leaves.slice(0, 256)))).toBe(true);
  });
});
