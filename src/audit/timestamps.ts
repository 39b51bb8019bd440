/**
 * The audit's view of time (SPEC.md#time-stamps, SPEC.md#logs-created-before-signed-blocks):
 * which blocks are signed (format 2) and which are format-1 blocks whose members only the chain
 * vouches for, and every RFC 3161 token the log keeps with a block. With pinned TSA roots each
 * token is verified against H of that block's checkpoint note, H the hash of the log's suite
 * (SPEC.md#crypto-suites: SHA-256 for `c2sp`, SM3 with its OID for `gm`, from the pinned key); a
 * token that fails is a problem of the log (it kept a token it should have refused, or the token
 * or block was altered).
 * Without pinned roots the tokens are counted and reported unverified.
 */
import { stampImprint } from '../core/stamp.js';
import { isLedgerError } from '../core/errors.js';
import { verifyTimestampToken } from '../verifier/timestamp.js';
import { noteSignedBy, type VerifierKey } from '../core/note.js';
import { suiteOfKey, type CryptoSuite } from '../core/suite.js';
import type { Problem } from './report.js';

/** What the audit reports about block formats and time stamps. */
export interface TimeReport {
  /** Format-2 blocks (every member signed) and format-1 blocks (sealed before blocks were signed). */
  readonly signedBlocks: bigint;
  readonly unsignedBlocks: bigint;
  /** Height of the first signed block after format-1 ones (the upgrade), if any. */
  readonly upgradedAt?: bigint;
  /** Time-stamp tokens kept by the log, and how many verified against the pinned TSA roots. */
  readonly tokens: number;
  readonly verifiedTokens: number;
  /** Whether TSA roots were pinned (without them no token is verified). */
  readonly tsaRootsPinned: boolean;
}

interface Pending {
  readonly height: bigint;
  readonly note: string;
  readonly token: Uint8Array;
}

/** How many tokens are verified at once (WebCrypto work is off the main thread's hot loop anyway). */
const PARALLEL = 16;

export class TimeAudit {
  readonly #roots: readonly Uint8Array[];
  #signed = 0n;
  #unsigned = 0n;
  #upgradedAt: bigint | undefined;
  #lastFormat: 1 | 2 | undefined;
  readonly #pending: Pending[] = [];
  #tokens = 0;

  readonly #logKey: VerifierKey;
  /** The log's suite: the imprint's hash and its algorithm in the token. */
  readonly #suite: CryptoSuite;

  constructor(roots: readonly Uint8Array[], logKey: VerifierKey) {
    this.#roots = roots;
    this.#logKey = logKey;
    this.#suite = suiteOfKey(logKey);
  }

  /** block records one block of the chain (in height order) and the tokens kept with it. */
  block(height: bigint, format: 1 | 2, note: string, tokens: readonly Uint8Array[]): void {
    if (format === 2) this.#signed++;
    else this.#unsigned++;
    if (format === 2 && this.#lastFormat === 1 && this.#upgradedAt === undefined) this.#upgradedAt = height;
    this.#lastFormat = format;
    if (tokens.length === 0) return;
    // The imprint covers the note as the log signed it: served notes may carry cosignatures.
    let own: string;
    try {
      own = noteSignedBy(note, this.#logKey);
    } catch {
      own = note; // a note that does not split: the block check reports it; the token fails too
    }
    for (const token of tokens) {
      this.#tokens++;
      if (this.#roots.length > 0) this.#pending.push({ height, note: own, token });
    }
  }

  /** finish verifies the collected tokens (with pinned roots) and returns the problems and the summary. */
  async finish(): Promise<{ problems: Problem[]; report: TimeReport }> {
    const problems: Problem[] = [];
    let verified = 0;
    for (let i = 0; i < this.#pending.length; i += PARALLEL) {
      await Promise.all(
        this.#pending.slice(i, i + PARALLEL).map(async (p) => {
          try {
            await verifyTimestampToken(p.token, { imprint: stampImprint(p.note, this.#suite), imprintAlg: this.#suite.digestAlg, trustedRoots: this.#roots });
            verified++;
          } catch (err) {
            if (!isLedgerError(err)) throw err;
            problems.push({
              kind: 'timestamp-invalid',
              height: p.height,
              code: err.code,
              message: `the time-stamp token kept with block ${p.height} does not verify against its checkpoint and the pinned TSA roots: ${err.message}`,
            });
          }
        }),
      );
    }
    // Tokens verify concurrently: report their problems in chain order, whatever finished first.
    problems.sort((a, b) => (a.height === b.height ? 0 : (a.height ?? 0n) < (b.height ?? 0n) ? -1 : 1));
    return {
      problems,
      report: {
        signedBlocks: this.#signed,
        unsignedBlocks: this.#unsigned,
        ...(this.#upgradedAt !== undefined ? { upgradedAt: this.#upgradedAt } : {}),
        tokens: this.#tokens,
        verifiedTokens: verified,
        tsaRootsPinned: this.#roots.length > 0,
      },
    };
  }
}

/** describeTime renders the time summary lines of a human audit report. */
export function describeTime(t: TimeReport): string[] {
  const lines: string[] = [];
  if (t.unsignedBlocks > 0n) {
    const upgrade = t.upgradedAt !== undefined ? `; the signed block ${t.upgradedAt} links to them, so they are authenticated as the log stated them at the upgrade` : '';
    lines.push(`  blocks     ${t.signedBlocks} signed, ${t.unsignedBlocks} format-1 (sealed before blocks were signed: their height, prev and time are not signed${upgrade})`);
  }
  if (t.tokens > 0) {
    lines.push(
      t.tsaRootsPinned
        ? `  time       ${t.verifiedTokens} of ${t.tokens} RFC 3161 time-stamp tokens verify against the pinned TSA roots`
        : `  time       ${t.tokens} RFC 3161 time-stamp tokens not verified: no TSA root pinned (give --tsa-ca)`,
    );
  }
  return lines;
}
