/**
 * Blocks: the "blockchain" view of the log's history (SPEC.md#blocks). Every published
 * checkpoint is sealed in exactly one block
 *
 *     { height, prev, time, first, count, checkpoint }
 *
 * where `prev` is the hash of the previous block (32 zero bytes at height 0), `[first,
 * first+count)` are the leaves the checkpoint added, and `checkpoint` is the signed note. The block
 * hash is SHA-256 of the RFC 8785 form of its JSON, in which every 64-bit number is a canonical
 * decimal string. The chain lets an auditor see every checkpoint ever signed, in order, and
 * detect a gap, a reordering or a fork.
 */
import { z } from 'zod';
import { equalBytes, formatDecimal, fromHex, parseDecimal, toHex } from './bytes.js';
import { openCheckpoint, type OpenedCheckpoint } from './checkpoint.js';
import { sha256 } from './crypto.js';
import { canonicalJson } from './entry/jcs.js';
import { isReceivedAt } from './entry/text.js';
import { InconsistencyError, LedgerError, isLedgerError } from './errors.js';
import { verifyConsistency } from './merkle/verify.js';
import { emptyRoot } from './merkle/hash.js';
import type { VerifierKey } from './note.js';

/** A block, decoded. */
export interface Block {
  readonly height: bigint;
  /** Hash of the previous block; 32 zero bytes for the genesis block (height 0). */
  readonly prev: Uint8Array;
  /** When the checkpoint was signed: RFC 3339 UTC with milliseconds (`YYYY-MM-DDTHH:MM:SS.sssZ`). */
  readonly time: string;
  /** Index of the first leaf this block seals: the previous checkpoint's size (0 at genesis). */
  readonly first: bigint;
  /** How many leaves it seals; its checkpoint's size is first + count. */
  readonly count: bigint;
  /** The signed checkpoint note text. */
  readonly checkpoint: string;
}

/** The JSON form of a block: what is hashed (after RFC 8785) and what is served and stored. */
export interface BlockJson {
  height: string;
  prev: string;
  time: string;
  first: string;
  count: string;
  checkpoint: string;
}

/** The `prev` value of the genesis block. */
export const GENESIS_PREV = new Uint8Array(32);

/** Upper bound on a block's JSON checkpoint text (same as a note). */
const MAX_BLOCK_CHECKPOINT = 1_000_000;

const decimal = z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'want a canonical decimal string');

/** Zod schema of {@link BlockJson} (strict: unknown keys rejected). */
export const blockJsonSchema = z.strictObject({
  height: decimal,
  prev: z.string().regex(/^[0-9a-f]{64}$/, 'want 64 lowercase hex digits'),
  time: z.string().refine(isReceivedAt, 'want RFC 3339 UTC with milliseconds, YYYY-MM-DDTHH:MM:SS.sssZ'),
  first: decimal,
  count: decimal,
  checkpoint: z.string().min(1).max(MAX_BLOCK_CHECKPOINT),
});

function invalid(message: string): never {
  throw new LedgerError('BLOCK_INVALID', message);
}

/** formatBlock returns the JSON form of a block. */
export function formatBlock(block: Block): BlockJson {
  return {
    height: formatDecimal(block.height),
    prev: toHex(block.prev),
    time: block.time,
    first: formatDecimal(block.first),
    count: formatDecimal(block.count),
    checkpoint: block.checkpoint,
  };
}

/**
 * parseBlock decodes the JSON form of a block strictly (canonical decimals, lowercase hex,
 * millisecond UTC time, no unknown keys). Throws `BLOCK_INVALID` naming the field.
 * It does not verify the checkpoint: see {@link verifyBlock}.
 */
