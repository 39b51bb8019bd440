/**
 * The evidence bundle (证据包): every entry of one case, proved against ONE common signed
 * checkpoint, in one JSON file that verifies offline as a unit (SPEC.md#bundles):
 *
 *     { format: "guzheng-bundle/v2", caseId, createdAt, verifierKey, checkpoint,
 *       blocks: [{ block, consistency }], timestamps: [{ checkpoint, consistency, tokens }],
 *       items: [{ index, entry, leafHash, inclusionProof, block, timestamp }],
 *       manifest: [{ index, type, name?, mediaType?, size?, digest, receivedAt }] }
 *
 * It is a set of receipts that share their checkpoint: the note is stored once, each distinct
 * sealing block once with its consistency proof to the checkpoint, each distinct time stamp once
 * (src/core/stamp.ts), and each item names its block, and its stamp, by block height. Bundles of
 * the first format (`guzheng-bundle/v1`: no `timestamps`, no item `timestamp`) still parse. `manifest` is the human table of contents; it is derived from the entries and a
 * verifier checks it line by line. `verifierKey` is informative only, as in a receipt.
 * This module parses, builds and converts bundles; src/verifier/bundle.ts checks them.
 */
import { z } from 'zod';
import { formatDecimal, fromHex, parseDecimal, toHex } from './bytes.js';
import { blockJsonSchema, blockOfCheckpoint, formatBlock, parseBlock, type Block } from './block.js';
import { caseIdSchema, digestSchema, ENTRY_TYPES, fileNameSchema, mediaTypeSchema, sizeSchema, type Entry } from './entry/schema.js';
import { canonicalJson, canonicalJsonText } from './entry/jcs.js';
import { isReceivedAt } from './entry/text.js';
import { LedgerError, isLedgerError } from './errors.js';
import { suiteOfVerifier } from './suite.js';
import { RECEIPT_FORMAT, RECEIPT_FORMAT_V1, type Receipt, type ReceiptParts } from './receipt.js';
import { formatStamp, parseStamp, stampSchema, type Stamp } from './stamp.js';

/** The bundle format identifier the log writes; a breaking change gets a new one. */
export const BUNDLE_FORMAT = 'guzheng-bundle/v2';
/** The first bundle format (no time stamps): still read and verified. */
export const BUNDLE_FORMAT_V1 = 'guzheng-bundle/v1';

/** Most items (entries) one bundle may hold. */
export const MAX_BUNDLE_ITEMS = 10_000;

/** Upper bound on a bundle's serialized size, in UTF-16 code units (like MAX_RECEIPT_SIZE). */
export const MAX_BUNDLE_SIZE = 64_000_000;

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'want 64 lowercase hex digits');
const decimal = z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'want a canonical decimal string');
const time = z.string().refine(isReceivedAt, 'want RFC 3339 UTC with milliseconds, YYYY-MM-DDTHH:MM:SS.sssZ');

/** Zod schema of one manifest line (strict). */
export const manifestLineSchema = z.strictObject({
  index: decimal,
  type: z.enum(ENTRY_TYPES),
  name: fileNameSchema.optional(),
  mediaType: mediaTypeSchema.optional(),
  size: sizeSchema.optional(),
  digest: digestSchema,
  receivedAt: time,
});

/** One line of a bundle's manifest: what an item is, for people and tools that only list. */
export type ManifestLine = z.infer<typeof manifestLineSchema>;

/** Zod schema of one sealing block of a bundle with its consistency proof to the bundle checkpoint. */
export const bundleBlockSchema = z.strictObject({
  block: blockJsonSchema,
  consistency: z.array(hash).max(128),
});

/** Zod schema of one bundle item: a receipt without its checkpoint, block by height. */
export const bundleItemSchema = z.strictObject({
  index: decimal,
  entry: z.record(z.string(), z.unknown()),
  leafHash: hash,
  inclusionProof: z.array(hash).max(64),
  block: decimal.describe('height of the sealing block, one of blocks[].block.height'),
});

/** Zod schema of one item of a guzheng-bundle/v2: as v1, plus the height of its stamped checkpoint's block, or null. */
export const bundleItemSchemaV2 = bundleItemSchema.extend({
  timestamp: decimal.nullable().describe('block height of the item\'s stamped checkpoint, one of the timestamps; null when none yet'),
});

const bundleCommon = {
  caseId: caseIdSchema,
  createdAt: time,
  verifierKey: z.string().min(1).max(1000),
  checkpoint: z.string().min(1).max(1_000_000),
  blocks: z.array(bundleBlockSchema).min(1).max(MAX_BUNDLE_ITEMS),
  manifest: z.array(manifestLineSchema).max(MAX_BUNDLE_ITEMS),
};

