/**
 * Tampering with a layout-2 data directory straight in LevelDB, for the audit tests (keys of
 * src/storage/layout2.ts and src/storage/run-index.ts, written out here on their own so that the
 * tests do not borrow the audit's key builders): entries inside their bundles (the partial one
 * stored as pieces), nodes inside their tiles (an incomplete one stored as pieces), records inside the runs of the leaf-hash and digest indexes (manifests kept consistent,
 * as a careful forger would), records of the digest bundles.
 */
import type { Level } from 'level';
import { decodeEntryBundle, encodeEntryBundle } from '../../src/core/tiles.js';
import {
  BUNDLE,
  DIGEST_INDEX,
  LEAF_INDEX,
  TILE_BYTES,
  bundleKey,
  bundlePieceKey,
  decodeDigestRecords,
  digestBundleKey,
  digestPieceKey,
  encodeDigestRecord,
  nodeLocation,
  tileKey,
  tilePieceKey,
  tilePiecePrefix,
  type DigestRecord,
} from '../../src/storage/layout2.js';
import { TILE_SLOTS, nodeComplete } from '../../src/storage/node-tiles.js';

export type Db = Level<Uint8Array, Uint8Array>;
export { DIGEST_INDEX, LEAF_INDEX };

/** The rows of keys from `gte` (inclusive) to `lt`. */
function rows(db: Db, gte: Uint8Array, lt: Uint8Array): Promise<Array<[Uint8Array, Uint8Array]>> {
  return db.iterator({ gte, lt }).all();
}

/** The entries of bundle `b`: whole, or joined from its pieces. */
export async function readBundle(db: Db, b: bigint): Promise<Uint8Array[]> {
  const whole = await db.get(bundleKey(b));
  if (whole !== undefined) return decodeEntryBundle(new Uint8Array(whole)).map((e) => new Uint8Array(e));
  const lo = b * BigInt(BUNDLE);
  const pieces = await rows(db, bundlePieceKey(lo), bundlePieceKey(lo + BigInt(BUNDLE)));
  if (pieces.length === 0) throw new Error(`test: entry bundle ${b} is not stored`);
  return pieces.flatMap(([, v]) => decodeEntryBundle(new Uint8Array(v)).map((e) => new Uint8Array(e)));
}

/** The digest records of bundle `b`, encoded: whole, or joined from its pieces. */
async function digestBytes(db: Db, b: bigint): Promise<Uint8Array> {
  const whole = await db.get(digestBundleKey(b));
  if (whole !== undefined) return new Uint8Array(whole);
  const lo = b * BigInt(BUNDLE);
  const parts = (await rows(db, digestPieceKey(lo), digestPieceKey(lo + BigInt(BUNDLE)))).map(([, v]) => v);
  if (parts.length === 0) throw new Error(`test: digest bundle ${b} is not stored`);
  return concat(parts);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

/** Deletes bundle `b` whole: its entries and digests, whole or in pieces. */
export async function deleteBundle(db: Db, b: bigint): Promise<void> {
  const lo = b * BigInt(BUNDLE);
  const batch = db.batch().del(bundleKey(b)).del(digestBundleKey(b));
  for (const [k] of await rows(db, bundlePieceKey(lo), bundlePieceKey(lo + BigInt(BUNDLE)))) batch.del(k);
  for (const [k] of await rows(db, digestPieceKey(lo), digestPieceKey(lo + BigInt(BUNDLE)))) batch.del(k);
  await batch.write();
}

/**
 * Stores bundle `b` as these entries (C2SP encoding), as the store would: whole when it holds 256,
 * else as one piece from its first entry (its digests then one piece too, as they were); `whole`
 * forces either.
 */
export async function writeBundle(db: Db, b: bigint, entries: readonly Uint8Array[], whole = entries.length === BUNDLE): Promise<void> {
  const digests = await digestBytes(db, b).catch(() => undefined);
  await deleteBundle(db, b);
  const lo = b * BigInt(BUNDLE);
  if (whole) {
    await db.put(bundleKey(b), encodeEntryBundle(entries));
    if (digests !== undefined) await db.put(digestBundleKey(b), digests);
  } else {
    await db.put(bundlePieceKey(lo), encodeEntryBundle(entries));
    if (digests !== undefined) await db.put(digestPieceKey(lo), digests);
  }
}

/** Entry `i`, from its bundle. */
export async function getEntry(db: Db, i: bigint): Promise<Uint8Array> {
  const e = (await readBundle(db, i / BigInt(BUNDLE)))[Number(i % BigInt(BUNDLE))];
  if (e === undefined) throw new Error(`test: entry ${i} is not stored`);
  return e;
}

/** Replaces entry `i` inside its bundle. */
export async function putEntry(db: Db, i: bigint, bytes: Uint8Array): Promise<void> {
  const b = i / BigInt(BUNDLE);
  const entries = await readBundle(db, b);
  entries[Number(i % BigInt(BUNDLE))] = bytes;
  await writeBundle(db, b, entries);
}

/** Entries [0, n), bundle by bundle. */
export async function allEntries(db: Db, n: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let b = 0n; out.length < n; b++) out.push(...(await readBundle(db, b)));
  return out.slice(0, n);
}

