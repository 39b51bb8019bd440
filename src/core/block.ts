/**
 * Blocks: the "blockchain" view of the log's history (SPEC.md#blocks). Every published
 * checkpoint is sealed in exactly one block
 *
 *     { format, height, prev, time, first, count, checkpoint }
 *
 * where `prev` is the hash of the previous block (32 zero bytes at height 0), `[first,
 * first+count)` are the leaves the checkpoint added, and `checkpoint` is the signed note.
 *
 * Format 2 (`format: "guzheng-block/v2"`, what the log seals) puts every member under the log's
 * signature: the checkpoint carries the block header extension line (src/core/block-header.ts),
 * each member must equal what it says, and the block hash is SHA-256 of the signed checkpoint
 * text, so the chain of hashes from genesis to the head is signed too. Format 1 (no `format`
 * member, sealed before blocks were signed) authenticates only its checkpoint; its hash is
 * SHA-256 of the RFC 8785 form of its JSON, and its height, prev and time are the log's unsigned
 * word. The chain lets an auditor see every checkpoint ever signed, in order, and detect a gap, a
 * reordering or a fork.
 */
import { z } from 'zod';
import { equalBytes, formatDecimal, fromHex, parseDecimal, toHex, utf8 } from './bytes.js';
import { findBlockHeader, formatBlockHeader } from './block-header.js';
import { openCheckpoint, parseCheckpoint, signCheckpoint, type OpenedCheckpoint } from './checkpoint.js';
import { canonicalJson } from './entry/jcs.js';
import { isReceivedAt } from './entry/text.js';
import { InconsistencyError, LedgerError, isLedgerError } from './errors.js';
import { verifyConsistency } from './merkle/verify.js';
import { C2SP, suiteOfSigner, suiteOfVerifier, type CryptoSuite } from './suite.js';
import { parseSignerKey, splitNote, type SignerKey, type VerifierKey } from './note.js';

/** The `format` member of a format-2 block; format-1 blocks have none. */
export const BLOCK_FORMAT_V2 = 'guzheng-block/v2';

