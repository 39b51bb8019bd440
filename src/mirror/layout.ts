/**
 * The mirror's object names and the bytes of Guzheng's own objects (docs/scaling.md#layout).
 * Under a prefix, the bucket holds exactly the C2SP tlog-tiles read API
 * (https://c2sp.org/tlog-tiles), so any tlog-tiles client reads it as it reads the service:
 *
 *     <prefix>/checkpoint                       the latest signed checkpoint (the only mutable object)
 *     <prefix>/tile/<L>/<N>[.p/<W>]             hash tiles
 *     <prefix>/tile/entries/<N>[.p/<W>]         entry bundles
 *
 * and, beside it, what only Guzheng has, grouped and named the same way (N in three-digit
 * groups, `.p/<W>` for a partial group):
 *
 *     <prefix>/guzheng/blocks/<N>[.p/<W>]       blocks 256·N … 256·N+W-1, one RFC 8785 JSON a line
 *     <prefix>/guzheng/tsa/<H>                  the RFC 3161 time stamp of block H, as the log keeps it
 *     <prefix>/guzheng/cosignatures/<H>/<D>     one witness cosignature line of block H's checkpoint;
 *                                               D = hex SHA-256 of the line
 *     <prefix>/guzheng/attachments/<N>[.p/<W>]  the attachments of entries 256·N … 256·N+W-1 (the
 *                                               records' canonical JSON, raw HJ 212 packets), when
 *                                               any of them has one
 *
 * Every object but `checkpoint` is immutable: its name fixes its bytes. Pure: names and
 * encodings only (tile bytes come from src/tiles, never re-encoded here).
 */
import type { BlockJson } from '../core/block.js';
import { blockJsonSchema } from '../core/block.js';
import { fromUtf8, toHex, utf8 } from '../core/bytes.js';
import { sha256 } from '../core/crypto.js';
import { canonicalJsonText } from '../core/entry/jcs.js';
import { formatTileIndex, formatTilePath, TILE_HEIGHT, TILE_WIDTH, type Tile } from '../core/tiles.js';
import { badInput } from '../core/errors.js';

/** Content type of tiles and entry bundles. */
export const TILE_CONTENT_TYPE = 'application/octet-stream';
/** Content type of the checkpoint (a signed note). */
export const CHECKPOINT_CONTENT_TYPE = 'text/plain; charset=utf-8';
/** Content type of a block bundle: JSON Lines. */
export const BLOCKS_CONTENT_TYPE = 'application/jsonl';
/** Content type of a kept time stamp (`{"tsa": URL, "token": base64 DER TimeStampToken}`). */
export const STAMP_CONTENT_TYPE = 'application/json';
/** Content type of a cosignature line. */
export const COSIGNATURE_CONTENT_TYPE = 'text/plain; charset=utf-8';
/** Content type of an attachment bundle. */
export const ATTACHMENTS_CONTENT_TYPE = 'application/octet-stream';

const PREFIX_RE = /^(?:[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*)?$/;

/**
 * checkPrefix requires a prefix of `/`-separated segments of `[A-Za-z0-9._-]` (or empty: the
 * bucket's root), without a leading or trailing slash, `.` or `..` segments; else it throws.
 */
export function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || prefix.length > 512 || !PREFIX_RE.test(prefix) || prefix.split('/').some((s) => s === '.' || s === '..')) {
    throw new Error(`mirror: prefix ${JSON.stringify(prefix)}: want segments of [A-Za-z0-9._-] separated by /, no leading or trailing /`);
  }
  return prefix;
}

function under(prefix: string, path: string): string {
  return prefix === '' ? path : `${prefix}/${path}`;
}

/** checkpointKey names the checkpoint object. */
export function checkpointKey(prefix: string): string {
  return under(prefix, 'checkpoint');
}

/** tileKey names a hash tile or entry bundle: exactly its tlog-tiles path under the prefix. */
export function tileKey(prefix: string, tile: Tile): string {
  return under(prefix, formatTilePath(tile));
}

/** A group of up to 256 consecutive blocks: blocks 256·index … 256·index + width - 1. */
export interface BlockGroup {
  readonly index: bigint;
  readonly width: number;
}

/** blockBundleKey names a block bundle: `guzheng/blocks/<N>[.p/<W>]`. */
export function blockBundleKey(prefix: string, group: BlockGroup): string {
  const partial = group.width < TILE_WIDTH ? `.p/${group.width}` : '';
  return under(prefix, `guzheng/blocks/${formatTileIndex(group.index)}${partial}`);
}

/** attachmentBundleKey names the attachment bundle of entries 256·N … 256·N+W-1: `guzheng/attachments/<N>[.p/<W>]`. */
export function attachmentBundleKey(prefix: string, group: BlockGroup): string {
  const partial = group.width < TILE_WIDTH ? `.p/${group.width}` : '';
  return under(prefix, `guzheng/attachments/${formatTileIndex(group.index)}${partial}`);
}

