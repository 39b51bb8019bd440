/**
 * The receipt (存证回执): one self-contained JSON document per entry that proves, offline, that
 * the entry is in the log (SPEC.md#receipts):
 *
 *     { format: "guzheng-receipt/v1", index, entry, leafHash, inclusionProof, checkpoint,
 *       block, blockConsistency, verifierKey }
 *
 * The leaf bytes are the RFC 8785 form of `entry`; `inclusionProof` proves the leaf at `index`
 * in the tree of the signed `checkpoint`; `block` is the block that sealed the entry, and
 * `blockConsistency` proves its checkpoint is a prefix of `checkpoint` (empty when they have the
 * same size). `verifierKey` is informative only: a verifier trusts the key it already pins.
 * This module parses and builds receipts; src/verifier checks them.
 */
import { z } from 'zod';
import { formatDecimal, fromHex, parseDecimal, toHex, utf8 } from './bytes.js';
import { blockJsonSchema, formatBlock, parseBlock, type Block } from './block.js';
import { canonicalJson, canonicalJsonText } from './entry/jcs.js';
import { LedgerError, isLedgerError } from './errors.js';
import { hashLeaf } from './merkle/hash.js';

/** The receipt format identifier; a breaking change gets a new one. */
export const RECEIPT_FORMAT = 'guzheng-receipt/v1';

/** Upper bound on a receipt's serialized size: an entry, 64 proof hashes, two notes. */
export const MAX_RECEIPT_SIZE = 4_000_000;

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'want 64 lowercase hex digits');

/** Zod schema of the receipt JSON (strict). `entry` is any JSON object; its schema is checked when verifying. */
export const receiptSchema = z.strictObject({
  format: z.literal(RECEIPT_FORMAT),
  index: z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'want a canonical decimal string'),
  entry: z.record(z.string(), z.unknown()),
  leafHash: hash,
  inclusionProof: z.array(hash).max(64),
  checkpoint: z.string().min(1).max(1_000_000),
  block: blockJsonSchema,
  blockConsistency: z.array(hash).max(128),
  verifierKey: z.string().min(1).max(1000),
});

/** A receipt as JSON (what is written to the file). */
export type Receipt = z.infer<typeof receiptSchema>;

/** A receipt decoded: numbers as bigint, hashes as bytes, the leaf bytes computed. */
export interface ParsedReceipt {
  readonly index: bigint;
  /** The entry object as given (not yet schema-checked). */
  readonly entry: Record<string, unknown>;
  /** RFC 8785 bytes of `entry`: the leaf data. */
  readonly entryBytes: Uint8Array;
  /** The leaf hash as stated in the receipt (a verifier recomputes it from entryBytes). */
  readonly leafHash: Uint8Array;
  readonly inclusionProof: Uint8Array[];
  readonly checkpoint: string;
  readonly block: Block;
  readonly blockConsistency: Uint8Array[];
  readonly verifierKey: string;
}

function malformed(message: string, cause?: unknown): never {
  throw new LedgerError('RECEIPT_MALFORMED', message, cause === undefined ? undefined : { cause });
}

/**
 * parseReceipt decodes a receipt (a parsed JSON value or its text) strictly. Throws
 * `RECEIPT_MALFORMED` naming the field. It verifies nothing cryptographic.
 */
export function parseReceipt(input: unknown): ParsedReceipt {
  let json = input;
  if (typeof input === 'string') {
    if (input.length > MAX_RECEIPT_SIZE) malformed(`receipt: ${input.length} characters, want at most ${MAX_RECEIPT_SIZE}`);
    try {
      json = JSON.parse(input);
    } catch (cause) {
      malformed('receipt: not JSON', cause);
    }
  }
  const r = receiptSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    malformed(`receipt.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const j = r.data;
  let entryBytes: Uint8Array;
  let block: Block;
  let index: bigint;
  try {
    index = parseDecimal(j.index, 'receipt.index');
    entryBytes = canonicalJson(j.entry);
    block = parseBlock(j.block);
  } catch (err) {
    if (isLedgerError(err)) malformed(`receipt: ${err.message}`, err);
    throw err;
  }
  return {
    index,
    entry: j.entry,
    entryBytes,
    leafHash: fromHex(j.leafHash, 32),
    inclusionProof: j.inclusionProof.map((h) => fromHex(h, 32)),
    checkpoint: j.checkpoint,
    block,
    blockConsistency: j.blockConsistency.map((h) => fromHex(h, 32)),
    verifierKey: j.verifierKey,
  };
}

/** Inputs of {@link buildReceipt}: what the log has when it hands out a receipt. */
export interface ReceiptParts {
  readonly index: bigint;
  /** The entry as a JSON object (its RFC 8785 bytes must be the stored leaf bytes). */
  readonly entry: Record<string, unknown>;
  readonly inclusionProof: readonly Uint8Array[];
  readonly checkpoint: string;
  readonly block: Block;
  readonly blockConsistency: readonly Uint8Array[];
  readonly verifierKey: string;
}

/** buildReceipt assembles the receipt JSON. Requires: parts that verify (the log proves them first). */
export function buildReceipt(parts: ReceiptParts): Receipt {
  // Canonicalized once: the text gives the entry in canonical key order (so receipts read the same
  // everywhere) and, as UTF-8, the leaf bytes whose hash is the leaf hash.
  const text = canonicalJsonText(parts.entry);
  return {
    format: RECEIPT_FORMAT,
    index: formatDecimal(parts.index),
    entry: JSON.parse(text) as Record<string, unknown>,
    leafHash: toHex(hashLeaf(utf8(text))),
    inclusionProof: parts.inclusionProof.map(toHex),
    checkpoint: parts.checkpoint,
    block: formatBlock(parts.block),
    blockConsistency: parts.blockConsistency.map(toHex),
    verifierKey: parts.verifierKey,
  };
}