/** A block, decoded. */
export interface Block {
  /** 2: every member signed (the block header); 1: a block sealed before blocks were signed. */
  readonly format: 1 | 2;
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

/** The JSON form of a block: what is served and stored (and, for format 1, hashed after RFC 8785). */
export interface BlockJson {
  /** Present (and exactly {@link BLOCK_FORMAT_V2}) for format 2 only. */
  format?: typeof BLOCK_FORMAT_V2;
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

/** Zod schema of {@link BlockJson} (strict: unknown keys rejected; `format` only as format 2's). */
export const blockJsonSchema = z.strictObject({
  format: z.literal(BLOCK_FORMAT_V2).optional(),
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

/** formatBlock returns the JSON form of a block (members in the order of {@link BlockJson}). */
export function formatBlock(block: Block): BlockJson {
  const body = {
    height: formatDecimal(block.height),
    prev: toHex(block.prev),
    time: block.time,
    first: formatDecimal(block.first),
    count: formatDecimal(block.count),
    checkpoint: block.checkpoint,
  };
  return block.format === 2 ? { format: BLOCK_FORMAT_V2, ...body } : body;
}

/**
 * parseBlock decodes the JSON form of a block strictly (canonical decimals, lowercase hex,
 * millisecond UTC time, no unknown keys). Throws `BLOCK_INVALID` naming the field.
 * It does not verify the checkpoint, nor compare the members with the block header: see
 * {@link verifyBlock}.
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
    format: j.format === BLOCK_FORMAT_V2 ? 2 : 1,
    height: decimal(j.height, 'block.height'),
    prev: fromHex(j.prev, 32, 'block.prev'),
    time: j.time,
    first,
    count,
    checkpoint: j.checkpoint,
  };
}

/**
 * signedText returns the checkpoint text a format-2 block's hash covers: the note text as signed,
 * without the blank line and signatures (so cosignatures added later do not change it).
 * Throws `BLOCK_INVALID` for a checkpoint that is not a note.
 */
function signedText(block: Block): string {
  try {
    return splitNote(block.checkpoint).text;
  } catch (err) {
    if (isLedgerError(err)) invalid(`block ${block.height}: checkpoint: ${err.message}`);
    throw err;
  }
}

/**
 * blockHash returns the value the next block's `prev` holds: for format 2, H of the signed
 * checkpoint text; for format 1, H(JCS(formatBlock(block))); H is the log's suite's hash
 * (SHA-256 unless given: format-1 blocks are always `c2sp`). See SPEC.md#block-hash.
 */
export function blockHash(block: Block, suite: CryptoSuite = C2SP): Uint8Array {
  return block.format === 2 ? suite.hash(utf8(signedText(block))) : suite.hash(canonicalJson(formatBlock(block)));
}

/** What the log signs and seals next: the tree it has and the time of its clock. */
export interface SealInput {
  readonly signer: SignerKey | string;
  readonly size: bigint;
  readonly root: Uint8Array;
  /** `YYYY-MM-DDTHH:MM:SS.sssZ`; the caller keeps it from going backwards. */
  readonly time: string;
}

function nextPosition(previous: Block | undefined, size: bigint, time: string, suite: CryptoSuite): { height: bigint; prev: Uint8Array; first: bigint } {
  const first = previous === undefined ? 0n : previous.first + previous.count;
  if (size < first) invalid(`sealBlock: size ${size} is below the previous block's end ${first}`);
  if (previous !== undefined && size === first) invalid(`sealBlock: size ${size} adds no leaves to block ${previous.height}`);
  if (!isReceivedAt(time)) invalid(`sealBlock: time ${JSON.stringify(time)}, want YYYY-MM-DDTHH:MM:SS.sssZ`);
  return { height: previous === undefined ? 0n : previous.height + 1n, prev: previous === undefined ? GENESIS_PREV.slice() : blockHash(previous, suite), first };
}

/**
 * sealBlock signs the checkpoint of the tree (`size`, `root`) with the block header of the block
 * that follows `previous` (the genesis block when undefined) and returns that format-2 block.
 * `previous` may be a format-1 block: the first signed block of an upgraded log links to it.
 * Requires: size >= previous end, and > it after genesis; `time` as in {@link Block}; a signer
 * key (its name is the origin). Throws `BLOCK_INVALID` / the checkpoint's errors otherwise.
 */
export function sealBlock(previous: Block | undefined, input: SealInput): Block {
  const signer = typeof input.signer === 'string' ? parseSignerKey(input.signer) : input.signer;
  const { height, prev, first } = nextPosition(previous, input.size, input.time, suiteOfSigner(signer));
  const header = formatBlockHeader({ height, first, time: input.time, prev });
  const checkpoint = signCheckpoint({ origin: signer.name, size: input.size, root: input.root, extensions: [header] }, signer);
  return { format: 2, height, prev, time: input.time, first, count: input.size - first, checkpoint };
}

/**
 * sealLegacyBlock builds a format-1 block around an already signed checkpoint without a block
 * header, as the log did before blocks were signed. The log never calls it: it exists for the
 * format-1 vectors and tests of logs created in that format. Requires as {@link sealBlock}.
 */
export function sealLegacyBlock(previous: Block | undefined, checkpointNote: string, size: bigint, time: string): Block {
  // Format-1 blocks predate the gm suite: always SHA-256.
  const { height, prev, first } = nextPosition(previous, size, time, C2SP);
  return { format: 1, height, prev, time, first, count: size - first, checkpoint: checkpointNote };
}

/**
 * verifyBlock checks one block on its own: its checkpoint is signed by `verifier`, its size is
 * `first + count`, a genesis block starts at 0 with the zero `prev`, only a genesis block may
 * seal no leaves; for format 2, the checkpoint carries exactly one block header and every member
 * equals it; for format 1, the checkpoint carries none (a signed block cannot pass as unsigned).
 * Returns the opened checkpoint. Throws `BLOCK_INVALID`, or the checkpoint's own error
 * (`SIGNATURE_INVALID`, `NOTE_UNVERIFIED`, `CHECKPOINT_MALFORMED`, `ORIGIN_MISMATCH`, …).
 * See SPEC.md#block-validity.
 */
export function verifyBlock(block: Block, verifier: string | VerifierKey): OpenedCheckpoint {
  const opened = openCheckpoint(block.checkpoint, verifier);
  const size = opened.checkpoint.size;
  if (size !== block.first + block.count) {
    invalid(`block ${block.height}: checkpoint size ${size}, want first + count = ${block.first + block.count}`);
  }
  const header = findBlockHeader(opened.checkpoint.extensions);
  if (block.format === 1) {
    if (header !== undefined) invalid(`block ${block.height}: its checkpoint carries a signed block header, so it must be a ${BLOCK_FORMAT_V2} block`);
  } else {
    if (header === undefined) invalid(`block ${block.height}: its checkpoint carries no signed block header`);
    const differs = (member: string, signed: string, got: string) => invalid(`block ${block.height}: ${member} ${got} differs from the signed block header's ${signed}`);
    if (header.height !== block.height) differs('height', `${header.height}`, `${block.height}`);
    if (header.first !== block.first) differs('first', `${header.first}`, `${block.first}`);
    if (header.time !== block.time) differs('time', header.time, block.time);
    if (!equalBytes(header.prev, block.prev)) differs('prev', toHex(header.prev), toHex(block.prev));
  }
  if (block.height === 0n) {
    if (block.first !== 0n) invalid(`block 0: first ${block.first}, want 0`);
    if (!equalBytes(block.prev, GENESIS_PREV)) invalid('block 0: prev must be 32 zero bytes');
  } else if (block.count === 0n) {
    invalid(`block ${block.height}: seals no leaves (only the genesis block may)`);
  }
  if (size === 0n && !equalBytes(opened.checkpoint.root, suiteOfVerifier(verifier).tree.emptyRoot())) invalid(`block ${block.height}: an empty tree's root must be the hash of the empty string`);
  return opened;
}

/**
 * blockOfCheckpoint rebuilds the format-2 block a signed checkpoint note seals, from its block
 * header (no signature is checked here: pass the result to {@link verifyBlock}). Throws
 * `BLOCK_INVALID` for a note without a header, `CHECKPOINT_MALFORMED` / `NOTE_MALFORMED` for a
 * bad note.
 */
export function blockOfCheckpoint(note: string): Block {
  const cp = parseCheckpoint(splitNote(note).text);
  const header = findBlockHeader(cp.extensions);
  if (header === undefined) invalid('checkpoint: no signed block header');
  if (cp.size < header.first) invalid(`checkpoint: size ${cp.size} is below the block header's first ${header.first}`);
  return { format: 2, height: header.height, prev: header.prev, time: header.time, first: header.first, count: cp.size - header.first, checkpoint: note };
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
  const suite = suiteOfVerifier(verifier);
  let prev = options.previous;
  let prevOpened = prev === undefined ? undefined : verifyBlock(prev, verifier);
  blocks.forEach((block, i) => {
    const opened = verifyBlock(block, verifier);
    if (prev !== undefined && prevOpened !== undefined) {
      const broken = (what: string) => {
        throw new LedgerError('CHAIN_BROKEN', `block ${block.height}: ${what}`);
      };
      if (block.height !== prev.height + 1n) broken(`height follows ${prev.height}`);
      if (!equalBytes(block.prev, blockHash(prev, suite))) broken(`prev is not the hash of block ${prev.height}`);
      if (block.first !== prev.first + prev.count) broken(`first ${block.first}, want ${prev.first + prev.count}`);
      if (block.time < prev.time) broken(`time ${block.time} is before block ${prev.height}'s ${prev.time}`);
      if (block.format < prev.format) broken(`a format-1 block follows the signed block ${prev.height}`);
      const proof = options.consistency?.[i];
      if (proof !== undefined) {
        try {
          verifyConsistency(prevOpened.checkpoint.size, opened.checkpoint.size, proof, prevOpened.checkpoint.root, opened.checkpoint.root, suite.tree);
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
