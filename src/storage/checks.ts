/**
 * Argument and record checks shared by every {@link LedgerStore} implementation, so LevelStore
 * and MemoryStore refuse exactly the same things (DESIGN.md §3; contracts-free-ledger/SPEC.md#storage).
 *
 * Error classes (STYLE.md §4): a malformed argument is `LedgerError('INPUT_INVALID')` with a
 * got/want message; a call that contradicts the stored state (wrong `first`, wrong block height,
 * a second writer in flight) or a stored value that does not decode is a plain
 * `Error('storage: …')`: a bug in the caller or corruption, never a user error.
 */
import { z } from 'zod';
import { blockJsonSchema, type BlockJson } from '../core/block.js';
import { MAX_SAFE_BIGINT, MAX_UINT64, equalBytes, formatDecimal, fromHex } from '../core/bytes.js';
import { badInput } from '../core/errors.js';
import { MAX_ENTRY_SIZE } from '../core/entry/codec.js';
import type { NodeHash, NodeId } from '../core/merkle/node.js';
import type { AppendBatch, ApiKeyRecord } from './store.js';


/** checkIndex requires a uint64 bigint (else INPUT_INVALID naming `what`). */
export function checkIndex(n: bigint, what: string): void {
  if (typeof n !== 'bigint' || n < 0n || n > MAX_UINT64) badInput(`storage: ${what} got ${String(n)}, want 0 <= n < 2^64`);
}

/** checkCount requires a non-negative safe integer (else INPUT_INVALID naming `what`). */
export function checkCount(n: number, what: string): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) badInput(`storage: ${what} got ${String(n)}, want a non-negative safe integer`);
}

/** checkNodeIds requires every id to have an integer level 0..63 and a uint64 index. */
export function checkNodeIds(ids: readonly NodeId[]): void {
  if (!Array.isArray(ids)) badInput('storage: readNodes got a non-array, want NodeId[]');
  for (const id of ids) {
    if (typeof id !== 'object' || id === null || !Number.isInteger(id.level) || id.level < 0 || id.level > 63) {
      badInput(`storage: node id got level ${String(id?.level)}, want 0..63`);
    }
    checkIndex(id.index, `node ${id.level} index`);
  }
}

function isBytes(b: unknown): b is Uint8Array {
  return b instanceof Uint8Array;
}

function popcount(n: bigint): number {
  let c = 0;
  for (let x = n; x > 0n; x &= x - 1n) c++;
  return c;
}

/** Number of perfect subtrees (stored nodes, leaves included) of a tree of `size` leaves. */
function storedNodeCount(size: bigint): bigint {
  return 2n * size - BigInt(popcount(size));
}

/** The digest algorithm names a key may carry: lowercase ASCII, never 0x00 (see keys.ts). */
const DIGEST_ALG = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** checkDigestAlg requires `alg` to match `[a-z0-9][a-z0-9-]{0,31}` (else INPUT_INVALID). */
export function checkDigestAlg(alg: string, what: string): void {
  if (typeof alg !== 'string' || !DIGEST_ALG.test(alg)) badInput(`storage: ${what} alg got ${JSON.stringify(String(alg))}, want [a-z0-9-], 1-32 characters`);
}

/**
 * checkDigestArg validates a content digest `{alg, hex}` used as a key and returns its 32 bytes.
 * Requires: `alg` as {@link checkDigestAlg}; `hex` is 64 lowercase hex digits (else INPUT_INVALID).
 */
export function checkDigestArg(alg: string, hex: string, what = 'digest'): Uint8Array {
  checkDigestAlg(alg, what);
  return fromHex(hex, 32, `storage: ${what} hex`);
}

/** checkMetaKey requires a non-empty name of at most 256 UTF-8 bytes (else INPUT_INVALID). */
export function checkMetaKey(name: string): void {
  if (typeof name !== 'string' || name.length === 0) badInput('storage: meta key got an empty or non-string name, want 1-256 bytes');
  const n = new TextEncoder().encode(name).length;
  if (n > 256) badInput(`storage: meta key got ${n} bytes, want at most 256`);
}

/** checkSecretHash requires 64 lowercase hex digits, the SHA-256 of an API secret (else INPUT_INVALID). */
export function checkSecretHash(secretHash: string): void {
  if (typeof secretHash !== 'string' || !/^[0-9a-f]{64}$/.test(secretHash)) {
    badInput('storage: api key secretHash: want 64 lowercase hex digits (SHA-256 of the secret)');
  }
}

