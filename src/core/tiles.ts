/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the static read API for replicas and auditors.
 * Pure: tile paths, which tree nodes a tile holds, and entry bundles. Storage and HTTP live in
 * src/tiles; this module only does arithmetic and byte formats.
 *
 * - A **hash tile** at level `L` and index `N` holds the hashes of the tree nodes at level `8·L`
 *   (tile height 8) with indexes `[256·N, 256·N + W)`, concatenated (32 bytes each). A full tile
 *   has `W = 256`; a partial tile (`W` in 1..255) is the rightmost tile of a level for a tree size
 *   that does not fill it. Only complete nodes are ever in a tile.
 * - An **entry bundle** `N` holds entries `[256·N, 256·N + W)`, each as a big-endian uint16 length
 *   followed by that many bytes (so an entry is at most 65,535 bytes).
 * - **Paths**: `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`. `L` and `W` are canonical
 *   decimals; `N` is written in groups of three digits, all but the last prefixed with `x`
 *   (1234067 → `x001/x234/067`, 5 → `005`).
 *
 * Every parser here is strict: each tile has exactly one path, and a bundle exactly one encoding.
 * See contracts-free-ledger/SPEC.md#tiles.
 */
import { MAX_UINT64 } from './bytes.js';
import { badInput } from './errors.js';
import { MAX_ENTRY_SIZE } from './entry/codec.js';
import { HASH_SIZE } from './merkle/hash.js';
import type { NodeId } from './merkle/node.js';

/** Tile height: a hash tile at level L holds nodes at tree level TILE_HEIGHT·L. */
export const TILE_HEIGHT = 8;
/** Hashes (or entries) in a full tile: 2^TILE_HEIGHT. */
export const TILE_WIDTH = 256;
/** Largest tile level a path may name (C2SP tlog-tiles: 0..63). */
export const MAX_TILE_LEVEL = 63;
/** Tile indexes are below 2^56, so that 256·N + W fits in 64 bits. */
const MAX_TILE_INDEX = MAX_UINT64 >> 8n;

/** One tile: a hash tile (`kind: 'hash'`, with a level) or an entry bundle. */
export type Tile =
  | { readonly kind: 'hash'; readonly level: number; readonly index: bigint; readonly width: number }
  | { readonly kind: 'entries'; readonly index: bigint; readonly width: number };

function checkLevel(level: number, what: string): void {
  if (typeof level !== 'number' || !Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
    badInput(`${what}: got level ${String(level)}, want an integer 0..${MAX_TILE_LEVEL}`);
  }
}

function checkIndex(index: bigint, what: string): void {
  if (typeof index !== 'bigint' || index < 0n || index > MAX_TILE_INDEX) badInput(`${what}: got index ${String(index)}, want 0 <= N < 2^56`);
}

function checkWidth(width: number, what: string): void {
  if (typeof width !== 'number' || !Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    badInput(`${what}: got width ${String(width)}, want an integer 1..${TILE_WIDTH}`);
  }
}

/** checkTile validates every field of a tile (else INPUT_INVALID with got/want). */
function checkTile(tile: Tile, what: string): void {
  if (typeof tile !== 'object' || tile === null || (tile.kind !== 'hash' && tile.kind !== 'entries')) badInput(`${what}: want a tile`);
  if (tile.kind === 'hash') checkLevel(tile.level, what);
  checkIndex(tile.index, what);
  checkWidth(tile.width, what);
}

/**
 * formatTileIndex writes a tile index as tlog-tiles path elements: three-digit groups, all but
 * the last prefixed with `x` (0 → `000`, 1234067 → `x001/x234/067`). Requires: 0 <= n < 2^56.
 */
