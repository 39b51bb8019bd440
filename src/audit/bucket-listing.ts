/**
 * Every object of a listed bucket accounted for, once the replay is done ({@link ListingAccount},
 * run by BucketSource.finish in bucket.ts). The tiles and bundles the checkpoint needs were read
 * and checked by the replay; the partial ones of earlier checkpoints must be prefixes of them (the
 * mirror rewrites a partial object as it fills); objects beyond the checkpoint are counted (the
 * mirror writes them before the checkpoint that needs them); anything the mirror never writes is
 * named. Apart from bucket.ts, which reads what the replay asks for, because this is the part that
 * reads what the replay does not need. With it, the names of the mirror's numbered objects that
 * both parts read ({@link groupOf}, {@link parseIndexPath}).
 */
import { fromUtf8, toHex } from '../core/bytes.js';
import { decodeEntryBundle, encodeEntryBundle, formatTilePath, parseTilePath, tileWidth, TILE_WIDTH, type Tile } from '../core/tiles.js';
import { attachmentBundleKey, blockBundleKey, decodeAttachmentBundle, encodeAttachmentBundle, type BlockGroup } from '../mirror/layout.js';
import type { ObjectRead } from './bucket-store.js';
import type { Problem } from './report.js';
import { firstLeaf, mapLimit } from './tiled.js';

/** One group of 256 blocks: which heights, and the object holding them. */
export function groupOf(height: bigint, count: bigint): BlockGroup {
  const index = height / BigInt(TILE_WIDTH);
  const left = count - index * BigInt(TILE_WIDTH);
  return { index, width: left >= BigInt(TILE_WIDTH) ? TILE_WIDTH : Number(left) };
}

/** parseIndexPath reads `<N>[.p/<W>]` (tlog-tiles index syntax), or undefined. */
export function parseIndexPath(rest: string): { index: bigint; width: number } | undefined {
  try {
    const t = parseTilePath(`tile/entries/${rest}`);
    return { index: t.index, width: t.width };
  } catch {
    return undefined;
  }
}

/** The first `n` lines (each ending in a newline) of a block bundle's text, or undefined. */
function firstLines(text: string, n: number): string | undefined {
  let at = 0;
  for (let i = 0; i < n; i++) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) return undefined;
    at = nl + 1;
  }
  return text.slice(0, at);
}

const UNKNOWN_LISTED = 20;
/** Why an older partial object that is not a prefix of the current one is a problem. */
const DISAGREE = "one of the two is not the log's (the replay checks the current one: if it found nothing wrong with it, it is the older one)";

/** How a {@link ListingAccount} reads the bucket: through its source, which counts the reads. */
export interface ListingReads {
  /** Reads the object at `path` under the prefix. */
  get(path: string): Promise<ObjectRead>;
  /** `bucket object <key or URL>`, as every message names an object. */
  object(path: string): string;
  /** Objects read at once. */
  readonly concurrency: number;
}

/** An older partial object, to be compared with the current one it must be a prefix of. */
interface Older {
  readonly path: string;
  readonly current: string;
  compare(old: Uint8Array, current: Uint8Array): boolean;
  problem(why: string): Problem;
}

/** The account of a listed bucket's objects, beyond those the replay read. */
export class ListingAccount {
  readonly #io: ListingReads;
  /** Partial tiles and bundles of earlier checkpoints compared with the current ones. */
  olderChecked = 0;
  /** Objects beyond the checkpoint: not checked. */
  newer = 0;
  /** Objects the mirror never writes (their names, the first 20), and how many. */
  readonly unknown: string[] = [];
  unknownCount = 0;

  constructor(io: ListingReads) {
    this.#io = io;
  }

