/**
 * Guzheng's offline verifier: browser-safe, no network, depends on src/core only.
 * See contracts-free-ledger/SPEC.md#verification.
 */
export { verifyReceipt, verifyTlogProof, type Content, type VerifyOptions } from './verify.js';
export {
  verifyBundle,
  verifyDocument,
  readProofDocument,
  BUNDLE_CHECK_IDS,
  BUNDLE_CHECK_TITLES,
  type BundleCheck,
  type BundleCheckId,
  type BundleFacts,
  type BundleItemReport,
  type BundleReport,
  type BundleVerifyOptions,
  type DocumentReport,
  type DocumentVerifyOptions,
  type LooseContent,
  type ProofDocument,
} from './bundle.js';
export { parseBundle, bundleReceipts, manifestLine, BUNDLE_FORMAT, BUNDLE_FORMAT_V1, type Bundle, type ManifestLine, type ParsedBundle } from '../core/bundle.js';
export { CHECK_IDS, CHECK_TITLES, type Check, type CheckId, type CheckStatus, type ReportFacts, type TimestampFact, type TimestampTokenFact, type VerificationReport } from './report.js';
export { verifyInclusion, verifyConsistency, rootFromInclusionProof } from '../core/merkle/verify.js';
export { openCheckpoint, parseCheckpoint, type Checkpoint, type OpenedCheckpoint } from '../core/checkpoint.js';
export { openNote, parseVerifierKey, type VerifierKey } from '../core/note.js';
export { parseReceipt, RECEIPT_FORMAT, RECEIPT_FORMAT_V1, type Receipt } from '../core/receipt.js';
export { stampImprint, type Stamp } from '../core/stamp.js';
export { parseTlogProof, formatTlogProof, receiptToTlogProof } from '../core/tlog-proof.js';
export { parseBlock, blockHash, blockOfCheckpoint, verifyBlock, verifyBlockChain, BLOCK_FORMAT_V2, type Block } from '../core/block.js';
export { decodeEntry, digestBytes, digestRecord, type Digest, type Entry } from '../core/entry/index.js';
export { LedgerError, InconsistencyError, type ErrorCode } from '../core/errors.js';
export {
  parsePolicy,
  evaluateQuorum,
  verifyWithPolicy,
  type Policy,
  type PolicyWitness,
  type PolicyGroup,
  type QuorumResult,
  type WitnessOutcome,
  type GroupOutcome,
  type PolicyVerified,
} from '../core/policy.js';
export {
  openCosigned,
  verifyCosignature,
  parseWitnessVerifierKey,
  type CosignedCheckpoint,
  type ValidCosignature,
  type FailedCosignature,
  type WitnessVerifierKey,
} from '../core/cosignature.js';