export function formatTileIndex(n: bigint): string {
  checkIndex(n, 'formatTileIndex');
  let digits = n.toString(10);
  while (digits.length % 3 !== 0) digits = '0' + digits;
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += 3) groups.push(digits.slice(i, i + 3));
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/**
 * formatTilePath returns the tlog-tiles path of a tile, without a leading slash:
 * `tile/<L>/<N>` or `tile/entries/<N>`, with `.p/<W>` when the tile is partial (W < 256).
 * Requires: level 0..63, 0 <= index < 2^56, width 1..256 (else INPUT_INVALID).
 * See contracts-free-ledger/SPEC.md#tiles.
 *
 * @example
 * formatTilePath({ kind: 'hash', level: 0, index: 1234067n, width: 5 }); // 'tile/0/x001/x234/067.p/5'
 */
export function formatTilePath(tile: Tile): string {
  checkTile(tile, 'formatTilePath');
  const head = tile.kind === 'hash' ? `tile/${tile.level}/` : 'tile/entries/';
  const partial = tile.width < TILE_WIDTH ? `.p/${tile.width}` : '';
  return head + formatTileIndex(tile.index) + partial;
}

const LEVEL_RE = /^(0|[1-9][0-9]?)$/;
const WIDTH_RE = /^[1-9][0-9]{0,2}$/;
const GROUP_RE = /^x[0-9]{3}$/;
const LAST_GROUP_RE = /^[0-9]{3}$/;

/**
 * parseTilePath parses a tlog-tiles path (with or without one leading `/`) strictly: exactly the
 * spelling {@link formatTilePath} produces. Rejected (INPUT_INVALID with got/want): another
 * prefix, a level above 63 or with a leading zero, an index group that is not three digits or
 * lacks (or wrongly has) its `x`, a leading all-zero group (`x000/…`), more groups than a
 * 2^56 index needs, a width of 0, 256 or more, or with a leading zero, `.p` without a width,
 * and any trailing or empty element.
 *
 * @example
 * parseTilePath('tile/entries/x001/234.p/17'); // {kind:'entries', index: 1234n, width: 17}
 */
export function parseTilePath(path: string): Tile {
  if (typeof path !== 'string') badInput(`parseTilePath: got ${typeof path}, want a string`);
  const shown = JSON.stringify(path.slice(0, 80));
  const bad = (why: string): never => badInput(`tile path ${shown}: ${why}`);
  if (path.length > 100) bad('too long');
  const parts = (path.startsWith('/') ? path.slice(1) : path).split('/');
  if (parts[0] !== 'tile') bad('want it to start with tile/');
  const kindPart = parts[1];
  if (kindPart === undefined) return bad('want tile/<L>/<N> or tile/entries/<N>');
  let level: number | undefined;
  if (kindPart !== 'entries') {
    if (!LEVEL_RE.test(kindPart)) bad(`level ${JSON.stringify(kindPart)}, want a decimal 0..${MAX_TILE_LEVEL} without leading zeros`);
    level = Number(kindPart);
    if (level > MAX_TILE_LEVEL) bad(`level ${level}, want 0..${MAX_TILE_LEVEL}`);
  }
  let rest = parts.slice(2);
  let width = TILE_WIDTH;
  const pAt = rest.findIndex((p) => p.endsWith('.p'));
  if (pAt !== -1) {
    if (pAt !== rest.length - 2) bad('.p must be followed by exactly one width element');
    const w = rest[rest.length - 1] as string;
    if (!WIDTH_RE.test(w) || Number(w) >= TILE_WIDTH) bad(`width ${JSON.stringify(w)}, want a decimal 1..${TILE_WIDTH - 1} without leading zeros`);
    width = Number(w);
    rest = [...rest.slice(0, pAt), (rest[pAt] as string).slice(0, -2)];
  }
  if (rest.length === 0) bad('missing the tile index');
  if (rest.length > 6) bad('index has too many groups');
  let digits = '';
  rest.forEach((g, i) => {
    const last = i === rest.length - 1;
    if (last ? !LAST_GROUP_RE.test(g) : !GROUP_RE.test(g)) {
      bad(`index element ${JSON.stringify(g)}, want ${last ? 'three digits' : 'x and three digits'}`);
    }
    digits += last ? g : g.slice(1);
  });
  if (rest.length > 1 && rest[0] === 'x000') bad('index has a leading zero group');
  const index = BigInt(digits);
  if (index > MAX_TILE_INDEX) bad('index is 2^56 or more');
  return level === undefined ? { kind: 'entries', index, width } : { kind: 'hash', level, index, width };
}