/** checkHash requires a 32-byte Uint8Array (else INPUT_INVALID naming `what`). */
export function checkHash(h: Uint8Array, what: string): void {
  if (!isBytes(h) || h.length !== 32) badInput(`storage: ${what} got ${isBytes(h) ? `${h.length} bytes` : typeof h}, want 32 bytes`);
}

const SECONDARY_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
// Control characters (and so 0x00, the key separator) are not allowed in secondary keys.
const SECONDARY_BAD = /[\u0000-\u001f\u007f]/;

/**
 * utf8Length returns the number of bytes TextEncoder makes of `s` (a lone surrogate becomes
 * U+FFFD, 3 bytes), without encoding it.
 */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * The greatest secondary-index key, UTF-8 bytes: a case number is up to 128 characters
 * (CASE_ID_TEXT), which is up to 512 bytes (4 per code point); a smaller limit here refused
 * valid entries at the store, failing the whole group commit they were flushed with.
 */
export const MAX_SECONDARY_KEY_BYTES = 512;

/** isGoodSecondary is true exactly when {@link checkSecondary} accepts (`name`, `key`). */
function isGoodSecondary(name: string, key: string): boolean {
  if (typeof name !== 'string' || !SECONDARY_NAME.test(name)) return false;
  if (typeof key !== 'string' || key.length === 0 || SECONDARY_BAD.test(key)) return false;
  // At least one UTF-8 byte per UTF-16 unit and at most three.
  if (key.length > MAX_SECONDARY_KEY_BYTES) return false;
  return key.length <= Math.floor(MAX_SECONDARY_KEY_BYTES / 3) || utf8Length(key) <= MAX_SECONDARY_KEY_BYTES;
}

/**
 * checkSecondary requires a secondary index name `[a-z0-9][a-z0-9-]{0,31}` and a key of 1..512
 * UTF-8 bytes without control characters (else INPUT_INVALID naming `what`).
 */
export function checkSecondary(name: string, key: string, what: string): void {
  if (typeof name !== 'string' || !SECONDARY_NAME.test(name)) badInput(`${what}: name got ${JSON.stringify(String(name))}, want [a-z0-9][a-z0-9-]{0,31}`);
  if (typeof key !== 'string' || key.length === 0 || SECONDARY_BAD.test(key) || new TextEncoder().encode(key).length > MAX_SECONDARY_KEY_BYTES) {
    badInput(`${what}: key must be 1..${MAX_SECONDARY_KEY_BYTES} UTF-8 bytes without control characters`);
  }
}

/** A batch after validation: the new size and the decoded digests, ready to write. */
export interface CheckedBatch {
  /** Size after the batch: first + entries.length. */
  readonly end: bigint;
  /** The digests' bytes, packed: `batch.digests[i]` is bytes [32·i, 32·i + 32). */
  readonly digestBytes: Uint8Array;
}


/** Is `n` a uint64 bigint (what {@link checkIndex} accepts)? */
function isIndex(n: unknown): n is bigint {
  return typeof n === 'bigint' && n >= 0n && n <= MAX_UINT64;
}

/** Is `h` a 32-byte Uint8Array (what {@link checkHash} accepts)? */
function isHash(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === 32;
}

/** Digest algorithm names already matched against {@link DIGEST_ALG} (a handful exist). */
const GOOD_DIGEST_ALGS = new Set<string>();

/** Value of a lowercase hex digit by char code, -1 for anything else (codes 0..127). */
const HEX_NIBBLE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 16; i++) t['0123456789abcdef'.charCodeAt(i)] = i;
  return t;
})();

/**
 * decodeDigestHexInto writes the 32 bytes spelled by `hex` (64 lowercase hex digits) at `offset`
 * of `out` and returns true; returns false for anything else (the caller then reports it).
 */
function decodeDigestHexInto(hex: unknown, out: Uint8Array, offset: number): boolean {
  if (typeof hex !== 'string' || hex.length !== 64) return false;
  for (let i = 0; i < 32; i++) {
    const h = hex.charCodeAt(2 * i);
    const l = hex.charCodeAt(2 * i + 1);
    if ((h | l) >= 128) return false;
    const hi = HEX_NIBBLE[h] as number;
    const lo = HEX_NIBBLE[l] as number;
    if ((hi | lo) < 0) return false;
    out[offset + i] = (hi << 4) | lo;
  }
  return true;
}

