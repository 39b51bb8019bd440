/**
 * Reading layout 2 (layout2.ts) from LevelDB for {@link LevelStore}: the layout check at open, the
 * tail a flush extends, entries from bundles, nodes from tiles, digests from digest bundles. Kept
 * apart from level.ts, which writes; see contracts-free-ledger/SPEC.md#storage.
 */
import type { NodeId } from '../core/merkle/node.js';
import { decodeEntryBundle } from '../core/tiles.js';
import { decodeU64 } from './keys.js';
import {
  BUNDLE,
  applyTilePiece,
  bundlePieceKey,
  digestPieceKey,
  tilePiecePrefix,
  LAYOUT,
  LAYOUT_KEY,
  TILE_BYTES,
  bundleKey,
  decodeBundle,
  decodeDigestRecords,
  digestBundleKey,
  entryOfBundle,
  nodeLocation,
  tailTiles,
  tileKey,
  type DigestRecord,
  type Tail,
} from './layout2.js';
import type { Db } from './level-handle.js';
import { tileName } from './node-tiles.js';
import type { RunOp, RunStore } from './run-index.js';

/** What the readers need of the database. */
export interface Reader {
  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
}

/**
 * StoreLayoutError: the directory holds another storage layout than this code reads (`code:
 * 'STORE_LAYOUT'`): layout 1 is upgraded by `guzheng migrate` (src/storage/migrate.ts).
 */
export class StoreLayoutError extends Error {
  readonly code = 'STORE_LAYOUT';
  readonly layout: number;
  constructor(dir: string, layout: number) {
    super(
      layout === 1
        ? `storage: ${dir} holds storage layout 1; upgrade it with \`guzheng migrate --data-dir ${dir}\` (crash-safe; docs/storage-v2.md)`
        : `storage: ${dir} holds storage layout ${layout}, which this version does not read (it reads layout ${LAYOUT})`,
    );
    this.name = 'StoreLayoutError';
    this.layout = layout;
  }
}

/**
 * checkLayout reads the layout marker: layout 2 passes; an empty database becomes layout 2 (the
 * marker written, synced); a database with keys but no marker is layout 1 and is refused.
 */
export async function checkLayout(db: Db, dir: string): Promise<void> {
  const marker = await db.get(LAYOUT_KEY);
  if (marker !== undefined) {
    const layout = marker.length === 1 ? (marker[0] as number) : -1;
    if (layout !== LAYOUT) throw new StoreLayoutError(dir, layout);
    return;
  }
  const [any] = await db.keys({ limit: 1 }).all();
  if (any !== undefined) throw new StoreLayoutError(dir, 1);
  await db.put(LAYOUT_KEY, Uint8Array.of(LAYOUT), { sync: true });
}

/** storedLayout tells which layout the database at hand holds: 2, 1, or undefined when empty. */
export async function storedLayout(db: Db): Promise<number | undefined> {
  const marker = await db.get(LAYOUT_KEY);
  if (marker !== undefined) return marker.length === 1 ? (marker[0] as number) : -1;
  const [any] = await db.keys({ limit: 1 }).all();
  return any === undefined ? undefined : 1;
}

/** The rows with keys in [gte, lt), in key order. */
async function scan(db: Db, gte: Uint8Array, lt: Uint8Array): Promise<Array<[Uint8Array, Uint8Array]>> {
  return db.iterator({ gte, lt }).all();
}

/**
 * loadTail reads the partial bundle (its pieces), its digests and the incomplete tiles (their
 * pieces) of a store of `size` entries, checking the pieces join up exactly.
 */
