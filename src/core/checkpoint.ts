/**
 * C2SP transparency-log checkpoints (https://c2sp.org/tlog-checkpoint): a signed note whose text is
 *
 *     <origin>\n
 *     <tree size, canonical decimal>\n
 *     <root hash, base64 of 32 bytes>\n
 *     [<extension line>\n …]
 *
 * `formatCheckpoint` and `parseCheckpoint` are an exact pair (Go tlog `FormatTree`/`ParseTree`):
 * every checkpoint has exactly one spelling. A Guzheng log emits one extension line, the signed
 * block header (src/core/block-header.ts); other extension lines are parsed and returned (opaque,
 * non-empty) for forward compatibility.
 * See contracts-free-ledger/SPEC.md#checkpoints.
 */
import { LedgerError, isLedgerError } from './errors.js';
import { formatDecimal, fromBase64, fromUtf8, parseDecimal, toBase64, utf8, MAX_UINT64 } from './bytes.js';
import {
  isValidKeyName,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  type NoteSignature,
  type SignerKey,
  type VerifierKey,
} from './note.js';

/** The largest checkpoint text accepted, in bytes (Go tlog ParseTree: `len(text) > 1e6`). */
export const MAX_CHECKPOINT_SIZE = 1_000_000;
/** Size in bytes of the root hash (SHA-256, RFC 9162 §2.1.1). */
const ROOT_SIZE = 32;

const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** The three mandatory fields of a checkpoint. */
export interface Checkpoint {
  /** The log identity, which is also the name of the log's signing key. */
  readonly origin: string;
  /** The number of leaves in the tree, 0 <= size <= 2^64−1. */
  readonly size: bigint;
  /** The RFC 9162 Merkle tree head at `size`, 32 bytes. */
  readonly root: Uint8Array;
}

/** A checkpoint as parsed, with its extension lines (without newlines; usually none). */
export interface ParsedCheckpoint extends Checkpoint {
  readonly extensions: string[];
}

/** A checkpoint whose note signature by the log key was verified by {@link openCheckpoint}. */
export interface OpenedCheckpoint {
  /** The parsed checkpoint body. */
  readonly checkpoint: ParsedCheckpoint;
  /** The whole signed note, as a string (keep it: with another one it may be a fraud proof). */
  readonly note: string;
  /** The signed checkpoint text (the note text without signatures). */
  readonly text: string;
  /** The verified signature: the log key's. */
  readonly verified: NoteSignature[];
  /** Signatures by other keys, e.g. witness cosignatures, not checked. */
  readonly unverified: NoteSignature[];
}

/** Options for {@link openCheckpoint}. */
export interface OpenCheckpointOptions {
  /** The origin the caller expects; if given, a different one is `ORIGIN_MISMATCH`. */
  readonly origin?: string;
}

function malformed(message: string): never {
  throw new LedgerError('CHECKPOINT_MALFORMED', message);
}

function checkOrigin(origin: unknown, what: string): asserts origin is string {
  if (!isValidKeyName(origin)) {
    malformed(`${what}: got origin ${JSON.stringify(String(origin)).slice(0, 80)}, want non-empty, no spaces, no "+"`);
  }
}

/**
 * formatCheckpoint returns the checkpoint text `<origin>\n<size>\n<base64 root>\n`, followed by
 * its extension lines (each with a newline), the exact inverse of {@link parseCheckpoint}.
 * Requires: `origin` a valid key name (non-empty, no Unicode spaces, no `+`), `size` a bigint in
 * [0, 2^64−1], `root` 32 bytes, and extension lines (if any) non-empty, well-formed Unicode,
 * without control characters; else `CHECKPOINT_MALFORMED`. A Guzheng log writes exactly one
 * extension line, the block header (SPEC.md#signed-block-header).
 * See contracts-free-ledger/SPEC.md#checkpoints.
 */
