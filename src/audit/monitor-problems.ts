/**
 * What a poll of `guzheng monitor` can find short of a fraud proof (docs/audit.md#guzheng-monitor):
 * a poll that could not decide ({@link MonitorError}), misbehaviour shown by what the log serves
 * but not provable with two signed checkpoints alone ({@link MonitorAlarm}, carrying every
 * {@link MonitorProblem} with its evidence), and warnings attached to an accepted checkpoint.
 */
import type { ErrorCode } from '../core/errors.js';

/** Every kind of problem a monitor reports (a closed union, stable in `--json`). */
export type MonitorProblemKind =
  /** A served block does not verify on its own (SPEC.md#block-validity), its `hash` member is wrong, or the newest one does not seal the served checkpoint. */
  | 'block-invalid'
  /** The block served at the height of the saved head is not the block the monitor saved there. */
  | 'block-changed'
  /** Two consecutive served blocks do not link (SPEC.md#chain-rules). */
  | 'chain-broken'
  /** A height the signed checkpoints imply is not served (skipped or missing). */
  | 'blocks-gap'
  /** A page of /v1/blocks does not start at the height asked for, or its heights go back. */
  | 'blocks-out-of-order'
  /** The log signed the same tree (size and root) again under another signed text: two blocks for one tree. */
  | 'checkpoint-resigned'
  /** The log serves a smaller checkpoint than the one accepted, and no proof convicts it (a rollback, or a stale cache). */
  | 'rollback'
  /** A witness holds a checkpoint of this log that the log does not prove consistent with the one it shows the monitor. */
  | 'split-view-suspected'
  /** Monitoring a mirror's bucket: its hash tiles do not reproduce a signed checkpoint's root (an object altered or deleted). */
  | 'tile-invalid'
  /** Warning: the served checkpoint's valid cosignatures do not meet the policy's quorum (yet). */
  | 'quorum-not-met'
  /** Warning: the monitor fell too far behind to check every block since its saved head this poll. */
  | 'blocks-unchecked';

/** One problem, located, with the evidence a third party needs to see it for themselves. */
export interface MonitorProblem {
  readonly kind: MonitorProblemKind;
  /** One sentence for humans. */
  readonly message: string;
  /** The error code of the failed check (SPEC.md#errors), when one applies. */
  readonly code?: ErrorCode;
  /** The block height concerned (decimal). */
  readonly height?: string;
  readonly expected?: string;
  readonly found?: string;
  /**
   * The evidence as served and as signed: signed checkpoint notes, block JSON exactly as received,
   * the request that returned it. Plain JSON.
   */
  readonly evidence?: Readonly<Record<string, unknown>>;
}

/**
 * A poll that could not decide: exit code 2 for a local problem (bad key, unreadable or foreign
 * state file, bad policy), 1 for one with the log (unreachable, an unverifiable checkpoint, a
 * malformed or refused proof). Nothing is saved; the loop retries at the next poll.
 */
export class MonitorError extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MonitorError';
    this.exitCode = exitCode;
  }
}

/**
 * Misbehaviour the poll saw in what the log serves, with the evidence, that two signed checkpoints
 * cannot prove on their own (so no fraud proof is written): forged or missing blocks, a rollback,
 * a suspected split view. The saved state is kept; `guzheng monitor --once` exits 1 and the loop
 * reports it and goes on polling.
 */
export class MonitorAlarm extends MonitorError {
  readonly problems: readonly MonitorProblem[];
  constructor(problems: readonly MonitorProblem[]) {
    const first = problems[0];
    const blocks = first !== undefined && BLOCK_KINDS.has(first.kind);
    const what = blocks ? 'the log serves blocks that do not match its signed checkpoints' : 'the log misbehaves';
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    super(first === undefined ? what : `${what}: ${first.code ?? first.kind}: ${first.message}${more}`, 1);
    this.name = 'MonitorAlarm';
    this.problems = problems;
  }
}

const BLOCK_KINDS = new Set<MonitorProblemKind>(['block-invalid', 'block-changed', 'chain-broken', 'blocks-gap', 'blocks-out-of-order']);