/**
 * tileCoverage returns what a tile holds: for a hash tile, the nodes at tree level `8·L` with
 * indexes [begin, end); for an entry bundle, the entries [begin, end) (nodeLevel 0). Also the
 * leaves [leafBegin, leafEnd) those nodes cover. Requires: a valid tile (INPUT_INVALID).
 */
export function tileCoverage(tile: Tile): { nodeLevel: number; begin: bigint; end: bigint; leafBegin: bigint; leafEnd: bigint } {
  checkTile(tile, 'tileCoverage');
  const nodeLevel = tile.kind === 'hash' ? TILE_HEIGHT * tile.level : 0;
  const begin = tile.index * BigInt(TILE_WIDTH);
  const end = begin + BigInt(tile.width);
  const shift = BigInt(nodeLevel);
  return { nodeLevel, begin, end, leafBegin: begin << shift, leafEnd: end << shift };
}

/**
 * tileWidth returns the width of hash tile (level, index) in the tree of `size` leaves: 256 if
 * it is full, 1..255 if it is the partial rightmost tile of its level, 0 if it does not exist
 * (no complete node at level 8·level falls in it). Entry bundles use level 0.
 * Requires: level 0..63, index >= 0, size a uint64.
 */
export function tileWidth(level: number, index: bigint, size: bigint): number {
  checkLevel(level, 'tileWidth');
  if (typeof index !== 'bigint' || index < 0n) badInput(`tileWidth: got index ${String(index)}, want >= 0`);
  if (typeof size !== 'bigint' || size < 0n || size > MAX_UINT64) badInput(`tileWidth: got size ${String(size)}, want a uint64`);
  const nodes = TILE_HEIGHT * level > 63 ? 0n : size >> BigInt(TILE_HEIGHT * level);
  const begin = index * BigInt(TILE_WIDTH);
  if (nodes <= begin) return 0;
  const w = nodes - begin;
  return w >= BigInt(TILE_WIDTH) ? TILE_WIDTH : Number(w);
}

/**
 * planTile lists the stored tree nodes whose hashes hash tile (level, index, width) holds, in
 * order: level `8·level`, indexes [256·index, 256·index + width). Requires: a valid tile with
 * 8·level <= 63 (else INPUT_INVALID). Fetch them in one batch and concatenate.
 */
export function planTile(level: number, index: bigint, width: number): NodeId[] {
  const { nodeLevel, begin, end } = tileCoverage({ kind: 'hash', level, index, width });
  if (nodeLevel > 63) badInput(`planTile: level ${level} holds nodes at tree level ${nodeLevel}, want at most 63`);
  const ids: NodeId[] = [];
  for (let i = begin; i < end; i++) ids.push({ level: nodeLevel, index: i });
  return ids;
}

/**
 * listTiles yields every tile of the tree of `size` leaves: for each level whose nodes exist,
 * its full tiles then the partial one, if any; and the entry bundles, likewise (when `entries`).
 * Order: hash tiles level by level, then entry bundles. Requires: size a uint64.
 */
export function* listTiles(size: bigint, entries = true): Generator<Tile> {
  if (typeof size !== 'bigint' || size < 0n || size > MAX_UINT64) badInput(`listTiles: got size ${String(size)}, want a uint64`);
  for (let level = 0; TILE_HEIGHT * level <= 63; level++) {
    const nodes = size >> BigInt(TILE_HEIGHT * level);
    if (nodes === 0n) break;
    yield* levelTiles(nodes, (index, width) => ({ kind: 'hash', level, index, width }));
  }
  if (entries) yield* levelTiles(size, (index, width) => ({ kind: 'entries', index, width }));
}