/** Zod schema of the bundle JSON the log writes (strict: unknown members are rejected at every level). */
export const bundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  ...bundleCommon,
  timestamps: z.array(stampSchema).max(MAX_BUNDLE_ITEMS),
  items: z.array(bundleItemSchemaV2).min(1).max(MAX_BUNDLE_ITEMS),
});

/** Zod schema of a guzheng-bundle/v1 (strict). */
export const bundleSchemaV1 = z.strictObject({
  format: z.literal(BUNDLE_FORMAT_V1),
  ...bundleCommon,
  items: z.array(bundleItemSchema).min(1).max(MAX_BUNDLE_ITEMS),
});

/** A bundle as JSON (what is written to the file). */
export type Bundle = z.infer<typeof bundleSchema>;

/** A stamp of a parsed bundle, with the height of the block its checkpoint seals. */
export interface ParsedBundleStamp {
  readonly height: bigint;
  readonly stamp: Stamp;
}

/** A sealing block of a parsed bundle. */
export interface ParsedBundleBlock {
  readonly block: Block;
  /** Consistency proof from the block's checkpoint to the bundle checkpoint. */
  readonly consistency: Uint8Array[];
}

/** An item of a parsed bundle: everything a receipt holds except the shared checkpoint. */
export interface ParsedBundleItem {
  readonly index: bigint;
  /** The entry object as given (not yet schema-checked). */
  readonly entry: Record<string, unknown>;
  /** RFC 8785 bytes of `entry`: the leaf data. */
  readonly entryBytes: Uint8Array;
  /** The leaf hash as stated (a verifier recomputes it). */
  readonly leafHash: Uint8Array;
  readonly inclusionProof: Uint8Array[];
  /** The sealing block (shared, by identity, with every item it seals). */
  readonly sealing: ParsedBundleBlock;
  /** The item's stamp (shared by identity); null when none yet; undefined in a v1 bundle. */
  readonly stamped: ParsedBundleStamp | null | undefined;
}

/** A bundle decoded: numbers as bigint, hashes as bytes, block references resolved. */
export interface ParsedBundle {
  /** 2 for guzheng-bundle/v2, 1 for guzheng-bundle/v1. */
  readonly format: 1 | 2;
  readonly caseId: string;
  readonly createdAt: string;
  readonly verifierKey: string;
  readonly checkpoint: string;
  readonly blocks: ParsedBundleBlock[];
  /** Empty in a v1 bundle. */
  readonly timestamps: ParsedBundleStamp[];
  readonly items: ParsedBundleItem[];
  /** The manifest as given (checked against the entries by the verifier). */
  readonly manifest: ManifestLine[];
}

function malformed(message: string, cause?: unknown): never {
  throw new LedgerError('RECEIPT_MALFORMED', message, cause === undefined ? undefined : { cause });
}

/**
 * parseBundle decodes a bundle (a parsed JSON value or its text) strictly: the schema, canonical
 * decimals and lowercase hex everywhere, items in strictly increasing index order, blocks in
 * strictly increasing height order, every item's block present and every block used. Throws
 * `RECEIPT_MALFORMED` naming the member (`bundle.items[3].inclusionProof[0]: …`). It verifies
 * nothing cryptographic and does not compare the manifest with the entries.
 * Requires: nothing; any input is safe. See contracts-free-ledger/SPEC.md#bundles.
 */
