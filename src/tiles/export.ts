/**
 * Static export of the tlog-tiles read API (`guzheng export-tiles`): every full and partial tile
 * for one signed checkpoint, plus the `checkpoint` file, laid out exactly as the URL paths, ready
 * for any object store or CDN. Incremental: a full tile that already exists is immutable and is
 * not rewritten. Files are written to a temporary name and renamed, and `checkpoint` is written
 * last, so a reader that fetches `checkpoint` first always finds every tile it needs.
 * See contracts-free-ledger/SPEC.md#tiles.
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { equalBytes, toHex } from '../core/bytes.js';
import { openCheckpoint } from '../core/checkpoint.js';
import type { VerifierKey } from '../core/note.js';
import { suiteOfVerifier } from '../core/suite.js';
import { formatTilePath, listTiles, TILE_WIDTH, type Tile } from '../core/tiles.js';
import { HASH_SIZE } from '../core/merkle/hash.js';
import { rootAt } from '../log/recover.js';
import type { LedgerStore } from '../storage/store.js';
import { readTileBytes } from './read.js';

/** Options of {@link exportTiles}. */
export interface ExportOptions {
  /** Also export entry bundles (default true). They hold entry metadata: see docs/audit.md. */
  readonly entries?: boolean;
  /** Called after each tile with the number done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What {@link exportTiles} did. */
export interface ExportResult {
  readonly size: bigint;
  readonly root: string;
  /** Tiles the checkpoint has (hash tiles and, if exported, entry bundles). */
  readonly tiles: number;
  readonly written: number;
  /** Full tiles already present and left alone. */
  readonly skipped: number;
}

function countTiles(size: bigint, entries: boolean): number {
  let n = 0;
  for (const _ of listTiles(size, entries)) n++;
  return n;
}

async function exists(path: string, size?: number): Promise<boolean> {
  try {
    const s = await stat(path);
    return s.isFile() && (size === undefined || s.size === size);
  } catch {
    return false;
  }
}

async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

/**
 * exportTiles writes every tile of the checkpoint `note` (signed by `verifier`) from `store` into
 * `outDir`, then `outDir/checkpoint`. Requires: the store holds at least the checkpoint's size
 * and its stored tree has the checkpoint's root at that size; otherwise it throws before writing
 * anything (a static export must never contradict its checkpoint).
 */
export async function exportTiles(store: LedgerStore, note: string, verifier: string | VerifierKey, outDir: string, options: ExportOptions = {}): Promise<ExportResult> {
  const cp = openCheckpoint(note, verifier).checkpoint;
  const stored = await store.getSize();
  if (stored < cp.size) throw new Error(`export: the checkpoint covers ${cp.size} entries but the store holds ${stored}`);
  // The stored tree is hashed with the suite of the log's key (SPEC.md#crypto-suites, #tiles).
  const root = await rootAt(store, cp.size, suiteOfVerifier(verifier).tree);
  if (!equalBytes(root, cp.root)) throw new Error(`export: the stored tree at size ${cp.size} has root ${toHex(root)}, the checkpoint says ${toHex(cp.root)}; run "guzheng audit"`);
  const entries = options.entries ?? true;
  const total = countTiles(cp.size, entries);
  let done = 0;
  let written = 0;
  let skipped = 0;
  for (const tile of listTiles(cp.size, entries)) {
    const path = join(outDir, formatTilePath(tile));
    if (tile.width === TILE_WIDTH && (await exists(path, fullSize(tile)))) {
      skipped++;
    } else {
      const bytes = await readTileBytes(store, tile, cp.size);
      if (bytes === undefined) throw new Error(`export: bad math: tile ${formatTilePath(tile)} unavailable at size ${cp.size}`);
      await writeAtomic(path, bytes);
      written++;
    }
    options.onProgress?.(++done, total);
  }
  await writeAtomic(join(outDir, 'checkpoint'), note);
  return { size: cp.size, root: toHex(cp.root), tiles: total, written, skipped };
}

/** The byte size of a full tile when it is fixed (hash tiles), else undefined. */
function fullSize(tile: Tile): number | undefined {
  return tile.kind === 'hash' ? TILE_WIDTH * HASH_SIZE : undefined;
}
