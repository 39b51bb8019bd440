/**
 * The audit's check of witness cosignatures against a policy (SPEC.md#witnesses): for every block,
 * the cosignature lines the log keeps (or serves) with its checkpoint are sorted out against the
 * policy's witnesses. A line by a policy witness that does not verify is a problem (the log keeps
 * only verified lines, so it was altered); the newest checkpoint cosigned to quorum is reported;
 * a log none of whose checkpoints meets the quorum fails the audit.
 */
import { openCosigned } from '../core/cosignature.js';
import { isLedgerError } from '../core/errors.js';
import type { VerifierKey } from '../core/note.js';
import { evaluateQuorum, type Policy } from '../core/policy.js';
import type { Problem } from './report.js';

/** What the audit reports about witnesses. */
export interface WitnessReport {
  readonly quorum: string;
  /** Blocks whose checkpoint is cosigned to quorum. */
  readonly blocksMeetingQuorum: bigint;
  /** The newest of them: its height and size. */
  readonly newest?: { readonly height: bigint; readonly size: bigint };
}

export class WitnessAudit {
  readonly #policy: Policy;
  readonly #key: VerifierKey;
  #met = 0n;
  #newest: { height: bigint; size: bigint } | undefined;
  readonly problems: Problem[] = [];

  constructor(policy: Policy, key: VerifierKey) {
    this.#policy = policy;
    this.#key = key;
  }

  /** block sorts out the cosignatures of one block's note (checkpoint with its cosignature lines). */
  block(height: bigint, size: bigint, note: string): void {
    let c;
    try {
      c = openCosigned(note, this.#key, this.#policy.witnesses.map((w) => w.key));
    } catch (err) {
      if (isLedgerError(err)) return; // the block checks report a note that does not open
      throw err;
    }
    for (const f of c.failed) {
      this.problems.push({ kind: 'cosignature-invalid', height, code: f.code, message: `block ${height}: the cosignature kept for witness ${f.name} does not verify over its checkpoint: ${f.message}`, found: f.line });
    }
    if (evaluateQuorum(this.#policy, c.cosignatures).met) {
      this.#met++;
      if (this.#newest === undefined || size >= this.#newest.size) this.#newest = { height, size };
    }
  }

  /** finish returns the summary, adding a problem when no checkpoint meets the quorum. */
  finish(): { problems: Problem[]; report: WitnessReport } {
    if (this.#newest === undefined) {
      this.problems.push({ kind: 'quorum-not-met', message: `no checkpoint of this log is cosigned to the policy's quorum ${this.#policy.quorum}` });
    }
    return { problems: this.problems, report: { quorum: this.#policy.quorum, blocksMeetingQuorum: this.#met, ...(this.#newest ? { newest: this.#newest } : {}) } };
  }
}

/** describeWitnesses renders the witness summary line of a human audit report. */
export function describeWitnesses(w: WitnessReport): string {
  const newest = w.newest === undefined ? 'none' : `the newest at height ${w.newest.height} (size ${w.newest.size})`;
  return `  witnesses  ${w.blocksMeetingQuorum} checkpoint(s) cosigned to quorum ${w.quorum}; ${newest}`;
}
