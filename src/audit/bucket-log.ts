/**
 * `guzheng monitor` over the mirror's bucket (docs/audit.md#auditing-a-mirror): the
 * {@link LogReader} that reads `checkpoint`, the block bundles `guzheng/blocks/<N>[.p/<W>]`, and
 * builds consistency proofs from the hash tiles `tile/<L>/<N>[.p/<W>]` (bucket-nodes.ts). It needs
 * no entry bundle, so it works anonymously on a bucket that publishes only its checkpoint, hash
 * tiles and blocks (docs/scaling.md#what-is-public).
 *
 * The monitor checks everything as for the service: the checkpoint's signature, its consistency
 * with the accepted one (a proof built from the tiles is judged against both signed roots: one
 * that does not give the larger root names the tiles as damaged), and every block from the saved
 * head to the one the signed block header names, linked and matching its signed header.
 */
import { findBlockHeader } from '../core/block-header.js';
import { fromUtf8 } from '../core/bytes.js';
import { parseCheckpoint } from '../core/checkpoint.js';
import type { VerifierKey } from '../core/note.js';
import { suiteOfKey } from '../core/suite.js';
import { TILE_WIDTH } from '../core/tiles.js';
import { blockBundleKey, type BlockGroup } from '../mirror/layout.js';
import { TileNodes, TileUnavailable } from './bucket-nodes.js';
import type { BucketReader } from './bucket-store.js';
import type { BlockPage, LogReader, ProofAnswer } from './monitor-log.js';
import { AuditAbort } from './source.js';

/** The monitor's view of a bucket: the last checkpoint read fixes the block count and the tiles. */
export class BucketLog implements LogReader {
  readonly kind = 'bucket';
  readonly base: string;
  readonly #reader: BucketReader;
  readonly #key: VerifierKey;
  /** Size and block count of the checkpoint read last (undefined: none, or it names no block). */
  #size = 0n;
  #count: bigint | undefined;
  /** Block bundles read since the last checkpoint (a poll reads each at most once). */
  readonly #bundles = new Map<string, Promise<{ name: string; lines?: string[]; missing?: string }>>();

  constructor(reader: BucketReader, key: VerifierKey) {
    this.#reader = reader;
    this.#key = key;
    this.base = reader.description;
  }

  async checkpoint(): Promise<string> {
    const got = await this.#reader.read('checkpoint');
    const name = this.#reader.name('checkpoint');
    if (got.status === 'missing') throw new AuditAbort(`bucket object ${name} does not exist: nothing mirrored there yet, or a wrong prefix`, { exitCode: 1 });
    if (got.status === 'denied') throw new AuditAbort(`bucket object ${name} is not readable (${got.detail}): give credentials, or publish it (docs/scaling.md#what-is-public)`, { exitCode: 1 });
    let note: string;
    try {
      note = fromUtf8(got.bytes, 'checkpoint');
    } catch (err) {
      throw new AuditAbort(`bucket object ${name} is not UTF-8: ${(err as Error).message}`, { exitCode: 1 });
    }
    // Unverified here (the monitor verifies it): only where to find its tiles and blocks.
    this.#bundles.clear();
    this.#count = undefined;
    const end = note.indexOf('\n\n');
    try {
      const cp = parseCheckpoint(note.slice(0, end + 1));
      this.#size = cp.size;
      const header = findBlockHeader(cp.extensions);
      if (header !== undefined) this.#count = header.height + 1n;
    } catch {
      // The monitor reports a note that does not verify.
    }
    return note;
  }

  #bundle(group: BlockGroup): Promise<{ name: string; lines?: string[]; missing?: string }> {
    const path = blockBundleKey('', group);
    let p = this.#bundles.get(path);
    if (p === undefined) {
      const name = this.#reader.name(path);
      p = this.#reader.read(path).then((r) => {
        if (r.status !== 'ok') return { name, missing: r.status === 'missing' ? 'missing' : `not readable: ${r.detail}` };
        let text: string;
        try {
          text = fromUtf8(r.bytes, 'block bundle');
        } catch {
          return { name, lines: [] };
        }
        return { name, lines: (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n') };
      });
      this.#bundles.set(path, p);
    }
    return p;
  }

  /**
   * blockPage reads blocks from the bundles of the checkpoint read last: each line parsed as JSON
   * (a line that is not JSON is passed as its text, which the monitor reports as a malformed block).
   */
  async blockPage(from: bigint, limit: number): Promise<BlockPage> {
    const count = this.#count;
    if (count === undefined) throw new AuditAbort(`the checkpoint of the bucket ${this.base} names no block (a log of the first format): monitor the service instead`, { exitCode: 1 });
    const blocks: unknown[] = [];
    const names: string[] = [];
    let h = from;
    while (blocks.length < limit && h < count) {
      const index = h / BigInt(TILE_WIDTH);
      const left = count - index * BigInt(TILE_WIDTH);
      const group = { index, width: left >= BigInt(TILE_WIDTH) ? TILE_WIDTH : Number(left) };
      const b = await this.#bundle(group);
      if (b.lines === undefined) {
        names.push(`${b.name} (${b.missing ?? 'missing'})`);
        break;
      }
      names.push(b.name);
      const at = Number(h - index * BigInt(TILE_WIDTH));
      const take = b.lines.slice(at, at + limit - blocks.length);
      if (take.length === 0) break;
      for (const line of take) {
        try {
          blocks.push(JSON.parse(line) as unknown);
        } catch {
          blocks.push(line);
        }
      }
      h += BigInt(take.length);
    }
    return { request: names.join(', ') || this.#reader.name(blockBundleKey('', { index: from / BigInt(TILE_WIDTH), width: TILE_WIDTH })), blocks };
  }

  /**
   * consistencyProof builds the proof from the hash tiles: of the bucket's checkpoint when `to` is
   * no larger, else of size `to` (the partial tiles of every mirrored checkpoint stay). A bucket
   * without them is `behind` (it never held that size); a missing tile its own checkpoint needs is a
   * refusal naming it.
   */
  async consistencyProof(from: bigint, to: bigint): Promise<ProofAnswer> {
    const nodes = new TileNodes(this.#reader, to > this.#size ? to : this.#size, suiteOfKey(this.#key).tree);
    try {
      return { proof: await nodes.consistencyProof(from, to), tiles: nodes.paths.map((p) => this.#reader.name(p)) };
    } catch (err) {
      if (!(err instanceof TileUnavailable)) throw err;
      return to > this.#size ? { refused: `${err.message} (the bucket's checkpoint is of size ${this.#size}: it never held size ${to})`, behind: true } : { refused: err.message };
    }
  }
}