export function formatCheckpoint(cp: Checkpoint | ParsedCheckpoint): string {
  if (typeof cp !== 'object' || cp === null) malformed(`formatCheckpoint: got ${typeof cp}, want a checkpoint`);
  checkOrigin(cp.origin, 'formatCheckpoint');
  if (typeof cp.size !== 'bigint' || cp.size < 0n || cp.size > MAX_UINT64) {
    malformed(`formatCheckpoint: got size ${String(cp.size)}, want a bigint in [0, 2^64-1]`);
  }
  if (!(cp.root instanceof Uint8Array) || cp.root.length !== ROOT_SIZE) {
    const got = cp.root instanceof Uint8Array ? `${cp.root.length} bytes` : typeof cp.root;
    malformed(`formatCheckpoint: got root of ${got}, want ${ROOT_SIZE} bytes`);
  }
  const ext: unknown = (cp as Partial<ParsedCheckpoint>).extensions ?? [];
  if (!Array.isArray(ext)) malformed('formatCheckpoint: extensions must be an array of lines');
  for (const [i, line] of (ext as unknown[]).entries()) {
    if (typeof line !== 'string' || line === '' || line.includes('\n') || CONTROL.test(line) || LONE_SURROGATE.test(line)) {
      malformed(`formatCheckpoint: extension line ${i + 1} must be non-empty text without control characters`);
    }
  }
  const lines = (ext as string[]).map((l) => `${l}\n`).join('');
  return `${cp.origin}\n${formatDecimal(cp.size)}\n${toBase64(cp.root)}\n${lines}`;
}

/**
 * parseCheckpoint parses checkpoint text strictly: at least three lines each ending in `\n`;
 * origin a valid key name; size a canonical decimal (no sign, no leading zero, <= 2^64−1); root
 * the canonical base64 of exactly 32 bytes; any further (extension) lines non-empty.
 * Requires: at most 1,000,000 bytes, well-formed Unicode, no control characters other than
 * `\n`; every violation is `CHECKPOINT_MALFORMED` with a got/want message.
 * This does not check any signature: use {@link openCheckpoint} on untrusted input.
 * See contracts-free-ledger/SPEC.md#checkpoints.
 */