function* levelTiles(nodes: bigint, make: (index: bigint, width: number) => Tile): Generator<Tile> {
  const full = nodes / BigInt(TILE_WIDTH);
  for (let n = 0n; n < full; n++) yield make(n, TILE_WIDTH);
  const rem = Number(nodes % BigInt(TILE_WIDTH));
  if (rem > 0) yield make(full, rem);
}

/**
 * splitHashTile checks that `bytes` is a hash tile of `width` hashes (exactly 32·width bytes)
 * and returns the hashes (views into `bytes`). Requires: width 1..256 (else INPUT_INVALID).
 */
export function splitHashTile(bytes: Uint8Array, width: number): Uint8Array[] {
  checkWidth(width, 'splitHashTile');
  if (!(bytes instanceof Uint8Array) || bytes.length !== width * HASH_SIZE) {
    badInput(`hash tile: got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes} bytes, want ${width * HASH_SIZE} (${width} hashes)`);
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < width; i++) out.push(bytes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return out;
}

/**
 * encodeEntryBundle encodes entries as a tlog-tiles entry bundle: for each, its length as a
 * big-endian uint16, then its bytes. Requires: 1..256 entries, each a Uint8Array of at most
 * 65,535 bytes (else INPUT_INVALID with got/want).
 */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (!Array.isArray(entries) || entries.length < 1 || entries.length > TILE_WIDTH) {
    badInput(`encodeEntryBundle: got ${Array.isArray(entries) ? entries.length : typeof entries} entries, want 1..${TILE_WIDTH}`);
  }
  let total = 0;
  entries.forEach((e, i) => {
    if (!(e instanceof Uint8Array)) badInput(`encodeEntryBundle: entries[${i}] got ${typeof e}, want a Uint8Array`);
    if (e.length > MAX_ENTRY_SIZE) badInput(`encodeEntryBundle: entries[${i}] got ${e.length} bytes, want at most ${MAX_ENTRY_SIZE}`);
    total += 2 + e.length;
  });
  const out = new Uint8Array(total);
  let off = 0;
  for (const e of entries) {
    out[off] = e.length >>> 8;
    out[off + 1] = e.length & 0xff;
    out.set(e, off + 2);
    off += 2 + e.length;
  }
  return out;
}

/**
 * decodeEntryBundle splits an entry bundle into its entries (views into `bytes`), strictly:
 * every length prefix complete, every entry complete, no trailing bytes, and exactly `want`
 * entries when given (1..256). Entry contents are not interpreted (see decodeEntry).
 * Throws INPUT_INVALID naming the offset and entry number.
 */
export function decodeEntryBundle(bytes: Uint8Array, want?: number): Uint8Array[] {
  if (!(bytes instanceof Uint8Array)) badInput(`decodeEntryBundle: got ${typeof bytes}, want a Uint8Array`);
  if (want !== undefined) checkWidth(want, 'decodeEntryBundle');
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (out.length === (want ?? TILE_WIDTH)) badInput(`entry bundle: ${bytes.length - off} trailing bytes after ${out.length} entries`);
    if (off + 2 > bytes.length) badInput(`entry bundle: entry ${out.length} at offset ${off}: truncated length prefix`);
    const len = ((bytes[off] as number) << 8) | (bytes[off + 1] as number);
    if (off + 2 + len > bytes.length) badInput(`entry bundle: entry ${out.length} at offset ${off}: got ${bytes.length - off - 2} bytes, want ${len}`);
    out.push(bytes.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  if (want !== undefined && out.length !== want) badInput(`entry bundle: got ${out.length} entries, want ${want}`);
  if (out.length === 0) badInput('entry bundle: empty, want at least one entry');
  return out;
}
