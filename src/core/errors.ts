/**
 * Error classes for the ledger core. Three kinds, never mixed (STYLE.md §4):
 *
 * - a failed proof or signature is ONE opaque code (`PROOF_INVALID`, `SIGNATURE_INVALID`):
 *   it never hints which hash was wrong, like Go tlog's `errProofFailed`;
 * - bad input is a coded {@link LedgerError} whose message says what was got and what was wanted;
 * - a broken internal invariant is a plain `Error('core: bad math …')` and is a bug.
 *
 * The codes are a closed union so callers (HTTP, CLI, the verification report) can switch on them
 * exhaustively. See contracts-free-ledger/SPEC.md#errors.
 */

/** Every error code the core and verifier can produce. */
export type ErrorCode =
  /** Malformed argument: wrong type, length, range or encoding. */
  | 'INPUT_INVALID'
  /** An inclusion or consistency proof does not verify. Deliberately opaque. */
  | 'PROOF_INVALID'
  /** A signed note is malformed (encoding, control characters, layout, size or signature caps). */
  | 'NOTE_MALFORMED'
  /** A note carries no verified signature from any trusted key. */
  | 'NOTE_UNVERIFIED'
  /** A signature by a trusted key (matching name and key id) does not verify. */
  | 'SIGNATURE_INVALID'
  /** A signer or verifier key string is malformed. */
  | 'KEY_MALFORMED'
  /** A checkpoint body is malformed (origin, size or root line). */
  | 'CHECKPOINT_MALFORMED'
  /** A checkpoint is from another log than the one expected. */
  | 'ORIGIN_MISMATCH'
  /** An entry does not decode, is not canonical, is too large or fails its schema. */
  | 'ENTRY_INVALID'
  /** The content (file, record or digest) does not match the entry's digest. */
  | 'DIGEST_MISMATCH'
  /** A block is malformed or its fields contradict its checkpoint. */
  | 'BLOCK_INVALID'
  /** Blocks do not link: wrong prev hash, height gap, first/count discontinuity. */
  | 'CHAIN_BROKEN'
  /** A receipt or tlog-proof document is malformed. */
  | 'RECEIPT_MALFORMED'
  /** Two signed checkpoints cannot both be views of one append-only log (evidence attached). */
  | 'INCONSISTENT'
  /** An RFC 3161 time-stamp token is malformed, its signature or imprint does not verify, or its signer lacks the critical timeStamping key usage. */
  | 'TIMESTAMP_INVALID'
  /** An RFC 3161 time-stamp token verifies, but its certificate does not chain to any pinned TSA root. */
  | 'TIMESTAMP_UNTRUSTED'
  /** A witness policy (C2SP tlog-policy) is malformed. */
  | 'POLICY_MALFORMED'
  /** A checkpoint does not carry the valid cosignatures its witness policy requires. */
  | 'QUORUM_NOT_MET';

/** A coded error from the ledger core. `code` is stable API; `message` is for humans. */
export class LedgerError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerError';
    this.code = code;
  }
}

/**
 * InconsistencyError is the evidence of misbehaviour: two checkpoints both signed by the log's key,
 * and the consistency proof between them that failed. When the proof came from the log itself
 * (a monitor or auditor asked for it), the log is forked or serving false proofs: either way the
 * pair of signed notes is what a third party needs. Mirrors tessera's
 * `ErrInconsistency{SmallerRaw, LargerRaw, Proof}`.
 */
export class InconsistencyError extends LedgerError {
  /** The signed note text of the smaller (or equal-size) checkpoint. */
  readonly smaller: string;
  /** The signed note text of the larger checkpoint. */
  readonly larger: string;
  /** The consistency proof that failed, lowercase hex; empty when none could apply. */
  readonly proof: string[];
  constructor(smaller: string, larger: string, proof: string[], message: string) {
    super('INCONSISTENT', message);
    this.name = 'InconsistencyError';
    this.smaller = smaller;
    this.larger = larger;
    this.proof = proof;
  }
}

/** Narrow an unknown thrown value to a LedgerError with one of `codes` (any code if omitted). */
export function isLedgerError(err: unknown, ...codes: ErrorCode[]): err is LedgerError {
  return err instanceof LedgerError && (codes.length === 0 || codes.includes(err.code));
}

/** Throw `INPUT_INVALID` with a got/want message. */
export function badInput(message: string): never {
  throw new LedgerError('INPUT_INVALID', message);
}

/** The one opaque proof failure (Go tlog: `errProofFailed`). */
export function proofFailed(): never {
  throw new LedgerError('PROOF_INVALID', 'invalid proof');
}