/** The end of the piece keys of tile (L, N). */
function piecesEnd(L: number, N: bigint): Uint8Array {
  const p = tilePiecePrefix(L, N);
  const out = new Uint8Array(p.length + 9).fill(0xff);
  out.set(p);
  return out;
}

/** Tile (L, N): whole, or assembled from its pieces; and whether it is stored whole. */
async function readTile(db: Db, L: number, N: bigint): Promise<{ tile: Uint8Array; whole: boolean }> {
  const whole = await db.get(tileKey(L, N));
  if (whole !== undefined) return { tile: new Uint8Array(whole), whole: true };
  const pieces = await rows(db, tilePiecePrefix(L, N), piecesEnd(L, N));
  if (pieces.length === 0) throw new Error(`test: tile ${L}/${N} is not stored`);
  const tile = new Uint8Array(TILE_BYTES);
  for (const [, v] of pieces) for (let at = 0; at < v.length; at += 34) tile.set(v.subarray(at + 2, at + 34), 32 * (((v[at] as number) << 8) | (v[at + 1] as number)));
  return { tile, whole: false };
}

/** Stores tile (L, N) whole or as one piece of its nonzero slots (its other pieces deleted). */
async function writeTile(db: Db, L: number, N: bigint, tile: Uint8Array, whole: boolean): Promise<void> {
  const batch = db.batch().del(tileKey(L, N));
  for (const [k] of await rows(db, tilePiecePrefix(L, N), piecesEnd(L, N))) batch.del(k);
  if (whole) batch.put(tileKey(L, N), tile);
  else {
    const records: number[] = [];
    for (let s = 0; s < TILE_SLOTS; s++) if (tile.subarray(32 * s, 32 * s + 32).some((x) => x !== 0)) records.push(s);
    const piece = new Uint8Array(34 * records.length);
    records.forEach((s, i) => {
      piece[34 * i] = s >> 8;
      piece[34 * i + 1] = s & 0xff;
      piece.set(tile.subarray(32 * s, 32 * s + 32), 34 * i + 2);
    });
    if (records.length > 0) batch.put(tilePieceKey(L, N, 0n), piece);
  }
  await batch.write();
}

/** The stored hash of node (level, index), from its tile. */
export async function getNode(db: Db, level: number, index: bigint): Promise<Uint8Array> {
  const at = nodeLocation({ level, index });
  return (await readTile(db, at.level, at.index)).tile.slice(32 * at.slot, 32 * at.slot + 32);
}

/** Sets node (level, index) in its tile (32 zero bytes: the node is not stored), whole or pieces as it was. */
export async function setNode(db: Db, level: number, index: bigint, hash: Uint8Array): Promise<void> {
  const at = nodeLocation({ level, index });
  const { tile, whole } = await readTile(db, at.level, at.index);
  tile.set(hash, 32 * at.slot);
  await writeTile(db, at.level, at.index, tile, whole);
}

/** The node in slot `slot` of tile (L, N) (inverse of node-tiles.ts tileSlot). */
function slotNode(L: number, N: bigint, slot: number): { level: number; index: bigint } {
  let k = 0;
  let offset = 0;
  while (slot >= offset + (256 >> k)) offset += 256 >> k++;
  return { level: 8 * L + k, index: N * BigInt(256 >> k) + BigInt(slot - offset) };
}

/**
 * Makes the tiles those of a tree of `size` entries, as the store keeps them: slots of incomplete
 * nodes zeroed, complete tiles whole, incomplete ones as one piece, tiles with no complete node gone.
 */
export async function trimTiles(db: Db, size: bigint): Promise<void> {
  const names = new Set<string>();
  for (const [k] of await rows(db, Uint8Array.of(0x54), Uint8Array.of(0x55))) names.add(`${k[1]}/${new DataView(k.buffer, k.byteOffset + 2, 8).getBigUint64(0)}`);
  for (const [k] of await rows(db, Uint8Array.of(0x55), Uint8Array.of(0x56))) names.add(`${k[1]}/${new DataView(k.buffer, k.byteOffset + 2, 8).getBigUint64(0)}`);
  for (const name of names) {
    const [l, n] = name.split('/') as [string, string];
    const L = Number(l);
    const N = BigInt(n);
    const { tile } = await readTile(db, L, N);
    let complete = 0;
    for (let s = 0; s < TILE_SLOTS; s++) {
      if (nodeComplete(slotNode(L, N, s), size)) complete++;
      else tile.fill(0, 32 * s, 32 * s + 32);
    }
    if (complete === 0) await writeTile(db, L, N, new Uint8Array(TILE_BYTES), false);
    else await writeTile(db, L, N, tile, complete === TILE_SLOTS);
  }
}

/** One run of an index: its manifest's fields and its records (13 bytes each, in page order). */
export interface Run {
  readonly level: number;
  readonly first: number;
  readonly end: number;
  readonly records: Uint8Array[];
}

