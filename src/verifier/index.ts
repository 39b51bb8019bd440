/**
 * Guzheng's offline verifier: browser-safe, no network, depends on src/core only.
 * See contracts-free-ledger/SPEC.md#verification.
 */
export { verifyReceipt, verifyTlogProof, type Content, type VerifyOptions } from './verify.js';
export { CHECK_IDS, CHECK_TITLES, type Check, type CheckId, type CheckStatus, type ReportFacts, type VerificationReport } from './report.js';
export { verifyInclusion, verifyConsistency, rootFromInclusionProof } from '../core/merkle/verify.js';
export { openCheckpoint, parseCheckpoint, type Checkpoint, type OpenedCheckpoint } from '../core/checkpoint.js';
export { openNote, parseVerifierKey, type VerifierKey } from '../core/note.js';
export { parseReceipt, RECEIPT_FORMAT, type Receipt } from '../core/receipt.js';
export { parseTlogProof, formatTlogProof, receiptToTlogProof } from '../core/tlog-proof.js';
export { parseBlock, blockHash, verifyBlock, verifyBlockChain, type Block } from '../core/block.js';
export { decodeEntry, digestBytes, digestRecord, type Digest, type Entry } from '../core/entry/index.js';
export { LedgerError, InconsistencyError, type ErrorCode } from '../core/errors.js';
