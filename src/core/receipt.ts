/**
 * The receipt (存证回执): one self-contained JSON document per entry that proves, offline, that
 * the entry is in the log (SPEC.md#receipts):
 *
 *     { format: "guzheng-receipt/v2", index, entry, leafHash, inclusionProof, checkpoint,
 *       block, blockConsistency, timestamp, verifierKey }
 *
 * The leaf bytes are the RFC 8785 form of `entry`; `inclusionProof` proves the leaf at `index`
 * in the tree of the signed `checkpoint`; `block` is the block that sealed the entry, and
 * `blockConsistency` proves its checkpoint is a prefix of `checkpoint` (empty when they have the
 * same size). `timestamp` is the RFC 3161 stamp of the first time-stamped checkpoint covering the
entry (src/core/stamp.ts), or null while there is none yet. `verifierKey` is informative only: a
verifier trusts the key it already pins. Receipts of the first format (`guzheng-receipt/v1`, no
`timestamp` member) still parse and verify.
 * This module parses and builds receipts; src/verifier checks them.
 */
import { z } from 'zod';
import { formatDecimal, fromHex, parseDecimal, toHex, utf8 } from './bytes.js';
import { blockJsonSchema, formatBlock, parseBlock, type Block } from './block.js';
import { canonicalJson, canonicalJsonText } from './entry/jcs.js';
import { LedgerError, isLedgerError } from './errors.js';
import { suiteOfVerifier } from './suite.js';
import { formatStamp, parseStamp, stampSchema, type Stamp } from './stamp.js';

/** The receipt format identifier the log writes; a breaking change gets a new one. */
export const RECEIPT_FORMAT = 'guzheng-receipt/v2';
/** The first receipt format (no `timestamp` member): still read and verified. */
export const RECEIPT_FORMAT_V1 = 'guzheng-receipt/v1';

/** Upper bound on a receipt's serialized size: an entry, 64 proof hashes, two notes. */
export const MAX_RECEIPT_SIZE = 4_000_000;

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'want 64 lowercase hex digits');

/** Zod schema of the receipt JSON (strict). `entry` is any JSON object; its schema is checked when verifying. */
export const receiptSchema = z.strictObject({
  format: z.enum([RECEIPT_FORMAT, RECEIPT_FORMAT_V1]),
  index: z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'want a canonical decimal string'),
  entry: z.record(z.string(), z.unknown()),
  leafHash: hash,
  inclusionProof: z.array(hash).max(64),
  checkpoint: z.string().min(1).max(1_000_000),
  block: blockJsonSchema,
  blockConsistency: z.array(hash).max(128),
  /** Required (possibly null) in v2, absent in v1. */
  timestamp: stampSchema.nullable().optional(),
  verifierKey: z.string().min(1).max(1000),
});

/** A receipt as JSON (what is written to the file). */
export type Receipt = z.infer<typeof receiptSchema>;

/** A receipt decoded: numbers as bigint, hashes as bytes, the leaf bytes computed. */
export interface ParsedReceipt {
  /** 2 for guzheng-receipt/v2, 1 for guzheng-receipt/v1. */
  readonly format: 1 | 2;
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
  /** The stamp; null when the log had none yet; undefined in a v1 receipt. */
  readonly timestamp: Stamp | null | undefined;
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
  const format = j.format === RECEIPT_FORMAT ? 2 : 1;
  if (format === 2 && j.timestamp === undefined) malformed(`receipt.timestamp: required in ${RECEIPT_FORMAT} (null while there is no stamp yet)`);
  if (format === 1 && j.timestamp !== undefined) malformed(`receipt.timestamp: not a member of ${RECEIPT_FORMAT_V1}`);
  let entryBytes: Uint8Array;
  let block: Block;
  let index: bigint;
  let timestamp: Stamp | null | undefined;
  try {
    index = parseDecimal(j.index, 'receipt.index');
    entryBytes = canonicalJson(j.entry);
    block = parseBlock(j.block);
    timestamp = j.timestamp == null ? j.timestamp : parseStamp(j.timestamp);
  } catch (err) {
    if (isLedgerError(err)) malformed(`receipt: ${err.message}`, err);
    throw err;
  }
  return {
    format,
    index,
    entry: j.entry,
    entryBytes,
    leafHash: fromHex(j.leafHash, 32),
    inclusionProof: j.inclusionProof.map((h) => fromHex(h, 32)),
    checkpoint: j.checkpoint,
    block,
    blockConsistency: j.blockConsistency.map((h) => fromHex(h, 32)),
    timestamp,
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
  /** The stamp of the first time-stamped checkpoint covering the entry, or null (none yet). */
  readonly timestamp: Stamp | null;
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
    // The leaf hash with the log's own suite (its key says which).
    leafHash: toHex(suiteOfVerifier(parts.verifierKey).tree.hashLeaf(utf8(text))),
    inclusionProof: parts.inclusionProof.map(toHex),
    checkpoint: parts.checkpoint,
    block: formatBlock(parts.block),
    blockConsistency: parts.blockConsistency.map(toHex),
    timestamp: parts.timestamp === null ? null : formatStamp(parts.timestamp),
    verifierKey: parts.verifierKey,
  };
}
