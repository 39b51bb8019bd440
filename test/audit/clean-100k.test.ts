/**
 * A clean 100,000-entry ledger (real LevelDB, built through Ledger in fsynced batches of 1,000):
 * the audit replays it and finds nothing, and its tiles — up to level 2 — match an independent
 * recomputation from the exact entry bytes. Prints the build and replay rates.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { toHex } from '../../src/core/bytes.js';
import { openCheckpoint } from '../../src/core/checkpoint.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import { decodeEntryBundle, formatTilePath, listTiles, parseTilePath, splitHashTile } from '../../src/core/tiles.js';
import { LocalSource } from '../../src/audit/local.js';
import { runAudit } from '../../src/audit/replay.js';
import { formatReport } from '../../src/audit/report.js';
import { installNodeCrypto } from '../../src/platform/node-crypto.js';
import { LevelStore } from '../../src/storage/level.js';
import { handleTileRequest } from '../../src/tiles/handler.js';
import { refRoot } from '../support/reference-merkle.js';
import { KEYS, buildLedger, cleanupDirs, tempDir } from './helpers.js';

const SIZE = 100_000;
let dir: string;
let notes: string[];

beforeAll(async () => {
  installNodeCrypto();
  dir = join(tempDir(), 'ledger');
  const t = performance.now();
  notes = await buildLedger(dir, SIZE, { batch: 1000 });
  const s = (performance.now() - t) / 1000;
  console.log(`built ${SIZE.toLocaleString('en-US')} entries through Ledger in ${s.toFixed(1)} s (${Math.round(SIZE / s).toLocaleString('en-US')} entries/s)`);
}, 300_000);
afterAll(cleanupDirs);

describe('a clean 100k-entry ledger', () => {
  it('audits clean: size, root, 101 checkpoints', async () => {
    const source = await LocalSource.open(dir);
    const cpu = process.cpuUsage();
    const r = await runAudit(source, { verifierKey: KEYS.verifierKey });
    const used = process.cpuUsage(cpu);
    await source.close();
    console.log(formatReport(r).trimEnd());
    console.log(`process CPU (all threads) ${((used.user + used.system) / SIZE).toFixed(1)} µs/entry; ${r.stats.workers} workers`);
    expect(r.ok, formatReport(r)).toBe(true);
    expect(r.size).toBe(BigInt(SIZE));
    expect(r.checkpoints).toBe(101n);
    expect(toHex(r.root)).toBe(toHex(openCheckpoint(notes[notes.length - 1] as string, KEYS.verifierKey).checkpoint.root));
  }, 300_000);

  it('serves tiles that match an independent recomputation, up to level 2', async () => {
    const store = await LevelStore.open(dir);
    try {
      const entries = await store.getEntries(0n, SIZE);
      const leaves = entries.map(hashLeaf);
      const get = async (path: string) => {
        const r = await handleTileRequest(path, { store, checkpointSize: BigInt(SIZE), authorized: true });
        expect(r.status, path).toBe(200);
        return r.body;
      };
      // Level 0: every tile is the leaf hashes; entry bundles the exact entries.
      for (const tile of listTiles(BigInt(SIZE))) {
        if (tile.kind === 'hash' && tile.level > 0) continue;
        const path = '/' + formatTilePath(tile);
        const body = await get(path);
        const begin = Number(tile.index) * 256;
        const want = tile.kind === 'hash' ? leaves.slice(begin, begin + tile.width) : entries.slice(begin, begin + tile.width);
        const got = tile.kind === 'hash' ? splitHashTile(body, tile.width) : decodeEntryBundle(body, tile.width);
        expect(got.every((h, i) => Buffer.compare(h, want[i]!) === 0), path).toBe(true);
      }
      // Level 1: 390 level-8 nodes (one full tile, one of 134); level 2: one level-16 node.
      const l1 = [...splitHashTile(await get('/tile/1/000'), 256), ...splitHashTile(await get('/tile/1/001.p/134'), 134)];
      l1.forEach((h, i) => expect(toHex(h), `level-8 node ${i}`).toBe(toHex(refRoot(leaves.slice(i * 256, (i + 1) * 256)))));
      const [l2] = splitHashTile(await get('/tile/2/000.p/1'), 1);
      expect(toHex(l2!)).toBe(toHex(refRoot(leaves.slice(0, 65_536))));
      expect((await handleTileRequest('/tile/2/000', { store, checkpointSize: BigInt(SIZE) })).status).toBe(404);
      expect(parseTilePath('/tile/1/001.p/134')).toMatchObject({ level: 1, index: 1n, width: 134 });
    } finally {
      await store.close();
    }
  }, 300_000);
});