function runKey(id: number, kind: string, level: number, first: number, page?: number): Uint8Array {
  const out = new Uint8Array(page === undefined ? 12 : 16);
  const v = new DataView(out.buffer);
  out.set([0x69, id, kind.charCodeAt(0), level]);
  v.setBigUint64(4, BigInt(first));
  if (page !== undefined) v.setUint32(12, page);
  return out;
}

/** Every run of index `id` (LEAF_INDEX or DIGEST_INDEX), with its records. */
export async function readRuns(db: Db, id: number): Promise<Run[]> {
  const runs: Run[] = [];
  for (const [k, v] of await db.iterator({ gte: Uint8Array.of(0x69, id, 0x6d), lt: Uint8Array.of(0x69, id, 0x6e) }).all()) {
    const kv = new DataView(k.buffer, k.byteOffset, k.byteLength);
    const level = k[3] as number;
    const first = Number(kv.getBigUint64(4));
    const end = Number(new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(0));
    const records: Uint8Array[] = [];
    const end16 = new Uint8Array(17);
    end16.set(runKey(id, 'p', level, first, 0xffff_ffff));
    for (const [, page] of await db.iterator({ gte: runKey(id, 'p', level, first, 0), lt: end16 }).all()) {
      for (let at = 0; at < page.length; at += 13) records.push(new Uint8Array(page.subarray(at, at + 13)));
    }
    runs.push({ level, first, end, records });
  }
  return runs;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 13; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

/** Rewrites `run` of index `id` with `records` (sorted here), pages and manifest both, as the store would. */
export async function writeRun(db: Db, id: number, run: Run, records: readonly Uint8Array[]): Promise<void> {
  const sorted = [...records].sort(compare);
  const end16 = new Uint8Array(17);
  end16.set(runKey(id, 'p', run.level, run.first, 0xffff_ffff));
  const batch = db.batch();
  for (const k of await db.keys({ gte: runKey(id, 'p', run.level, run.first, 0), lt: end16 }).all()) batch.del(k);
  const pages = Math.ceil(sorted.length / 256);
  const manifest = new Uint8Array(16 + 8 * pages);
  const mv = new DataView(manifest.buffer);
  mv.setBigUint64(0, BigInt(run.end));
  mv.setBigUint64(8, BigInt(sorted.length));
  for (let p = 0; p < pages; p++) {
    const page = new Uint8Array(13 * Math.min(256, sorted.length - 256 * p));
    for (let i = 0; i < page.length / 13; i++) page.set(sorted[256 * p + i] as Uint8Array, 13 * i);
    manifest.set(page.subarray(0, 8), 16 + 8 * p);
    batch.put(runKey(id, 'p', run.level, run.first, p), page);
  }
  batch.put(runKey(id, 'm', run.level, run.first), manifest);
  await batch.write();
}

/** The run record of `value` (its first 8 bytes) for entry `index`. */
export function record(value: Uint8Array, index: bigint): Uint8Array {
  const out = new Uint8Array(13);
  out.set(value.subarray(0, 8));
  out[8] = Number(index >> 32n);
  new DataView(out.buffer).setUint32(9, Number(index & 0xffff_ffffn));
  return out;
}

/** The run of index `id` that covers entry `index`. */
export async function runOf(db: Db, id: number, index: bigint): Promise<Run> {
  const run = (await readRuns(db, id)).find((r) => BigInt(r.first) <= index && index < BigInt(r.end));
  if (run === undefined) throw new Error(`test: no run of index ${id} covers entry ${index}`);
  return run;
}

/** The key of page `page` of `run` of index `id`, and of its manifest. */
export function pageKey(id: number, run: Run, page: number): Uint8Array {
  return runKey(id, 'p', run.level, run.first, page);
}
export function manifestKey(id: number, run: Run): Uint8Array {
  return runKey(id, 'm', run.level, run.first);
}

/** Applies `f` to the records of the run of index `id` that covers entry `index`, and stores the result consistently. */
export async function mutateIndex(db: Db, id: number, index: bigint, f: (records: Uint8Array[]) => Uint8Array[]): Promise<void> {
  const run = await runOf(db, id, index);
  await writeRun(db, id, run, f(run.records));
}

/** Applies `f` to the records of digest bundle `b` (whole, or the partial one's pieces joined into one). */
export async function mutateDigests(db: Db, b: bigint, f: (records: DigestRecord[]) => DigestRecord[]): Promise<void> {
  const whole = (await db.get(digestBundleKey(b))) !== undefined;
  const out = concat(f(decodeDigestRecords(await digestBytes(db, b))).map(encodeDigestRecord));
  if (whole) {
    await db.put(digestBundleKey(b), out);
    return;
  }
  const lo = b * BigInt(BUNDLE);
  const batch = db.batch();
  for (const [k] of await rows(db, digestPieceKey(lo), digestPieceKey(lo + BigInt(BUNDLE)))) batch.del(k);
  // One digest piece beside the first entry piece.
  const [first] = await rows(db, bundlePieceKey(lo), bundlePieceKey(lo + BigInt(BUNDLE)));
  batch.put(digestPieceKey(first === undefined ? lo : new DataView(first[0].buffer, first[0].byteOffset + 1, 8).getBigUint64(0)), out);
  await batch.write();
}

/** Whether two byte strings are equal. */
export function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
