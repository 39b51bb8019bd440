/**
 * C2SP tlog-proof (c2sp.org/tlog-proof@v1), the ecosystem's text form of an offline inclusion
 * proof (SPEC.md#tlog-proof):
 *
 *     c2sp.org/tlog-proof@v1
 *     [extra <base64>]
 *     index <decimal>
 *     <base64 hash>            (zero or more: the inclusion proof, leaf sibling first)
 *     <blank line>
 *     <signed checkpoint note, verbatim>
 *
 * The entry itself travels separately. Guzheng puts its block and block-consistency proof in
 * `extra` (base64 of the RFC 8785 JSON `{"block":…, "blockConsistency":[…]}`), so a receipt
 * survives the round trip; `extra` is unauthenticated and is verified like everything else.
 */
import { z } from 'zod';
import { formatDecimal, fromBase64, fromHex, fromUtf8, parseDecimal, toBase64, toHex } from './bytes.js';
import { blockJsonSchema, formatBlock, parseBlock, type Block } from './block.js';
import { formatStamp, parseStamp, stampSchema, type Stamp } from './stamp.js';
import { canonicalJson } from './entry/jcs.js';
import { LedgerError, isLedgerError } from './errors.js';
import { buildReceipt, type ParsedReceipt, type Receipt } from './receipt.js';

/** The first line of every tlog-proof. */
export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
/** Size cap on a tlog-proof text (a checkpoint note is capped at 1 MB). */
export const MAX_TLOG_PROOF_SIZE = 2_000_000;
/** At most this many inclusion proof lines (a 64-bit tree needs at most 64). */
const MAX_PROOF_LINES = 64;

/** A parsed tlog-proof. */
export interface TlogProof {
  readonly index: bigint;
  readonly inclusionProof: Uint8Array[];
  /** The signed checkpoint note text, verbatim. */
  readonly checkpoint: string;
  /** Opaque extra data, if present. */
  readonly extra?: Uint8Array;
}

function malformed(message: string): never {
  throw new LedgerError('RECEIPT_MALFORMED', `tlog-proof: ${message}`);
}

/** formatTlogProof writes a tlog-proof. Requires: 32-byte hashes; a checkpoint note ending in "\n". */
export function formatTlogProof(p: TlogProof): string {
  let out = TLOG_PROOF_HEADER + '\n';
  if (p.extra !== undefined) out += `extra ${toBase64(p.extra)}\n`;
  out += `index ${formatDecimal(p.index)}\n`;
  for (const h of p.inclusionProof) {
    if (h.length !== 32) throw new LedgerError('INPUT_INVALID', `formatTlogProof: got a ${h.length}-byte hash, want 32`);
    out += toBase64(h) + '\n';
  }
  return out + '\n' + p.checkpoint;
}

/**
 * parseTlogProof parses a tlog-proof strictly: exact header, optional `extra` line, canonical
 * index, 32-byte canonical base64 hashes (at most 64), a blank line, then the checkpoint note
 * (not verified here). Throws `RECEIPT_MALFORMED`.
 */