export function parseBundle(input: unknown): ParsedBundle {
  let json = input;
  if (typeof input === 'string') {
    if (input.length > MAX_BUNDLE_SIZE) malformed(`bundle: ${input.length} characters, want at most ${MAX_BUNDLE_SIZE}`);
    try {
      json = JSON.parse(input);
    } catch (cause) {
      malformed('bundle: not JSON', cause);
    }
  }
  const v1 = typeof json === 'object' && json !== null && (json as { format?: unknown }).format === BUNDLE_FORMAT_V1;
  const r = v1 ? bundleSchemaV1.safeParse(json) : bundleSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') ?? '';
    malformed(`bundle${path}: ${issue?.message ?? 'invalid'}`);
  }
  const j = r.data;
  /** Run `f`; a LedgerError becomes RECEIPT_MALFORMED prefixed with `where`. */
  const at = <T>(where: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (isLedgerError(err)) malformed(`${where}: ${err.message}`, err);
      throw err;
    }
  };
  const blocks: ParsedBundleBlock[] = [];
  const byHeight = new Map<bigint, ParsedBundleBlock>();
  j.blocks.forEach((b, i) => {
    const block = at(`bundle.blocks[${i}]`, () => parseBlock(b.block));
    const prev = blocks.at(-1);
    if (prev !== undefined && block.height <= prev.block.height) malformed(`bundle.blocks[${i}]: height ${block.height} after ${prev.block.height}, want strictly increasing heights`);
    const parsed = { block, consistency: b.consistency.map((h) => fromHex(h, 32)) };
    blocks.push(parsed);
    byHeight.set(block.height, parsed);
  });
  const timestamps: ParsedBundleStamp[] = [];
  const stampAt = new Map<bigint, ParsedBundleStamp>();
  ('timestamps' in j ? j.timestamps : []).forEach((t, i) => {
    const parsed = at(`bundle.timestamps[${i}]`, () => ({ height: blockOfCheckpoint(t.checkpoint).height, stamp: parseStamp(t) }));
    const prev = timestamps.at(-1);
    if (prev !== undefined && parsed.height <= prev.height) malformed(`bundle.timestamps[${i}]: block height ${parsed.height} after ${prev.height}, want strictly increasing heights`);
    timestamps.push(parsed);
    stampAt.set(parsed.height, parsed);
  });
  const used = new Set<bigint>();
  const stampsUsed = new Set<bigint>();
  const items: ParsedBundleItem[] = [];
  j.items.forEach((it, i) => {
    const { index, height, entryBytes } = at(`bundle.items[${i}]`, () => ({
      index: parseDecimal(it.index, `bundle.items[${i}].index`),
      height: parseDecimal(it.block, `bundle.items[${i}].block`),
      entryBytes: canonicalJson(it.entry),
    }));
    const prev = items.at(-1);
    if (prev !== undefined && index <= prev.index) malformed(`bundle.items[${i}].index: ${index} after ${prev.index}, want strictly increasing indexes`);
    const sealing = byHeight.get(height);
    if (sealing === undefined) malformed(`bundle.items[${i}].block: no block of height ${height} in bundle.blocks`);
    used.add(height);
    let stamped: ParsedBundleStamp | null | undefined;
    if ('timestamp' in it && it.timestamp !== null) {
      const h = at(`bundle.items[${i}]`, () => parseDecimal(it.timestamp as string, `bundle.items[${i}].timestamp`));
      stamped = stampAt.get(h);
      if (stamped === undefined) malformed(`bundle.items[${i}].timestamp: no time stamp of block ${h} in bundle.timestamps`);
      stampsUsed.add(h);
    } else stamped = 'timestamp' in it ? null : undefined;
    items.push({ index, entry: it.entry, entryBytes, leafHash: fromHex(it.leafHash, 32), inclusionProof: it.inclusionProof.map((h) => fromHex(h, 32)), sealing, stamped });
  });
  blocks.forEach((b, i) => {
    if (!used.has(b.block.height)) malformed(`bundle.blocks[${i}]: block ${b.block.height} seals no item of the bundle`);
  });
  timestamps.forEach((t, i) => {
    if (!stampsUsed.has(t.height)) malformed(`bundle.timestamps[${i}]: the time stamp of block ${t.height} is named by no item`);
  });
  return { format: v1 ? 1 : 2, caseId: j.caseId, createdAt: j.createdAt, verifierKey: j.verifierKey, checkpoint: j.checkpoint, blocks, timestamps, items, manifest: j.manifest };
}

/**
 * manifestLine derives the manifest line of an entry: its index, type, the `name`, `mediaType`
 * and `size` of its metadata when present, its content digest and receive time.
 * Requires: `entry` decoded (a valid entry). See contracts-free-ledger/SPEC.md#bundles.
 */
export function manifestLine(index: bigint, entry: Entry): ManifestLine {
  const meta = entry.meta as { name?: string; mediaType?: string; size?: number };
  return {
    index: formatDecimal(index),
    type: entry.type,
    ...(meta.name !== undefined ? { name: meta.name } : {}),
    ...(meta.mediaType !== undefined ? { mediaType: meta.mediaType } : {}),
    ...(meta.size !== undefined ? { size: meta.size } : {}),
    digest: { alg: entry.digest.alg, hex: entry.digest.hex },
    receivedAt: entry.receivedAt,
  };
}

/** sameManifestLine compares two manifest lines by their RFC 8785 form (member order is free). */
export function sameManifestLine(a: ManifestLine, b: ManifestLine): boolean {
  return canonicalJsonText(a) === canonicalJsonText(b);
}

/** One item to bundle: a receipt's parts; every item of a bundle shares `checkpoint`. */
export interface BundleItemParts extends Omit<ReceiptParts, 'verifierKey'> {
  /** The decoded entry (its RFC 8785 form must equal that of `entry`). */
  readonly decoded: Entry;
}

/** Inputs of {@link buildBundle}. */
export interface BundleParts {
  readonly caseId: string;
  /** RFC 3339 UTC with milliseconds (the caller's clock: core has none). */
  readonly createdAt: string;
  readonly verifierKey: string;
  /** The common signed checkpoint note every item is proved against. */
  readonly checkpoint: string;
  /** At least one item; any order (the bundle sorts them by index). */
  readonly items: readonly BundleItemParts[];
}