export function parseBlock(json: unknown): Block {
  const r = blockJsonSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    invalid(`block.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const j = r.data;
  const decimal = (text: string, what: string): bigint => {
    try {
      return parseDecimal(text, what);
    } catch (err) {
      return invalid(err instanceof Error ? err.message : `${what}: invalid`);
    }
  };
  const first = decimal(j.first, 'block.first');
  const count = decimal(j.count, 'block.count');
  if (first + count > (1n << 64n) - 1n) invalid('block: first + count exceeds 2^64-1');
  return {
    height: decimal(j.height, 'block.height'),
    prev: fromHex(j.prev, 32, 'block.prev'),
    time: j.time,
    first,
    count,
    checkpoint: j.checkpoint,
  };
}

/** blockHash returns SHA-256(JCS(formatBlock(block))), the value the next block's `prev` holds. */
export function blockHash(block: Block): Uint8Array {
  return sha256(canonicalJson(formatBlock(block)));
}

/**
 * sealBlock builds the block that follows `previous` (or the genesis block when it is undefined)
 * for a newly signed checkpoint of `size` leaves. Requires: size >= previous end; `time` as in
 * {@link Block}. It does not sign anything: the caller passes the signed note.
 */
export function sealBlock(previous: Block | undefined, checkpointNote: string, size: bigint, time: string): Block {
  const first = previous === undefined ? 0n : previous.first + previous.count;
  if (size < first) invalid(`sealBlock: size ${size} is below the previous block's end ${first}`);
  if (previous !== undefined && size === first) invalid(`sealBlock: size ${size} adds no leaves to block ${previous.height}`);
  if (!isReceivedAt(time)) invalid(`sealBlock: time ${JSON.stringify(time)}, want YYYY-MM-DDTHH:MM:SS.sssZ`);
  return {
    height: previous === undefined ? 0n : previous.height + 1n,
    prev: previous === undefined ? GENESIS_PREV.slice() : blockHash(previous),
    time,
    first,
    count: size - first,
    checkpoint: checkpointNote,
  };
}

/**
 * verifyBlock checks one block on its own: its checkpoint is signed by `verifier`, its size is
 * `first + count`, a genesis block starts at 0 with the zero `prev`, and only a genesis block may
 * seal no leaves. Returns the opened checkpoint. Throws `BLOCK_INVALID`, or the checkpoint's
 * own error (`SIGNATURE_INVALID`, `NOTE_UNVERIFIED`, `CHECKPOINT_MALFORMED`, `ORIGIN_MISMATCH`, …).
 */
export function verifyBlock(block: Block, verifier: string | VerifierKey): OpenedCheckpoint {
  const opened = openCheckpoint(block.checkpoint, verifier);
  const size = opened.checkpoint.size;
  if (size !== block.first + block.count) {
    invalid(`block ${block.height}: checkpoint size ${size}, want first + count = ${block.first + block.count}`);
  }
  if (block.height === 0n) {
    if (block.first !== 0n) invalid(`block 0: first ${block.first}, want 0`);
    if (!equalBytes(block.prev, GENESIS_PREV)) invalid('block 0: prev must be 32 zero bytes');
  } else if (block.count === 0n) {
    invalid(`block ${block.height}: seals no leaves (only the genesis block may)`);
  }
  if (size === 0n && !equalBytes(opened.checkpoint.root, emptyRoot())) invalid(`block ${block.height}: an empty tree's root must be SHA-256 of the empty string`);
  return opened;
}

/** Options for {@link verifyBlockChain}. */
export interface BlockChainOptions {
  /** The block just before `blocks[0]`, already trusted (e.g. from the auditor's saved state). */
  readonly previous?: Block;
  /**
   * Consistency proofs, one per block: `consistency[i]` proves the checkpoint of `blocks[i-1]`
   * (or `previous`) is a prefix of that of `blocks[i]`. `consistency[0]` is ignored without
   * `previous`. A failure throws {@link InconsistencyError} carrying both signed notes.
   */
  readonly consistency?: ReadonlyArray<readonly Uint8Array[] | undefined>;
  /** The auditor's own recomputed root at a size, when it has one: compared with each checkpoint. */
  readonly rootAt?: (size: bigint) => Uint8Array | undefined;
}

/** What {@link verifyBlockChain} established. */
export interface VerifiedChain {
  /** The opened checkpoint of each block, in order. */
  readonly checkpoints: OpenedCheckpoint[];
  /** The last block (the new tip). */
  readonly tip: Block;
}

/**
 * verifyBlockChain checks a contiguous segment of blocks: each block alone ({@link verifyBlock}),
 * then every link: height + 1, `prev` = hash of the previous block, `first` = previous end, time
 * never going backwards (`CHAIN_BROKEN` naming the height); optionally roots against the
 * auditor's recomputation (`BLOCK_INVALID`) and consistency proofs (`INCONSISTENT`, with evidence).
 * Requires: at least one block.
 */
export function verifyBlockChain(
  blocks: readonly Block[],
  verifier: string | VerifierKey,
  options: BlockChainOptions = {},
): VerifiedChain {
  if (blocks.length === 0) throw new LedgerError('INPUT_INVALID', 'verifyBlockChain: no blocks');
  const checkpoints: OpenedCheckpoint[] = [];
  let prev = options.previous;
  let prevOpened = prev === undefined ? undefined : verifyBlock(prev, verifier);
  blocks.forEach((block, i) => {
    const opened = verifyBlock(block, verifier);
    if (prev !== undefined && prevOpened !== undefined) {
      const broken = (what: string) => {
        throw new LedgerError('CHAIN_BROKEN', `block ${block.height}: ${what}`);
      };
      if (block.height !== prev.height + 1n) broken(`height follows ${prev.height}`);
      if (!equalBytes(block.prev, blockHash(prev))) broken(`prev is not the hash of block ${prev.height}`);
      if (block.first !== prev.first + prev.count) broken(`first ${block.first}, want ${prev.first + prev.count}`);
      if (block.time < prev.time) broken(`time ${block.time} is before block ${prev.height}'s ${prev.time}`);
      const proof = options.consistency?.[i];
      if (proof !== undefined) {
        try {
          verifyConsistency(prevOpened.checkpoint.size, opened.checkpoint.size, proof, prevOpened.checkpoint.root, opened.checkpoint.root);
        } catch (err) {
          if (!isLedgerError(err, 'PROOF_INVALID')) throw err;
          throw new InconsistencyError(
            prevOpened.note,
            opened.note,
            proof.map(toHex),
            `block ${block.height}: checkpoint is not consistent with block ${prev.height}'s`,
          );
        }
      }
    }
    const want = options.rootAt?.(opened.checkpoint.size);
    if (want !== undefined && !equalBytes(want, opened.checkpoint.root)) {
      invalid(`block ${block.height}: checkpoint root at size ${opened.checkpoint.size} differs from the recomputed root`);
    }
    checkpoints.push(opened);
    prev = block;
    prevOpened = opened;
  });
  return { checkpoints, tip: blocks[blocks.length - 1] as Block };
}