export function parseTlogProof(text: string): TlogProof {
  if (typeof text !== 'string') malformed(`got ${typeof text}, want text`);
  if (text.length > MAX_TLOG_PROOF_SIZE) malformed(`${text.length} characters, want at most ${MAX_TLOG_PROOF_SIZE}`);
  const blank = text.indexOf('\n\n');
  if (blank < 0) malformed('no blank line before the checkpoint');
  const lines = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  if (checkpoint.length === 0) malformed('no checkpoint after the blank line');
  if (lines.shift() !== TLOG_PROOF_HEADER) malformed(`first line must be ${TLOG_PROOF_HEADER}`);
  let extra: Uint8Array | undefined;
  if (lines[0]?.startsWith('extra ')) {
    try {
      extra = fromBase64((lines.shift() as string).slice('extra '.length), undefined, 'extra');
    } catch {
      malformed('extra: not standard padded base64');
    }
  }
  const indexLine = lines.shift();
  if (indexLine === undefined || !indexLine.startsWith('index ')) malformed('missing "index <n>" line');
  let index: bigint;
  try {
    index = parseDecimal(indexLine.slice('index '.length), 'index');
  } catch (err) {
    malformed(isLedgerError(err) ? err.message : 'bad index');
  }
  if (lines.length > MAX_PROOF_LINES) malformed(`${lines.length} proof lines, want at most ${MAX_PROOF_LINES}`);
  const inclusionProof = lines.map((l, i) => {
    try {
      return fromBase64(l, 32, `proof line ${i + 1}`);
    } catch (err) {
      return malformed(isLedgerError(err) ? err.message : `proof line ${i + 1}`);
    }
  });
  return extra === undefined ? { index, inclusionProof, checkpoint } : { index, inclusionProof, checkpoint, extra };
}

const extraSchema = z.strictObject({
  block: blockJsonSchema,
  blockConsistency: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(128),
  timestamp: stampSchema.optional(),
});

/** Guzheng's `extra`: the sealing block and its consistency proof to the proof's checkpoint, and the entry's time stamp if it has one. */
export interface GuzhengExtra {
  readonly block: Block;
  readonly blockConsistency: Uint8Array[];
  readonly timestamp?: Stamp;
}

/** parseGuzhengExtra decodes Guzheng's `extra` payload, or returns undefined if it is not one. */
export function parseGuzhengExtra(extra: Uint8Array | undefined): GuzhengExtra | undefined {
  if (extra === undefined) return undefined;
  try {
    const j = extraSchema.parse(JSON.parse(fromUtf8(extra)));
    const base = { block: parseBlock(j.block), blockConsistency: j.blockConsistency.map((h) => fromHex(h, 32)) };
    return j.timestamp === undefined ? base : { ...base, timestamp: parseStamp(j.timestamp) };
  } catch {
    return undefined;
  }
}

/** receiptToTlogProof exports a receipt as tlog-proof text (block data in `extra`). */
export function receiptToTlogProof(receipt: ParsedReceipt): string {
  const stamp = receipt.timestamp == null ? {} : { timestamp: formatStamp(receipt.timestamp) };
  const extra = canonicalJson({ block: formatBlock(receipt.block), blockConsistency: receipt.blockConsistency.map(toHex), ...stamp });
  return formatTlogProof({ index: receipt.index, inclusionProof: receipt.inclusionProof, checkpoint: receipt.checkpoint, extra });
}

/**
 * tlogProofToReceipt imports a tlog-proof plus the exact entry bytes as a receipt. Requires the
 * proof to carry Guzheng's `extra` (block data) and the entry to be a JSON object; otherwise
 * throws `RECEIPT_MALFORMED` (verify such proofs with `verifyTlogProof`, which needs no block).
 */
export function tlogProofToReceipt(text: string, entryBytes: Uint8Array, verifierKey: string): Receipt {
  const p = parseTlogProof(text);
  const extra = parseGuzhengExtra(p.extra);
  if (extra === undefined) malformed('no Guzheng block data in "extra": cannot make a full receipt');
  let entry: unknown;
  try {
    entry = JSON.parse(fromUtf8(entryBytes, 'entry'));
  } catch {
    malformed('entry: not UTF-8 JSON');
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) malformed('entry: not a JSON object');
  const receipt = buildReceipt({
    index: p.index,
    entry: entry as Record<string, unknown>,
    inclusionProof: p.inclusionProof,
    checkpoint: p.checkpoint,
    block: extra.block,
    blockConsistency: extra.blockConsistency,
    timestamp: extra.timestamp ?? null,
    verifierKey,
  });
  if (fromUtf8(canonicalJson(receipt.entry)) !== fromUtf8(entryBytes)) malformed('entry: bytes are not RFC 8785 canonical');
  return receipt;
}