export async function loadTail(db: Db, size: bigint): Promise<Tail> {
  const B = BigInt(BUNDLE);
  const lo = (size / B) * B;
  const entries: Uint8Array[] = [];
  const pieces: bigint[] = [];
  for (const [k, v] of await scan(db, bundlePieceKey(lo), bundlePieceKey(lo + B))) {
    const start = decodeU64(k, 1);
    if (start !== lo + BigInt(entries.length)) throw new Error(`storage: bundle piece at ${start} does not follow entry ${lo + BigInt(entries.length)}`);
    entries.push(...decodeEntryBundle(new Uint8Array(v)));
    pieces.push(start);
  }
  if (lo + BigInt(entries.length) !== size) throw new Error(`storage: the partial bundle's pieces hold entries [${lo}, ${lo + BigInt(entries.length)}), want up to ${size}`);
  const digestParts: Uint8Array[] = [];
  for (const [k, v] of await scan(db, digestPieceKey(lo), digestPieceKey(lo + B))) {
    if (!pieces.includes(decodeU64(k, 1))) throw new Error(`storage: digest piece at ${decodeU64(k, 1)} has no bundle piece`);
    digestParts.push(new Uint8Array(v));
  }
  const digests = new Uint8Array(digestParts.reduce((a, p) => a + p.length, 0));
  digestParts.reduce((at, p) => (digests.set(p, at), at + p.length), 0);
  decodeDigestRecords(digests);
  const tiles = new Map<string, Uint8Array>();
  const tilePieces = new Map<string, bigint[]>();
  for (const t of tailTiles(size)) {
    const prefix = tilePiecePrefix(t.level, t.index);
    const end = new Uint8Array(prefix.length + 9).fill(0xff);
    end.set(prefix);
    const rows = await scan(db, prefix, end);
    if (rows.length === 0) throw new Error(`storage: tile ${t.level}/${t.index} has no pieces`);
    const tile = new Uint8Array(TILE_BYTES);
    for (const [, v] of rows) applyTilePiece(tile, v);
    const name = tileName(t.level, t.index);
    tiles.set(name, tile);
    tilePieces.set(name, rows.map(([k]) => decodeU64(k, k.length - 8)));
  }
  return { size, entries, digests, tiles, pieces, tilePieces };
}

/**
 * readBundles returns entries [start, end) (end ≤ tail.size), copies, reading each bundle once:
 * the tail's from memory, the others in one getMany.
 */
export async function readBundles(db: Reader, tail: Tail, start: bigint, end: bigint): Promise<Uint8Array[]> {
  const B = BigInt(BUNDLE);
  const tailBundle = tail.entries.length > 0 ? tail.size / B : -1n;
  const first = start / B;
  const last = (end - 1n) / B;
  if (first === last) {
    // One bundle (a receipt, a page of entries): a point read, one entry walked to when only one is asked.
    const lo = Number(start - first * B);
    const hi = Number(end - first * B);
    if (first === tailBundle) return tail.entries.slice(lo, hi).map((e) => new Uint8Array(e));
    const [v] = await db.getMany([bundleKey(first)]);
    if (v === undefined) throw new Error(`storage: entry bundle ${first} missing`);
    if (hi - lo === 1) {
      const e = entryOfBundle(v, lo);
      if (e === undefined) throw new Error(`storage: entry ${start} missing`);
      return [new Uint8Array(e)];
    }
    return decodeBundle(v, hi).slice(lo, hi).map((e) => new Uint8Array(e));
  }
  const ids: bigint[] = [];
  for (let b = first; b <= last; b++) if (b !== tailBundle) ids.push(b);
  const values = await db.getMany(ids.map((b) => bundleKey(b)));
  const byBundle = new Map<bigint, Uint8Array>();
  ids.forEach((b, i) => {
    const v = values[i];
    if (v === undefined) throw new Error(`storage: entry bundle ${b} missing`);
    byBundle.set(b, v);
  });
  const out: Uint8Array[] = [];
  for (let b = first; b <= last; b++) {
    const lo = b === first ? Number(start - b * B) : 0;
    const hi = b === last ? Number(end - b * B) : BUNDLE;
    const entries = b === tailBundle ? tail.entries : decodeBundle(byBundle.get(b) as Uint8Array, hi);
    for (let i = lo; i < hi; i++) {
      const e = entries[i];
      if (e === undefined) throw new Error(`storage: entry ${b * B + BigInt(i)} missing`);
      out.push(new Uint8Array(e));
    }
  }
  return out;
}

function isZero(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < 32; i++) if (bytes[at + i] !== 0) return false;
  return true;
}

/**
 * readTileNodes returns the node hashes for `ids` (copies, same order), reading each tile once: the
 * tail's incomplete tiles from memory, the others in one getMany. A missing tile or an empty slot
 * is corruption: the callers only ask for complete nodes.
 */