  /**
   * check goes through every listed path: the checkpoint's own objects (for `size` entries and
   * `blockCount` blocks) are skipped, older partial ones compared, newer ones counted, others
   * named. Returns the problems found.
   */
  async check(listed: readonly string[], size: bigint, blockCount: bigint): Promise<Problem[]> {
    const object = (path: string) => this.#io.object(path);
    const problems: Problem[] = [];
    const older: Older[] = [];
    for (const path of listed) {
      if (path === 'checkpoint') continue;
      if (path.startsWith('tile/')) {
        let tile: Tile;
        try {
          tile = parseTilePath(path);
        } catch {
          this.#unknownObject(path);
          continue;
        }
        const cw = tileWidth(tile.kind === 'hash' ? tile.level : 0, tile.index, size);
        if (tile.width === cw) continue; // read by the replay
        if (tile.width > cw) {
          this.newer++;
          continue;
        }
        const current = formatTilePath({ ...tile, width: cw });
        older.push({
          path,
          current,
          compare: (old, cur) => {
            if (tile.kind === 'hash') return old.length === tile.width * 32 && toHex(old) === toHex(cur.subarray(0, tile.width * 32));
            try {
              return toHex(old) === toHex(encodeEntryBundle(decodeEntryBundle(cur, cw).slice(0, tile.width)));
            } catch {
              return false; // the current bundle is reported by the replay
            }
          },
          problem: (why) => ({ kind: 'tile-invalid', index: firstLeaf(tile), message: `${object(path)}, the ${tile.kind === 'hash' ? 'hash tile' : 'entry bundle'} of an earlier checkpoint (width ${tile.width}), ${why} ${object(current)}: ${DISAGREE}` }),
        });
      } else if (path.startsWith('guzheng/blocks/')) {
        const g = parseIndexPath(path.slice('guzheng/blocks/'.length));
        if (g === undefined) {
          this.#unknownObject(path);
          continue;
        }
        const first = g.index * BigInt(TILE_WIDTH);
        const cw = first >= blockCount ? 0 : groupOf(first, blockCount).width;
        if (g.width === cw) continue;
        if (g.width > cw) {
          this.newer++;
          continue;
        }
        const current = blockBundleKey('', { index: g.index, width: cw });
        older.push({
          path,
          current,
          compare: (old, cur) => {
            try {
              return firstLines(fromUtf8(cur), g.width) === fromUtf8(old);
            } catch {
              return false;
            }
          },
          problem: (why) => ({ kind: 'block-invalid', height: first, message: `${object(path)}, the block bundle of an earlier checkpoint (${g.width} blocks), ${why} ${object(current)}: ${DISAGREE}` }),
        });
      } else if (path.startsWith('guzheng/attachments/')) {
        const g = parseIndexPath(path.slice('guzheng/attachments/'.length));
        if (g === undefined) {
          this.#unknownObject(path);
          continue;
        }
        const cw = tileWidth(0, g.index, size);
        if (g.width === cw) continue; // read by the replay
        if (g.width > cw) {
          this.newer++;
          continue;
        }
        const current = attachmentBundleKey('', { index: g.index, width: cw });
        older.push({
          path,
          current,
          compare: (old, cur) => {
            try {
              return toHex(old) === toHex(encodeAttachmentBundle(decodeAttachmentBundle(cur, cw).slice(0, g.width)));
            } catch {
              return false; // the current bundle is reported by the replay
            }
          },
          problem: (why) => ({ kind: 'attachment', index: g.index * BigInt(TILE_WIDTH), message: `${object(path)}, the attachment bundle of an earlier checkpoint (${g.width} entries), ${why} ${object(current)}: ${DISAGREE}` }),
        });
      } else if (path.startsWith('guzheng/tsa/') || path.startsWith('guzheng/cosignatures/')) {
        const parts = path.split('/');
        const h = parseIndexPath((parts[1] === 'tsa' ? parts.slice(2) : parts.slice(2, -1)).join('/'));
        if (h === undefined || h.width !== TILE_WIDTH || (parts[1] === 'cosignatures' && !/^[0-9a-f]{64}$/.test(parts.at(-1) ?? ''))) this.#unknownObject(path);
        else if (h.index >= blockCount) this.newer++;
        // Below the block count: read with their block.
      } else {
        this.#unknownObject(path);
      }
    }
    // Older partial objects, grouped by the current object they must be a prefix of.
    const byCurrent = new Map<string, Older[]>();
    for (const o of older) byCurrent.set(o.current, [...(byCurrent.get(o.current) ?? []), o]);
    await mapLimit([...byCurrent], this.#io.concurrency, async ([current, olds]) => {
      const cur = await this.#io.get(current);
      for (const o of olds) {
        this.olderChecked++;
        if (cur.status !== 'ok') {
          problems.push(o.problem(`cannot be compared with`));
          continue;
        }
        const old = await this.#io.get(o.path);
        if (old.status !== 'ok') problems.push(o.problem(`was listed but is ${old.status === 'missing' ? 'missing' : `not readable (${old.detail})`}; compare with`));
        else if (!o.compare(old.bytes, cur.bytes)) problems.push(o.problem('is not a prefix of'));
      }
    });
    return problems;
  }

  #unknownObject(path: string): void {
    this.unknownCount++;
    if (this.unknown.length < UNKNOWN_LISTED) this.unknown.push(path);
  }
}