/**
 * buildBundle assembles the bundle JSON: items sorted by index, each distinct sealing block once
 * (sorted by height) with its consistency proof, the note once, and the manifest derived from the
 * entries. Requires: every item proved against `parts.checkpoint` (the log proves them first);
 * distinct indexes; items sealed in the same height carry the same block and consistency proof
 * (else a plain Error: a bug in the caller). See contracts-free-ledger/SPEC.md#bundles.
 */
export function buildBundle(parts: BundleParts): Bundle {
  if (parts.items.length === 0) throw new LedgerError('INPUT_INVALID', 'buildBundle: no items, want at least 1');
  if (parts.items.length > MAX_BUNDLE_ITEMS) throw new LedgerError('INPUT_INVALID', `buildBundle: ${parts.items.length} items, want at most ${MAX_BUNDLE_ITEMS}`);
  const items = [...parts.items].sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
  const blocks = new Map<bigint, { block: Block; consistency: readonly Uint8Array[] }>();
  for (const [i, it] of items.entries()) {
    if (i > 0 && items[i - 1]?.index === it.index) throw new Error(`bundle: index ${it.index} given twice`);
    const seen = blocks.get(it.block.height);
    if (seen === undefined) blocks.set(it.block.height, { block: it.block, consistency: it.blockConsistency });
    else if (canonicalJsonText(formatBlock(seen.block)) !== canonicalJsonText(formatBlock(it.block)) || seen.consistency.map(toHex).join() !== it.blockConsistency.map(toHex).join()) {
      throw new Error(`bundle: two different blocks or proofs for height ${it.block.height}`);
    }
  }
  const stamps = new Map<bigint, Stamp>();
  const stampHeight = new Map<BundleItemParts, bigint>();
  for (const it of items) {
    if (it.timestamp === null) continue;
    const h = blockOfCheckpoint(it.timestamp.checkpoint).height;
    stampHeight.set(it, h);
    const seen = stamps.get(h);
    if (seen === undefined) stamps.set(h, it.timestamp);
    else if (seen.checkpoint !== it.timestamp.checkpoint || seen.consistency.map(toHex).join() !== it.timestamp.consistency.map(toHex).join()) {
      throw new Error(`bundle: two different time stamps or proofs for block ${h}`);
    }
  }
  const ascending = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  const heights = [...blocks.keys()].sort(ascending);
  return {
    format: BUNDLE_FORMAT,
    caseId: parts.caseId,
    createdAt: parts.createdAt,
    verifierKey: parts.verifierKey,
    checkpoint: parts.checkpoint,
    blocks: heights.map((h) => {
      const b = blocks.get(h) as { block: Block; consistency: readonly Uint8Array[] };
      return { block: formatBlock(b.block), consistency: b.consistency.map(toHex) };
    }),
    timestamps: [...stamps.keys()].sort(ascending).map((h) => formatStamp(stamps.get(h) as Stamp)),
    items: items.map((it) => {
      const h = stampHeight.get(it);
      return {
        index: formatDecimal(it.index),
        entry: JSON.parse(canonicalJsonText(it.entry)) as Record<string, unknown>,
        leafHash: toHex(suiteOfVerifier(parts.verifierKey).tree.hashLeaf(canonicalJson(it.entry))),
        inclusionProof: it.inclusionProof.map(toHex),
        block: formatDecimal(it.block.height),
        timestamp: h === undefined ? null : formatDecimal(h),
      };
    }),
    manifest: items.map((it) => manifestLine(it.index, it.decoded)),
  };
}

/**
 * bundleReceipts splits a parsed bundle into one standalone receipt per item (all against the
 * bundle's checkpoint), e.g. to hand one document's proof to someone without the whole case.
 * Requires: a bundle from {@link parseBundle}. Verifies nothing.
 */
export function bundleReceipts(bundle: ParsedBundle): Receipt[] {
  return bundle.items.map((it) => {
    const common = {
      index: formatDecimal(it.index),
      entry: it.entry,
      leafHash: toHex(it.leafHash),
      inclusionProof: it.inclusionProof.map(toHex),
      checkpoint: bundle.checkpoint,
      block: formatBlock(it.sealing.block),
      blockConsistency: it.sealing.consistency.map(toHex),
    };
    if (bundle.format === 1) return { format: RECEIPT_FORMAT_V1, ...common, verifierKey: bundle.verifierKey };
    return { format: RECEIPT_FORMAT, ...common, timestamp: it.stamped == null ? null : formatStamp(it.stamped.stamp), verifierKey: bundle.verifierKey };
  });
}