/** stampKey names the kept time stamp of block `height`. */
export function stampKey(prefix: string, height: bigint): string {
  return under(prefix, `guzheng/tsa/${formatTileIndex(height)}`);
}

/** cosignatureKey names one cosignature line of block `height`: its SHA-256 in hex. */
export function cosignatureKey(prefix: string, height: bigint, line: string): string {
  return under(prefix, `guzheng/cosignatures/${formatTileIndex(height)}/${toHex(sha256(utf8(line)))}`);
}

/**
 * tilesBetween yields the tiles of the tree of `to` leaves that the tree of `from` leaves does
 * not have: per level, the tile that was partial (or absent) at `from` and every later one, full
 * or (the rightmost) partial at `to`; then the entry bundles likewise (when `entries`). A tile
 * whose width is the same at both sizes is the same object and is not yielded.
 * Requires: 0 <= from <= to < 2^64. Order: as {@link listTiles} (hash tiles level by level).
 */
export function* tilesBetween(from: bigint, to: bigint, entries = true): Generator<Tile> {
  if (from < 0n || to < from) throw new Error(`mirror: tilesBetween(${from}, ${to}): want 0 <= from <= to`);
  for (let level = 0; TILE_HEIGHT * level <= 63; level++) {
    const shift = BigInt(TILE_HEIGHT * level);
    const newNodes = to >> shift;
    if (newNodes === 0n) break;
    yield* groupsBetween(from >> shift, newNodes, (index, width) => ({ kind: 'hash', level, index, width }));
  }
  if (entries) yield* groupsBetween(from, to, (index, width) => ({ kind: 'entries', index, width }));
}

/** blockGroupsBetween yields the block bundles that `to` blocks have and `from` blocks do not. */
export function* blockGroupsBetween(from: bigint, to: bigint): Generator<BlockGroup> {
  if (from < 0n || to < from) throw new Error(`mirror: blockGroupsBetween(${from}, ${to}): want 0 <= from <= to`);
  yield* groupsBetween(from, to, (index, width) => ({ index, width }));
}

/** groupsBetween: groups of 256 over `newCount` items that differ from those over `oldCount`. */
function* groupsBetween<T>(oldCount: bigint, newCount: bigint, make: (index: bigint, width: number) => T): Generator<T> {
  if (newCount === oldCount) return;
  const w = BigInt(TILE_WIDTH);
  const full = newCount / w;
  for (let n = oldCount / w; n < full; n++) yield make(n, TILE_WIDTH);
  const rem = Number(newCount % w);
  if (rem > 0) yield make(full, rem);
}

/**
 * encodeBlockBundle encodes blocks as JSON Lines: each block's RFC 8785 canonical JSON and a
 * newline, so the same blocks always give the same bytes (the write-once rule compares bytes).
 * Requires: 1..256 blocks of consecutive heights.
 */
export function encodeBlockBundle(blocks: readonly BlockJson[]): Uint8Array {
  if (blocks.length < 1 || blocks.length > TILE_WIDTH) throw new Error(`mirror: a block bundle holds 1..${TILE_WIDTH} blocks, got ${blocks.length}`);
  for (let i = 1; i < blocks.length; i++) {
    if (BigInt((blocks[i] as BlockJson).height) !== BigInt((blocks[i - 1] as BlockJson).height) + 1n) throw new Error('mirror: a block bundle holds consecutive heights');
  }
  return utf8(blocks.map((b) => canonicalJsonText(b, 'block') + '\n').join(''));
}

/**
 * decodeBlockBundle parses a block bundle strictly: `want` lines, each a block JSON (schema
 * checked, not its signature: see verifyBlockChain) in canonical form, heights consecutive from
 * 256·`index`. Throws on anything else.
 */
export function decodeBlockBundle(bytes: Uint8Array, group: BlockGroup): BlockJson[] {
  const text = fromUtf8(bytes, 'block bundle');
  if (!text.endsWith('\n')) throw new Error('mirror: block bundle: want a newline after every block');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length !== group.width) throw new Error(`mirror: block bundle: got ${lines.length} blocks, want ${group.width}`);
  return lines.map((line, i) => {
    const block = blockJsonSchema.parse(JSON.parse(line)) as BlockJson;
    if (canonicalJsonText(block, 'block') !== line) throw new Error(`mirror: block bundle: line ${i} is not in canonical form`);
    const want = group.index * BigInt(TILE_WIDTH) + BigInt(i);
    if (BigInt(block.height) !== want) throw new Error(`mirror: block bundle: line ${i} has height ${block.height}, want ${want}`);
    return block;
  });
}

/**
 * encodeAttachmentBundle encodes the attachments of a group of entries, one record per entry in
 * order: a byte 0 (the entry has none), or a byte 1, the length as a big-endian uint32 and the
 * bytes. One spelling per group, so write-once compares bytes. Requires: 1..256 entries, each
 * attachment under 2^32 bytes.
 */
