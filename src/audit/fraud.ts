/**
 * Fraud proofs: the evidence an auditor or monitor keeps when the log contradicts itself. Two
 * checkpoints, both signed by the log's key, that cannot both be views of one append-only log:
 *
 * - `same-size`: the same tree size with two different roots. Conclusive on its own.
 * - `inconsistent`: the larger checkpoint does not extend the smaller. It is *conclusive* when the
 *   enclosed consistency proof (the log's own, or computed from its stored nodes) reproduces the
 *   larger root but yields another root for the smaller size (RFC 9162 §2.1.4.2): the log's own
 *   tree then says its first `from` leaves hash to something other than what it signed. When the
 *   proof does not even reproduce the larger root (or `from` is a power of two, whose root the
 *   algorithm takes as given), the evidence is that the log failed to prove consistency: ask it
 *   for a proof; if none verifies, it forked.
 * - `shrunk`: a checkpoint served after another one but smaller than it. An append-only log only
 *   grows; but checkpoints carry no time, so this shows a rollback, not a fork, unless the two
 *   are also inconsistent.
 *
 * The file format is JSON (`format: guzheng-fraud-proof/v1`); {@link verifyFraudProof} re-checks
 * it with nothing but the log's verifier key. Mirrors tessera's `ErrInconsistency{SmallerRaw,
 * LargerRaw, Proof}`. See docs/audit.md#fraud-proofs.
 */
import { z } from 'zod';
import { equalBytes, fromHex, parseDecimal, toHex } from '../core/bytes.js';
import { openCheckpoint, type OpenedCheckpoint } from '../core/checkpoint.js';
import { SHA256_TREE, type TreeHasher } from '../core/merkle/hash.js';
import { rootsFromConsistencyProof } from '../core/merkle/verify.js';
import { parseVerifierKey, type VerifierKey } from '../core/note.js';
import { suiteOfVerifier } from '../core/suite.js';

/** The first line of every fraud proof file. */
export const FRAUD_PROOF_FORMAT = 'guzheng-fraud-proof/v1';

/** Why the two checkpoints cannot both be honest. */
export type FraudKind = 'same-size' | 'shrunk' | 'inconsistent';

/** A fraud proof, as written to disk (all numbers as canonical decimal strings). */
export interface FraudProof {
  readonly format: typeof FRAUD_PROOF_FORMAT;
  readonly kind: FraudKind;
  /** The log's verifier key both notes verify under. */
  readonly verifierKey: string;
  /** The signed note of the checkpoint trusted first (saved state, saved file, earlier block). */
  readonly trusted: string;
  /** The signed note of the checkpoint that contradicts it. */
  readonly contradicting: string;
  /** Sizes of the smaller and larger of the two checkpoints. */
  readonly from: string;
  readonly to: string;
  /** The consistency proof from `from` to `to` that failed (lowercase hex); empty if none applies. */
  readonly proof: readonly string[];
  /** True when a third party needs nothing but the log's key to be convinced (see the module comment). */
  readonly conclusive: boolean;
  /** Where the contradicting checkpoint came from (URL or data directory). */
  readonly source: string;
  /** When it was detected (UTC, milliseconds). */
  readonly detectedAt: string;
  /** One human sentence. */
  readonly detail: string;
}

const decimal = z.string().regex(/^(0|[1-9][0-9]{0,19})$/);
const fraudProofSchema = z.strictObject({
  format: z.literal(FRAUD_PROOF_FORMAT),
  kind: z.enum(['same-size', 'shrunk', 'inconsistent']),
  verifierKey: z.string().min(1).max(1000),
  trusted: z.string().min(1).max(1_000_000),
  contradicting: z.string().min(1).max(1_000_000),
  from: decimal,
  to: decimal,
  proof: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(128),
  conclusive: z.boolean(),
  source: z.string().max(4096),
  detectedAt: z.string().max(64),
  detail: z.string().max(4096),
});

/**
 * What a consistency proof between two signed checkpoints shows: `consistent` (it verifies),
 * `conclusive` (it reproduces the larger root but gives the smaller size another root), or
 * `unproven` (it does not even reproduce the larger root). `h` is the tree hashing of the log's
 * suite (SPEC.md#crypto-suites; SHA-256 when omitted). Requires: size1 < size2.
 */
export function judgeConsistency(
  size1: bigint,
  size2: bigint,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
  h: TreeHasher = SHA256_TREE,
): 'consistent' | 'conclusive' | 'unproven' {
  if (size1 === 0n) return equalBytes(root1, h.emptyRoot()) && proof.length === 0 ? 'consistent' : 'conclusive';
  let roots: { root1: Uint8Array; root2: Uint8Array };
  try {
    roots = rootsFromConsistencyProof(size1, size2, root1, proof, h);
  } catch {
    return 'unproven';
  }
  if (!equalBytes(roots.root2, root2)) return 'unproven';
  return equalBytes(roots.root1, root1) ? 'consistent' : 'conclusive';
}