/**
 * checkAppendBatch validates one sequencer flush against the stored size before anything is
 * written. Requires: `batch.first === size` (else a plain Error: the caller is out of step with
 * storage); entries and leafHashes of equal length, each entry at most 65,535 bytes, each hash
 * 32 bytes; `nodes` exactly the perfect subtrees completed by appending leaves [first, end), with
 * level-0 nodes equal to `leafHashes`; digest and attachment indexes inside [first, end), at most
 * one attachment per entry (else INPUT_INVALID). See contracts-free-ledger/SPEC.md#storage.
 *
 * It runs once per entry of every flush, so the common case allocates nothing per element: the
 * conditions are tested inline, indexes are compared as bigints and offset as numbers, and only a
 * failing element builds its message (through the same check functions as everywhere else).
 */
export function checkAppendBatch(batch: AppendBatch, size: bigint): CheckedBatch {
  if (typeof batch !== 'object' || batch === null) badInput('storage: appendBatch got a non-object, want an AppendBatch');
  checkIndex(batch.first, 'batch.first');
  if (batch.first !== size) throw new Error(`storage: appendBatch first ${batch.first}, want the stored size ${size}`);
  const { entries, leafHashes, nodes, digests, attachments } = batch;
  if (!Array.isArray(entries) || !Array.isArray(leafHashes) || !Array.isArray(nodes) || !Array.isArray(digests) || !Array.isArray(attachments)) {
    badInput('storage: appendBatch: entries, leafHashes, nodes, digests and attachments must be arrays');
  }
  if (entries.length !== leafHashes.length) {
    badInput(`storage: appendBatch got ${leafHashes.length} leaf hashes, want ${entries.length} (one per entry)`);
  }
  const first = batch.first;
  const end = first + BigInt(entries.length);
  if (end > MAX_UINT64) badInput(`storage: appendBatch would grow the log to ${end} entries, past 2^64-1`);
  for (let i = 0; i < entries.length; i++) {
    const e: unknown = entries[i];
    if (!isBytes(e)) badInput(`storage: batch.entries[${i}] got ${typeof e}, want a Uint8Array`);
    if (e.length > MAX_ENTRY_SIZE) badInput(`storage: batch.entries[${i}] got ${e.length} bytes, want at most ${MAX_ENTRY_SIZE}`);
  }
  for (let i = 0; i < leafHashes.length; i++) {
    const h = leafHashes[i] as Uint8Array;
    if (!isHash(h)) checkHash(h, `batch.leafHashes[${i}]`);
  }

  // The nodes must be exactly those a compact range creates for leaves [first, end): every
  // perfect subtree whose last leaf is in that range, once each, leaves equal to leafHashes.
  const wantNodes = storedNodeCount(end) - storedNodeCount(first);
  if (BigInt(nodes.length) !== wantNodes) badInput(`storage: appendBatch got ${nodes.length} nodes, want ${wantNodes} for leaves [${first}, ${end})`);
  // The nodes of level L completed by leaves [first, end) are exactly indexes [first >> L, end >> L):
  // with the count right, every node in its level's range and none twice, the set is exact.
  // While end is a safe integer (always, in practice) the offsets are numbers: an index past
  // 2^53 converts inexactly but still lands past the level's range, so it is refused all the same.
  const safe = end <= MAX_SAFE_BIGINT;
  const los: bigint[] = [];
  const loNums: number[] = [];
  const seen: Uint8Array[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as NodeHash;
    if (typeof n !== 'object' || n === null) badInput(`storage: batch.nodes[${i}] got ${String(n)}, want a NodeHash`);
    const level = n.level;
    if (!Number.isInteger(level) || level < 0 || level > 63) badInput(`storage: node id got level ${String(level)}, want 0..63`);
    const index = n.index;
    if (!isIndex(index)) checkIndex(index, `node ${level} index`);
    if (!isHash(n.hash)) checkHash(n.hash, `batch.nodes[${i}].hash`);
    let lo = los[level];
    let bits = seen[level];
    if (lo === undefined || bits === undefined) {
      const shift = BigInt(level);
      lo = first >> shift;
      los[level] = lo;
      loNums[level] = Number(lo);
      bits = new Uint8Array(Number((end >> shift) - lo));
      seen[level] = bits;
    }
    let o: number;
    if (safe) {
      o = Number(index) - (loNums[level] as number);
      if (o < 0 || o >= bits.length) badInput(`storage: batch.nodes[${i}] ${level}/${index} is not completed by leaves [${first}, ${end})`);
    } else {
      const off = index - lo;
      if (off < 0n || off >= BigInt(bits.length)) badInput(`storage: batch.nodes[${i}] ${level}/${index} is not completed by leaves [${first}, ${end})`);
      o = Number(off);
    }
    if (bits[o] === 1) badInput(`storage: batch.nodes[${i}] ${level}/${index} appears twice`);
    bits[o] = 1;
    if (level === 0) {
      const leaf = leafHashes[o] as Uint8Array;
      if (n.hash !== leaf && !equalBytes(n.hash, leaf)) badInput(`storage: batch.nodes[${i}] 0/${index} differs from leafHashes[${o}]`);
    }
  }

  const digestBytes = new Uint8Array(32 * digests.length);
  for (let i = 0; i < digests.length; i++) {
    const d = digests[i] as { readonly alg: string; readonly hex: string; readonly index: bigint };
    if (typeof d !== 'object' || d === null) badInput(`storage: batch.digests[${i}] got ${String(d)}, want {alg, hex, index}`);
    const index = d.index;
    if (!isIndex(index)) checkIndex(index, `batch.digests[${i}].index`);
    if (index < first || index >= end) badInput(`storage: batch.digests[${i}].index got ${index}, want in [${first}, ${end})`);
    if (!GOOD_DIGEST_ALGS.has(d.alg)) {
      checkDigestAlg(d.alg, `batch.digests[${i}]`);
      if (GOOD_DIGEST_ALGS.size < 64) GOOD_DIGEST_ALGS.add(d.alg);
    }
    // checkDigestArg reports a digest the fast decoder refuses, with its usual message.
    if (!decodeDigestHexInto(d.hex, digestBytes, 32 * i)) digestBytes.set(checkDigestArg(d.alg, d.hex, `batch.digests[${i}]`), 32 * i);
  }

  // Attachments: at most one per entry, marked by offset from first (numbers while end is safe).
  const attached = safe ? new Uint8Array(entries.length) : undefined;
  const attachedBig = safe ? undefined : new Set<bigint>();
  const firstNum = safe ? Number(first) : 0;
  for (let i = 0; i < attachments.length; i++) {
    const a = attachments[i] as { readonly index: bigint; readonly bytes: Uint8Array };
    if (typeof a !== 'object' || a === null) badInput(`storage: batch.attachments[${i}] got ${String(a)}, want {index, bytes}`);
    const index = a.index;
    if (!isIndex(index)) checkIndex(index, `batch.attachments[${i}].index`);
    if (index < first || index >= end) badInput(`storage: batch.attachments[${i}].index got ${index}, want in [${first}, ${end})`);
    if (attached !== undefined) {
      const o = Number(index) - firstNum;
      if (attached[o] === 1) badInput(`storage: batch.attachments[${i}]: a second attachment for entry ${index}`);
      attached[o] = 1;
    } else if (attachedBig !== undefined) {
      if (attachedBig.has(index)) badInput(`storage: batch.attachments[${i}]: a second attachment for entry ${index}`);
      attachedBig.add(index);
    }
    if (!isBytes(a.bytes)) badInput(`storage: batch.attachments[${i}].bytes got ${typeof a.bytes}, want a Uint8Array`);
  }
  const secondary = batch.secondary ?? [];
  if (!Array.isArray(secondary)) badInput('storage: appendBatch: secondary must be an array');
  for (let i = 0; i < secondary.length; i++) {
    const x = secondary[i] as { readonly name: string; readonly key: string; readonly index: bigint };
    if (typeof x !== 'object' || x === null) badInput(`storage: batch.secondary[${i}] got ${String(x)}, want {name, key, index}`);
    if (!isGoodSecondary(x.name, x.key)) checkSecondary(x.name, x.key, `storage: batch.secondary[${i}]`);
    const index = x.index;
    if (!isIndex(index)) checkIndex(index, `batch.secondary[${i}].index`);
    if (index < first || index >= end) badInput(`storage: batch.secondary[${i}].index got ${index}, want in [${first}, ${end})`);
  }
  return { end, digestBytes };
}