export function encodeAttachmentBundle(attachments: ReadonlyArray<Uint8Array | undefined>): Uint8Array {
  if (attachments.length < 1 || attachments.length > TILE_WIDTH) throw new Error(`mirror: an attachment bundle holds 1..${TILE_WIDTH} entries, got ${attachments.length}`);
  let total = 0;
  for (const a of attachments) total += a === undefined ? 1 : 5 + a.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const a of attachments) {
    if (a === undefined) {
      out[off++] = 0;
      continue;
    }
    if (a.length > 0xffffffff) throw new Error('mirror: an attachment of 2^32 bytes or more');
    out[off] = 1;
    view.setUint32(off + 1, a.length, false);
    out.set(a, off + 5);
    off += 5 + a.length;
  }
  return out;
}

/**
 * decodeAttachmentBundle parses an attachment bundle of `width` entries strictly (every record
 * complete, a marker of 0 or 1, no trailing bytes). Throws INPUT_INVALID naming the offset.
 */
export function decodeAttachmentBundle(bytes: Uint8Array, width: number): Array<Uint8Array | undefined> {
  const out: Array<Uint8Array | undefined> = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  while (out.length < width) {
    if (off >= bytes.length) badInput(`attachment bundle: got ${out.length} entries, want ${width}`);
    const marker = bytes[off] as number;
    if (marker === 0) {
      out.push(undefined);
      off += 1;
      continue;
    }
    if (marker !== 1) badInput(`attachment bundle: entry ${out.length} at offset ${off}: marker ${marker}, want 0 or 1`);
    if (off + 5 > bytes.length) badInput(`attachment bundle: entry ${out.length} at offset ${off}: truncated length`);
    const len = view.getUint32(off + 1, false);
    if (off + 5 + len > bytes.length) badInput(`attachment bundle: entry ${out.length} at offset ${off}: got ${bytes.length - off - 5} bytes, want ${len}`);
    out.push(bytes.subarray(off + 5, off + 5 + len));
    off += 5 + len;
  }
  if (off !== bytes.length) badInput(`attachment bundle: ${bytes.length - off} trailing bytes after ${width} entries`);
  return out;
}

/**
 * parseTileIndex is the inverse of formatTileIndex (`x001/234` → 1234n), strictly: the one
 * canonical spelling only. Returns undefined for anything else.
 */
export function parseTileIndex(text: string): bigint | undefined {
  const groups = text.split('/');
  if (groups.length > 6) return undefined;
  let digits = '';
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as string;
    const last = i === groups.length - 1;
    if (!(last ? /^[0-9]{3}$/ : /^x[0-9]{3}$/).test(g)) return undefined;
    digits += last ? g : g.slice(1);
  }
  const n = BigInt(digits);
  return formatTileIndex(n) === text ? n : undefined;
}

/** The two kinds of evidence objects, by their folder under `guzheng/`. */
export type EvidenceFolder = 'tsa' | 'cosignatures';

/**
 * parseEvidenceKey reads an evidence object's name: the block height, and for a cosignature line
 * the hex SHA-256 in its name. Undefined for a key that is not one (a stray object).
 */
export function parseEvidenceKey(prefix: string, folder: EvidenceFolder, key: string): { height: bigint; digest?: string } | undefined {
  const head = under(prefix, `guzheng/${folder}/`);
  if (!key.startsWith(head)) return undefined;
  const rest = key.slice(head.length);
  if (folder === 'tsa') {
    const height = parseTileIndex(rest);
    return height === undefined ? undefined : { height };
  }
  const at = rest.lastIndexOf('/');
  const digest = rest.slice(at + 1);
  const height = at < 0 ? undefined : parseTileIndex(rest.slice(0, at));
  return height === undefined || !/^[0-9a-f]{64}$/.test(digest) ? undefined : { height, digest };
}

/**
 * evidenceListPrefixes returns key prefixes whose listing covers every evidence object of the
 * blocks at heights [from, to) (and a few around them): per thousand heights the folder of its
 * `x…/` groups, and below 1,000, where the three digits are the whole name, per hundred (`…/0`
 * to `…/9`), so that no listing walks the whole folder. Requires: 0 <= from <= to.
 */
export function evidenceListPrefixes(prefix: string, folder: EvidenceFolder, from: bigint, to: bigint): string[] {
  if (from < 0n || to < from) badInput(`evidenceListPrefixes(${from}, ${to}): want 0 <= from <= to`);
  const head = under(prefix, `guzheng/${folder}/`);
  const out: string[] = [];
  for (let h = from - (from % 100n); h < to && h < 1000n; h += 100n) out.push(`${head}${h / 100n}`);
  for (let h = from < 1000n ? 1000n : from - (from % 1000n); h < to; h += 1000n) {
    const name = formatTileIndex(h);
    out.push(`${head}${name.slice(0, name.length - 3)}`);
  }
  return out;
}