export async function readTileNodes(db: Reader, tail: Tail, ids: readonly NodeId[]): Promise<Uint8Array[]> {
  const where = ids.map((id) => nodeLocation(id));
  const wanted = new Map<string, Uint8Array>();
  for (const w of where) if (!wanted.has(w.name) && !tail.tiles.has(w.name)) wanted.set(w.name, tileKey(w.level, w.index));
  const names = [...wanted.keys()];
  const values = names.length === 0 ? [] : await db.getMany([...wanted.values()]);
  const tiles = new Map<string, Uint8Array | undefined>(names.map((n, i) => [n, values[i]]));
  return where.map((w, i) => {
    const tile = tail.tiles.get(w.name) ?? tiles.get(w.name);
    const id = ids[i] as NodeId;
    if (tile === undefined || tile.length !== TILE_BYTES || isZero(tile, 32 * w.slot)) throw new Error(`storage: node ${id.level}/${id.index} missing`);
    return new Uint8Array(tile.subarray(32 * w.slot, 32 * w.slot + 32));
  });
}

/** readDigestRecords returns, for each entry index, the digest records of its slot (from the digest bundles). */
export async function readDigestRecords(db: Reader, tail: Tail, indexes: readonly bigint[]): Promise<Map<bigint, DigestRecord[]>> {
  const B = BigInt(BUNDLE);
  const tailBundle = tail.size / B;
  const bundles = [...new Set(indexes.map((i) => i / B))];
  const fromDb = bundles.filter((b) => b !== tailBundle || tail.size % B === 0n);
  const values = fromDb.length === 0 ? [] : await db.getMany(fromDb.map((b) => digestBundleKey(b)));
  const decoded = new Map<bigint, DigestRecord[]>();
  fromDb.forEach((b, i) => decoded.set(b, values[i] === undefined ? [] : decodeDigestRecords(values[i] as Uint8Array)));
  if (!decoded.has(tailBundle)) decoded.set(tailBundle, decodeDigestRecords(tail.digests));
  const out = new Map<bigint, DigestRecord[]>();
  for (const i of indexes) {
    const slot = Number(i % B);
    out.set(i, (decoded.get(i / B) ?? []).filter((r) => r.slot === slot));
  }
  return out;
}

/** readDigestRange returns the content digests of entries [from, to) in index order (to rebuild a lagging index). */
export async function readDigestRange(db: Reader, tail: Tail, from: bigint, to: bigint): Promise<Array<{ index: number; alg: string; digest: Uint8Array }>> {
  const B = BigInt(BUNDLE);
  const out: Array<{ index: number; alg: string; digest: Uint8Array }> = [];
  const tailBundle = tail.entries.length > 0 ? tail.size / B : -1n;
  const bundles: bigint[] = [];
  for (let b = from / B; b * B < to; b++) if (b !== tailBundle) bundles.push(b);
  for (let i = 0; i < bundles.length; i += 256) {
    const part = bundles.slice(i, i + 256);
    const values = await db.getMany(part.map((b) => digestBundleKey(b)));
    part.forEach((b, j) => {
      const v = values[j];
      if (v !== undefined) for (const r of decodeDigestRecords(v)) out.push({ index: Number(b * B) + r.slot, alg: r.alg, digest: r.digest });
    });
  }
  if (tailBundle >= 0n && tailBundle * B < to) for (const r of decodeDigestRecords(tail.digests)) out.push({ index: Number(tailBundle * B) + r.slot, alg: r.alg, digest: r.digest });
  return out.filter((d) => BigInt(d.index) >= from && BigInt(d.index) < to);
}

/**
 * runStoreOver adapts the database to a run index (run-index.ts). `use` wraps every call (the
 * store passes its handle's serialization, and stops a merge from before a reopen). Merges are
 * unsynced: runs are derived from what is durable, and cleared or redone after a crash.
 */
export function runStoreOver(db: Db, use: <T>(f: () => Promise<T>) => Promise<T>): RunStore {
  return {
    getMany: (keys) => use(() => db.getMany([...keys])),
    range: (gte, lt, limit) => use(() => db.iterator({ gte, lt, limit }).all()),
    write: (ops: readonly RunOp[]) => use(() => db.batch(ops.map((o) => (o.type === 'put' ? { type: 'put' as const, key: o.key, value: o.value } : { type: 'del' as const, key: o.key })))),
  };
}