/** Largest value of one piece of block evidence (a TSA token with its chain is a few KiB). */
export const MAX_EVIDENCE_BYTES = 1 << 20;

/** checkEvidenceKind requires a block evidence kind `[a-z0-9][a-z0-9-]{0,31}` (else INPUT_INVALID). */
export function checkEvidenceKind(kind: string): void {
  if (typeof kind !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(kind)) badInput(`storage: evidence kind got ${JSON.stringify(String(kind)).slice(0, 40)}, want [a-z0-9][a-z0-9-]{0,31}`);
}

/**
 * checkEvidence validates a put of block evidence: a kind, the height of an existing block
 * (below `blockCount`), and 1 to {@link MAX_EVIDENCE_BYTES} bytes (else INPUT_INVALID).
 */
export function checkEvidence(kind: string, height: bigint, value: Uint8Array, blockCount: bigint): void {
  checkEvidenceKind(kind);
  checkIndex(height, 'evidence height');
  if (height >= blockCount) badInput(`storage: evidence for block ${height}, but there are only ${blockCount} blocks`);
  if (!(value instanceof Uint8Array) || value.length === 0 || value.length > MAX_EVIDENCE_BYTES) {
    badInput(`storage: evidence value got ${value instanceof Uint8Array ? `${value.length} bytes` : typeof value}, want 1 to ${MAX_EVIDENCE_BYTES} bytes`);
  }
}

