/**
 * Reading the mirror's bucket (docs/scaling.md#layout) for a restore or a read replica: every
 * object by its name, decoded strictly, with errors that name the object. Nothing here trusts
 * what it reads: src/mirror/follow.ts checks every byte against signed checkpoints before it is
 * used. Reads are idempotent GETs and LISTs: any number of readers may share a bucket with the
 * mirror writing it.
 */
import type { BlockJson } from '../core/block.js';
import { fromUtf8 } from '../core/bytes.js';
import { decodeEntryBundle, splitHashTile, type Tile } from '../core/tiles.js';
import {
  attachmentBundleKey,
  checkPrefix,
  checkpointKey,
  decodeAttachmentBundle,
  decodeBlockBundle,
  evidenceListPrefixes,
  parseEvidenceKey,
  tileKey,
  type BlockGroup,
  type EvidenceFolder,
} from './layout.js';

/** The object store operations a reader uses (S3ObjectStore, or a fake in tests). */
export interface ObjectReader {
  /** Names the store (bucket and where it is). */
  readonly id: string;
  /** An object's bytes, or undefined when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Every key under a prefix. */
  list(prefix: string): Promise<string[]>;
}

/**
 * MirrorObjectError: an object the signed checkpoint needs is missing from the bucket, does not
 * decode, or does not match what the signed checkpoints and the entries prove. `key` names it.
 */
export class MirrorObjectError extends Error {
  readonly code: 'MIRROR_OBJECT_MISSING' | 'MIRROR_OBJECT_INVALID';
  /** The object's full key in the bucket. */
  readonly key: string;
  constructor(code: MirrorObjectError['code'], key: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MirrorObjectError';
    this.code = code;
    this.key = key;
  }
}

function missing(key: string, what: string): MirrorObjectError {
  return new MirrorObjectError('MIRROR_OBJECT_MISSING', key, `mirror: ${what} ${key} is missing from the bucket (deleted, or never written)`);
}

function invalid(key: string, what: string, err: unknown): MirrorObjectError {
  const why = err instanceof Error ? err.message : String(err);
  return new MirrorObjectError('MIRROR_OBJECT_INVALID', key, `mirror: ${what} ${key} is damaged: ${why}`, { cause: err });
}

/** decoded runs a decoder over an object's bytes, turning a decoding failure into an error naming the object. */
function decoded<T>(key: string, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    throw invalid(key, what, err);
  }
}

/** Reads one mirror (a bucket and a prefix). */
export class BucketReader {
  readonly objects: ObjectReader;
  readonly prefix: string;
  /** Objects read, and their bytes (for progress and measurements). */
  readonly counters = { gets: 0, bytes: 0, lists: 0 };

  /** Requires: a valid prefix (see checkPrefix). */
  constructor(objects: ObjectReader, prefix: string) {
    this.objects = objects;
    this.prefix = checkPrefix(prefix);
  }

  /** Where the mirror is, for messages: `<store id>/<prefix>`. */
  get where(): string {
    return this.prefix === '' ? this.objects.id : `${this.objects.id}/${this.prefix}`;
  }

  async #get(key: string): Promise<Uint8Array | undefined> {
    const bytes = await this.objects.get(key);
    this.counters.gets++;
    if (bytes !== undefined) this.counters.bytes += bytes.length;
    return bytes;
  }

  async #need(key: string, what: string): Promise<Uint8Array> {
    const bytes = await this.#get(key);
    if (bytes === undefined) throw missing(key, what);
    return bytes;
  }

  /** The key of the checkpoint object. */
  get checkpointKey(): string {
    return checkpointKey(this.prefix);
  }

  /** checkpoint reads the checkpoint object's bytes (undefined: the bucket holds no log yet). */
  checkpoint(): Promise<Uint8Array | undefined> {
    return this.#get(this.checkpointKey);
  }

  /** hashTile reads a hash tile: its `width` node hashes. */
  async hashTile(tile: Tile & { kind: 'hash' }): Promise<Uint8Array[]> {
    const key = tileKey(this.prefix, tile);
    const bytes = await this.#need(key, 'hash tile');
    return decoded(key, 'hash tile', () => splitHashTile(bytes, tile.width));
  }

  /** entryBundle reads an entry bundle: its `width` entries. */
  async entryBundle(tile: Tile & { kind: 'entries' }): Promise<Uint8Array[]> {
    const key = tileKey(this.prefix, tile);
    const bytes = await this.#need(key, 'entry bundle');
    return decoded(key, 'entry bundle', () => decodeEntryBundle(bytes, tile.width));
  }

  /** blockBundle reads a block bundle: blocks 256·index … as JSON (signatures not checked here). */
  async blockBundle(group: BlockGroup, key: string): Promise<BlockJson[]> {
    const bytes = await this.#need(key, 'block bundle');
    return decoded(key, 'block bundle', () => decodeBlockBundle(bytes, group));
  }

  /** attachmentBundle reads the attachments of an entry group, or undefined when there is no such object. */
  async attachmentBundle(group: BlockGroup): Promise<Array<Uint8Array | undefined> | undefined> {
    const key = attachmentBundleKey(this.prefix, group);
    const bytes = await this.#get(key);
    return bytes === undefined ? undefined : decoded(key, 'attachment bundle', () => decodeAttachmentBundle(bytes, group.width));
  }

  /** object reads any object by key, or undefined. */
  object(key: string): Promise<Uint8Array | undefined> {
    return this.#get(key);
  }

  /** text reads an object that must exist and be UTF-8. */
  async text(key: string, what: string): Promise<string> {
    const bytes = await this.#need(key, what);
    return decoded(key, what, () => fromUtf8(bytes, what));
  }

  /**
   * evidence lists the evidence objects (time stamps or cosignature lines) of blocks at heights
   * [from, to), or of every block when `to` is undefined; ascending by height. Objects under the
   * folder that are not evidence names are returned in `stray`.
   */
  async evidence(folder: EvidenceFolder, from: bigint, to?: bigint): Promise<{ items: Array<{ key: string; height: bigint; digest?: string }>; stray: string[] }> {
    const prefixes = to === undefined ? [`${this.prefix === '' ? '' : `${this.prefix}/`}guzheng/${folder}/`] : evidenceListPrefixes(this.prefix, folder, from, to);
    const items: Array<{ key: string; height: bigint; digest?: string }> = [];
    const stray: string[] = [];
    for (const p of prefixes) {
      this.counters.lists++;
      for (const key of await this.objects.list(p)) {
        const parsed = parseEvidenceKey(this.prefix, folder, key);
        if (parsed === undefined) stray.push(key);
        else if (parsed.height >= from && (to === undefined || parsed.height < to)) items.push({ key, ...parsed });
      }
    }
    items.sort((a, b) => (a.height < b.height ? -1 : a.height > b.height ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { items, stray };
  }
}