export function parseCheckpoint(text: string): ParsedCheckpoint {
  if (typeof text !== 'string') malformed(`checkpoint: got ${typeof text}, want a string`);
  if (text.length > MAX_CHECKPOINT_SIZE) malformed(`checkpoint: got over ${MAX_CHECKPOINT_SIZE} bytes, want at most ${MAX_CHECKPOINT_SIZE}`);
  if (LONE_SURROGATE.test(text)) malformed('checkpoint: not valid Unicode (lone surrogate)');
  const size = utf8(text).length;
  if (size > MAX_CHECKPOINT_SIZE) malformed(`checkpoint: got ${size} bytes, want at most ${MAX_CHECKPOINT_SIZE}`);
  if (CONTROL.test(text)) malformed('checkpoint: contains a control character other than newline');
  if (!text.endsWith('\n')) malformed('checkpoint: want text ending in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) malformed(`checkpoint: got ${lines.length} lines, want at least 3`);
  const [originLine, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  checkOrigin(originLine, 'checkpoint');
  let treeSize: bigint;
  let root: Uint8Array;
  try {
    treeSize = parseDecimal(sizeLine, 'checkpoint size');
    root = fromBase64(rootLine, ROOT_SIZE, 'checkpoint root');
  } catch (err) {
    if (isLedgerError(err, 'INPUT_INVALID')) throw new LedgerError('CHECKPOINT_MALFORMED', err.message, { cause: err });
    throw err;
  }
  for (const [i, line] of extensions.entries()) {
    if (line === '') malformed(`checkpoint: extension line ${i + 1} is empty, want non-empty`);
  }
  return { origin: originLine, size: treeSize, root, extensions };
}

/**
 * signCheckpoint formats `cp` and signs it as a note with the log's signer key.
 * Requires: `cp` as for {@link formatCheckpoint} (else `CHECKPOINT_MALFORMED`); a valid signer key
 * (else `KEY_MALFORMED`) whose name equals `cp.origin` (else `ORIGIN_MISMATCH`).
 * See contracts-free-ledger/SPEC.md#checkpoints.
 */
export function signCheckpoint(cp: Checkpoint | ParsedCheckpoint, signer: string | SignerKey): string {
  const key = typeof signer === 'string' ? parseSignerKey(signer) : signer;
  if (typeof key !== 'object' || key === null) throw new LedgerError('KEY_MALFORMED', `signCheckpoint: got ${typeof key}, want a signer key`);
  const text = formatCheckpoint(cp);
  if (key.name !== cp.origin) {
    throw new LedgerError('ORIGIN_MISMATCH', `signCheckpoint: got key name ${JSON.stringify(key.name)}, want the origin ${JSON.stringify(cp.origin)}`);
  }
  return signNote(text, [key]);
}

/**
 * openCheckpoint verifies a signed checkpoint against the log's verifier key and parses it. The
 * note must carry a valid signature by exactly that key (other signatures, such as witness
 * cosignatures, are ignored and listed in `unverified`), and the checkpoint origin must equal the
 * key name and, if given, `options.origin`.
 * Requires: a valid verifier key (else `KEY_MALFORMED`). Throws `NOTE_MALFORMED`,
 * `SIGNATURE_INVALID` or `NOTE_UNVERIFIED` as {@link openNote} does (a key with the same name but
 * another key id is unknown, so `NOTE_UNVERIFIED`); `CHECKPOINT_MALFORMED` for a bad body; and
 * `ORIGIN_MISMATCH` if origin, key name and `options.origin` differ.
 * See contracts-free-ledger/SPEC.md#checkpoints.
 *
 * @example
 * The worked example (pinned by test/core/checkpoint.test.ts): the C2SP example checkpoint
 * signed by the test key with seed 32 × 0x07, `PRIVATE+KEY+example.com/behind-the-sofa+252b74d2+AQcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH`.
 * ```ts
 * const vkey = 'example.com/behind-the-sofa+252b74d2+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs';
 * const signed =
 *   'example.com/behind-the-sofa\n' +
 *   '20852163\n' +
 *   'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n' +
 *   '\n' +
 *   '— example.com/behind-the-sofa JSt00p6KTYtH8opAMF2NJ7glHT4uHMzg9iBNNDYLQta3PzLlhUjMPmDAXA2L1DXjWfKrvjQJdIEVj9Tiu9f35PqL5g8=\n';
 * const { checkpoint } = openCheckpoint(signed, vkey, { origin: 'example.com/behind-the-sofa' });
 * checkpoint.size; // 20852163n
 * checkpoint.root; // Uint8Array(32): verify inclusion and consistency proofs against this
 * ```
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifier: string | VerifierKey,
  options: OpenCheckpointOptions = {},
): OpenedCheckpoint {
  const key = typeof verifier === 'string' ? parseVerifierKey(verifier) : verifier;
  if (typeof key !== 'object' || key === null) throw new LedgerError('KEY_MALFORMED', `openCheckpoint: got ${typeof key}, want a verifier key`);
  if (options.origin !== undefined && options.origin !== key.name) {
    throw new LedgerError('ORIGIN_MISMATCH', `checkpoint: got key name ${JSON.stringify(key.name)}, want the expected origin ${JSON.stringify(options.origin)}`);
  }
  const opened = openNote(note, [key]);
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== key.name) {
    throw new LedgerError('ORIGIN_MISMATCH', `checkpoint: got origin ${JSON.stringify(checkpoint.origin)}, want ${JSON.stringify(key.name)}`);
  }
  // openNote accepted the bytes, so they are valid UTF-8.
  const noteText = typeof note === 'string' ? note : fromUtf8(note, 'note');
  return { checkpoint, note: noteText, text: opened.text, verified: opened.verified, unverified: opened.unverified };
}