/**
 * buildFraudProof classifies two opened checkpoints of one log and returns the evidence, or
 * undefined when they are consistent (equal, or the proof verifies). The proof is judged with the
 * tree hashing of the suite of `info.verifierKey` (SPEC.md#crypto-suites: SM3 for a `gm` log), the
 * key the file names and {@link verifyFraudProof} checks with. Requires: both were opened with
 * that key; `trusted` was accepted first; `proof` is what the log gave (or what its stored nodes
 * give) for min(size) → max(size).
 */
export function buildFraudProof(
  trusted: OpenedCheckpoint,
  contradicting: OpenedCheckpoint,
  proof: readonly Uint8Array[],
  info: { verifierKey: string; source: string; detectedAt: string; detail?: string },
): FraudProof | undefined {
  const a = trusted.checkpoint;
  const b = contradicting.checkpoint;
  const smaller = a.size <= b.size ? a : b;
  const larger = a.size <= b.size ? b : a;
  let kind: FraudKind;
  let conclusive: boolean;
  let detail: string;
  let usedProof: readonly Uint8Array[] = proof;
  if (a.size === b.size) {
    if (equalBytes(a.root, b.root)) return undefined;
    kind = 'same-size';
    conclusive = true;
    usedProof = [];
    detail = `two signed checkpoints of size ${a.size} with different roots`;
  } else {
    const judged = judgeConsistency(smaller.size, larger.size, smaller.root, larger.root, proof, suiteOfVerifier(info.verifierKey).tree);
    if (judged === 'consistent') {
      if (b.size > a.size) return undefined;
      kind = 'shrunk';
      conclusive = false;
      detail = `a signed checkpoint of size ${b.size} was served after one of size ${a.size}: the log went back`;
    } else {
      kind = b.size < a.size ? 'shrunk' : 'inconsistent';
      conclusive = judged === 'conclusive';
      detail = conclusive
        ? `the log's own consistency proof shows its tree of size ${larger.size} does not extend the signed checkpoint of size ${smaller.size}`
        : `the log could not prove that its checkpoint of size ${larger.size} extends the signed checkpoint of size ${smaller.size}`;
      if (kind === 'shrunk') detail = `a smaller signed checkpoint (size ${b.size}) was served after one of size ${a.size}; ${detail}`;
    }
  }
  return {
    format: FRAUD_PROOF_FORMAT,
    kind,
    verifierKey: info.verifierKey,
    trusted: trusted.note,
    contradicting: contradicting.note,
    from: smaller.size.toString(),
    to: larger.size.toString(),
    proof: usedProof.map(toHex),
    conclusive,
    source: info.source,
    detectedAt: info.detectedAt,
    detail: info.detail ?? detail,
  };
}

/** The outcome of {@link verifyFraudProof}. */
export interface FraudProofCheck {
  /** Both checkpoints are signed by the key and contradict each other as the file says. */
  readonly valid: boolean;
  /** It convinces without asking the log anything (same size, or a proof that incriminates). */
  readonly conclusive: boolean;
  readonly reason: string;
}

/**
 * verifyFraudProof re-checks a fraud proof with only the log's verifier key (which the checker
 * must already trust): both notes are checkpoints signed by that key, and they contradict each
 * other as `kind` says (same size and different roots; a later smaller checkpoint; or the
 * enclosed proof fails). Never throws for a malformed document: it is just not valid.
 */
export function verifyFraudProof(json: unknown, verifierKey: string | VerifierKey): FraudProofCheck {
  const parsed = fraudProofSchema.safeParse(json);
  if (!parsed.success) return { valid: false, conclusive: false, reason: `not a ${FRAUD_PROOF_FORMAT} document: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  const fp = parsed.data;
  let key: VerifierKey;
  let t: OpenedCheckpoint;
  let c: OpenedCheckpoint;
  try {
    key = typeof verifierKey === 'string' ? parseVerifierKey(verifierKey) : verifierKey;
    t = openCheckpoint(fp.trusted, key);
    c = openCheckpoint(fp.contradicting, key);
  } catch (err) {
    return { valid: false, conclusive: false, reason: `a checkpoint does not verify with the key: ${(err as Error).message}` };
  }
  const sizes = [t.checkpoint.size, c.checkpoint.size].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  if (parseDecimal(fp.from) !== sizes[0] || parseDecimal(fp.to) !== sizes[1]) return { valid: false, conclusive: false, reason: 'from/to do not match the two checkpoints' };
  let proof: Uint8Array[];
  try {
    proof = fp.proof.map((h) => fromHex(h, 32));
  } catch {
    return { valid: false, conclusive: false, reason: 'malformed proof hash' };
  }
  const again = buildFraudProof(t, c, proof, { verifierKey: key.text, source: fp.source, detectedAt: fp.detectedAt });
  if (again === undefined) return { valid: false, conclusive: false, reason: 'the two checkpoints are consistent' };
  if (again.kind !== fp.kind || again.conclusive !== fp.conclusive) {
    return { valid: false, conclusive: false, reason: `the checkpoints show ${again.kind}${again.conclusive ? ' (conclusive)' : ''}, the file says ${fp.kind}${fp.conclusive ? ' (conclusive)' : ''}` };
  }
  return { valid: true, conclusive: again.conclusive, reason: again.detail };
}