/**
 * checkBlockToAppend validates a block before it is stored and returns its canonical JSON text
 * (fields in {@link BlockJson} order). Requires: it matches `blockJsonSchema` (else
 * INPUT_INVALID naming the field) and `height` is `count` (else a plain Error).
 */
export function checkBlockToAppend(block: BlockJson, count: bigint): string {
  const r = blockJsonSchema.safeParse(block);
  if (!r.success) {
    const issue = r.error.issues[0];
    badInput(`storage: appendBlock block.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  if (r.data.height !== formatDecimal(count)) throw new Error(`storage: appendBlock height ${r.data.height}, want the block count ${count}`);
  return encodeBlockJson(r.data);
}

function encodeBlockJson(b: BlockJson): string {
  const body = { height: b.height, prev: b.prev, time: b.time, first: b.first, count: b.count, checkpoint: b.checkpoint };
  return JSON.stringify(b.format === undefined ? body : { format: b.format, ...body });
}

/**
 * decodeStoredBlock parses a stored block's JSON text. A value that does not parse, fails the
 * schema, or sits at the wrong height is corruption: a plain Error naming the height.
 */
export function decodeStoredBlock(text: string, height: bigint): BlockJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new Error(`storage: block ${height} is not JSON`, { cause });
  }
  const r = blockJsonSchema.safeParse(value);
  if (!r.success || r.data.height !== formatDecimal(height)) throw new Error(`storage: block ${height} is corrupt`);
  return r.data;
}

/** Zod schema of a stored {@link ApiKeyRecord} (strict: unknown keys rejected). */
export const apiKeyRecordSchema = z.strictObject({
  id: z.string().min(1).max(128),
  secretHash: z.string().regex(/^[0-9a-f]{64}$/, 'want 64 lowercase hex digits'),
  role: z.enum(['submit', 'audit', 'admin']),
  createdAt: z.string().min(1).max(64),
  revokedAt: z.string().min(1).max(64).optional(),
  label: z.string().max(256).optional(),
});

/**
 * checkApiKeyRecord validates an API key record and returns its JSON text (fields in a fixed
 * order, absent optionals omitted). Requires: it matches {@link apiKeyRecordSchema} (else
 * INPUT_INVALID naming the field).
 */
export function checkApiKeyRecord(record: ApiKeyRecord): string {
  const r = apiKeyRecordSchema.safeParse(record);
  if (!r.success) {
    const issue = r.error.issues[0];
    badInput(`storage: api key record.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return encodeApiKeyRecord(r.data);
}

function encodeApiKeyRecord(k: ApiKeyRecord): string {
  const out: Record<string, string> = { id: k.id, secretHash: k.secretHash, role: k.role, createdAt: k.createdAt };
  if (k.revokedAt !== undefined) out['revokedAt'] = k.revokedAt;
  if (k.label !== undefined) out['label'] = k.label;
  return JSON.stringify(out);
}

/** decodeStoredApiKey parses a stored API key record; anything malformed is corruption (plain Error). */
export function decodeStoredApiKey(text: string): ApiKeyRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new Error('storage: an api key record is not JSON', { cause });
  }
  const r = apiKeyRecordSchema.safeParse(value);
  if (!r.success) throw new Error('storage: an api key record is corrupt');
  const k = r.data;
  const out: { -readonly [P in keyof ApiKeyRecord]: ApiKeyRecord[P] } = { id: k.id, secretHash: k.secretHash, role: k.role, createdAt: k.createdAt };
  if (k.revokedAt !== undefined) out.revokedAt = k.revokedAt;
  if (k.label !== undefined) out.label = k.label;
  return out;
}

/** checkMetaValue requires a string value (else INPUT_INVALID). */
export function checkMetaValue(value: string): void {
  if (typeof value !== 'string') badInput(`storage: meta value got ${typeof value}, want a string`);
}
