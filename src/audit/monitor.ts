/**
 * The monitor (`guzheng monitor`, docs/audit.md#guzheng-monitor): follows a live log's
 * `/checkpoint`. On every poll, whether the checkpoint moved or not, it
 *
 * 1. verifies the checkpoint's signature with the pinned key;
 * 2. when it differs from the last one accepted (the saved state), asks the log to prove it extends
 *    it (`GET /v1/proof/consistency?from=&to=`, RFC 9162 §2.1.4);
 * 3. with a witness policy, compares it with every witness's latest cosigned checkpoint
 *    (monitor-witnesses.ts);
 * 4. checks the blocks served at /v1/blocks from the saved head to the block sealing it
 *    (monitor-served.ts, SPEC.md#blocks), so a forged block is caught even while the log is idle;
 * 5. with a policy, checks the checkpoint's cosignatures meet the quorum (a warning if not);
 * 6. only then saves it, atomically.
 *
 * Every hash (consistency proofs, the empty tree, block hashes) is the log's crypto suite's, taken
 * from the pinned key (SPEC.md#crypto-suites: SM3 for a `gm` log), never from what the log serves.
 *
 * Outcomes, strongest first: a **fraud proof** (written to a file) when two checkpoints signed by
 * the log's key convict it on their own or with the log's own failing consistency proof
 * (SPEC.md#fraud-proof); an **alarm** ({@link MonitorAlarm}) for misbehaviour in what it serves
 * that signed checkpoints alone cannot prove (forged, missing or reordered blocks, a rollback, a
 * suspected split view), with the evidence; an **error** ({@link MonitorError}) when the poll
 * could not decide, e.g. the log was unreachable: never taken as evidence. Nothing is saved
 * unless the poll succeeds. The state file is monitor-state.ts's.
 */
import { toHex } from '../core/bytes.js';
import { blockHash, type Block } from '../core/block.js';
import { openCheckpoint, type OpenedCheckpoint } from '../core/checkpoint.js';
import { formatReceivedAt } from '../core/entry/text.js';
import { parseVerifierKey, type VerifierKey } from '../core/note.js';
import type { Policy } from '../core/policy.js';
import { suiteOfKey } from '../core/suite.js';
import { buildFraudProof, judgeConsistency, type FraudProof } from './fraud.js';
import { MonitorAlarm, MonitorError, type MonitorProblem } from './monitor-problems.js';
import { ApiLog, judgeFromLog, type LogReader, type ProofAnswer } from './monitor-log.js';
import { checkServedBlocks } from './monitor-served.js';
import { readMonitorState, saveMonitorState, writeFileAtomic } from './monitor-state.js';
import { checkQuorum, compareWitnessViews } from './monitor-witnesses.js';
import { LogClient } from './remote.js';
import { AuditAbort } from './source.js';

export { MonitorAlarm, MonitorError, type MonitorProblem, type MonitorProblemKind } from './monitor-problems.js';
export { MONITOR_STATE_FORMAT, readMonitorState, writeFileAtomic, type MonitorState, type SavedState } from './monitor-state.js';
export { MAX_BLOCKS_PER_POLL } from './monitor-served.js';

/** Options of {@link monitorOnce} and {@link runMonitor}. */
export interface MonitorOptions {
  /** The log's base URL. */
  readonly url: string;
  /** The log's verifier key, pinned out of band. */
  readonly verifierKey: string;
  /** Where the last verified checkpoint is kept. */
  readonly stateFile: string;
  /** Where a fraud proof is written (default `<stateFile>.fraud-proof.json`). */
  readonly fraudProofFile?: string;
  readonly apiKey?: string;
  /** The fetch used for the log and the witnesses (default global fetch). */
  readonly fetch?: typeof fetch;
  readonly clock?: () => Date;
  /** Attempts per request for transient failures (default 3). */
  readonly attempts?: number;
  /**
   * A witness policy (C2SP tlog-policy). On every poll the served checkpoint's cosignatures are
   * checked against its quorum (a warning when not met), and every witness with a URL is asked for
   * its latest cosigned checkpoint of this log, which must be consistent with what the log shows
   * this monitor (a split view is a fraud proof, or an alarm when not conclusive).
   */
  readonly policy?: Policy;
  /**
   * Where to read the log, when not from the service at `url` (which still names it in the state
   * file): e.g. the mirror's bucket (src/audit/bucket-log.ts).
   */
  readonly log?: LogReader;
}

/** The block sealing the accepted checkpoint. */
export interface MonitorHead {
  readonly height: bigint;
  /** Its block hash (SPEC.md#block-hash), lowercase hex. */
  readonly hash: string;
  readonly time: string;
  /**
   * False for a format-1 block: its time is the operator's unsigned word, to be reported as such
   * (SPEC.md#logs-created-before-signed-blocks).
   */
  readonly timeSigned: boolean;
}

/** What every accepted poll checked. */
export interface MonitorChecked {
  readonly head: MonitorHead;
  /** Heights of the served blocks checked this poll. */
  readonly blocks: { readonly from: bigint; readonly to: bigint };
  /** The checkpoint was accepted, but: the quorum is not met, or blocks were left unchecked. */
  readonly warnings: readonly MonitorProblem[];
}

/** What one poll found. */
export type MonitorOutcome =
  | ({ readonly status: 'initialized'; readonly size: bigint; readonly root: string } & MonitorChecked)
  | ({ readonly status: 'unchanged'; readonly size: bigint } & MonitorChecked)
  | ({ readonly status: 'advanced'; readonly from: bigint; readonly to: bigint; readonly root: string } & MonitorChecked)
  | { readonly status: 'fraud'; readonly proof: FraudProof; readonly file: string };

/**
 * monitorOnce polls the log once (see the module comment) and saves the checkpoint only if every
 * check passed. Returns the outcome (writing the fraud proof file for `fraud`). Throws
 * {@link MonitorAlarm} for misbehaviour without a fraud proof, {@link MonitorError} when it cannot
 * decide; nothing is saved then.
 */
export async function monitorOnce(o: MonitorOptions): Promise<MonitorOutcome> {
  let key: VerifierKey;
  try {
    key = parseVerifierKey(o.verifierKey);
  } catch (err) {
    throw new MonitorError(`the verifier key is malformed: ${(err as Error).message}`, 2, { cause: err });
  }
  const now = (o.clock ?? (() => new Date()))();
  const saved = readMonitorState(o.stateFile, key);
  const client = o.log ?? new ApiLog(new LogClient(o.url, { attempts: o.attempts ?? 3, ...(o.apiKey ? { apiKey: o.apiKey } : {}), ...(o.fetch ? { fetch: o.fetch } : {}) }));
  try {
    return await poll(o, key, client, saved?.opened, saved?.head, now);
  } catch (err) {
    // The log could not be read (network, 5xx, a malformed answer): nothing was learnt about it.
    if (err instanceof AuditAbort) throw new MonitorError(err.message, 1, { cause: err });
    throw err;
  }
}

async function poll(o: MonitorOptions, key: VerifierKey, client: LogReader, old: OpenedCheckpoint | undefined, oldHead: Block | undefined, now: Date): Promise<MonitorOutcome> {
  const note = await client.checkpoint();
  let latest: OpenedCheckpoint;
  try {
    latest = openCheckpoint(note, key);
  } catch (err) {
    throw new MonitorError(`${client.kind === 'bucket' ? `the checkpoint of the bucket ${client.base}` : "the log's /checkpoint"} does not verify with ${key.text}: ${(err as Error).message}`, 1, { cause: err });
  }
  const changed = old !== undefined && old.text !== latest.text;
  if (old !== undefined && changed) {
    const verdict = await compareWithSaved(client, key, old, latest, now);
    if (verdict !== undefined && 'format' in verdict) return writeFraud(o, verdict);
    if (verdict !== undefined) throw new MonitorAlarm([verdict]);
  }
  const problems: MonitorProblem[] = [];
  if (o.policy !== undefined) {
    // On every poll, not only when the checkpoint moved: a log that keeps showing this monitor a
    // frozen view while it advances the witnesses is caught here (SPEC.md#witnesses).
    const views = await compareWitnessViews(o.policy, o.fetch ?? fetch, client, key, latest, now);
    if (views.fraud !== undefined) return writeFraud(o, views.fraud);
    problems.push(...views.problems);
  }
  const served = await checkServedBlocks(client, key, oldHead, latest);
  if (!served.ok || problems.length > 0) throw new MonitorAlarm([...problems, ...(served.ok ? [] : served.problems)]);
  const warnings = [...served.warnings];
  const quorum = o.policy === undefined ? undefined : checkQuorum(o.policy, key, latest);
  if (quorum !== undefined) warnings.push(quorum);
  saveMonitorState(o.stateFile, o.url, key, latest, served.head, now);
  const checked: MonitorChecked = {
    head: { height: served.head.height, hash: toHex(blockHash(served.head, suiteOfKey(key))), time: served.head.time, timeSigned: served.head.format === 2 },
    blocks: served.checked,
    warnings,
  };
  const size = latest.checkpoint.size;
  const root = toHex(latest.checkpoint.root);
  if (old === undefined) return { status: 'initialized', size, root, ...checked };
  if (!changed) return { status: 'unchanged', size, ...checked };
  return { status: 'advanced', from: old.checkpoint.size, to: size, root, ...checked };
}

/**
 * compareWithSaved judges a served checkpoint that differs from the accepted one `old`: undefined
 * when the log proves it extends it; a fraud proof only on conclusive evidence (SPEC.md#fraud-proof:
 * the same size with another root, or a consistency proof the log served that fails against the
 * two signed checkpoints); otherwise a problem (a rollback, or the same tree signed again).
 * A proof that cannot be fetched throws: a network failure is never evidence.
 */
async function compareWithSaved(client: LogReader, key: VerifierKey, old: OpenedCheckpoint, latest: OpenedCheckpoint, now: Date): Promise<FraudProof | MonitorProblem | undefined> {
  const from = old.checkpoint.size;
  const to = latest.checkpoint.size;
  const info = { verifierKey: key.text, source: client.base, detectedAt: formatReceivedAt(now) };
  const evidence = { saved: old.note, served: latest.note };
  if (from === to) {
    const fraud = buildFraudProof(old, latest, [], info);
    if (fraud !== undefined) return fraud;
    // Same size and root, another signed text (another block header): two blocks seal one tree,
    // which a log never does (SPEC.md#chain-rules: no block with count 0 after genesis).
    return { kind: 'checkpoint-resigned', code: 'BLOCK_INVALID', message: `the log serves another signed checkpoint of the accepted tree (size ${to}): two blocks seal one tree`, evidence };
  }
  // A tree of size 0 needs no proof (RFC 9162 §2.1.4: the empty tree is a prefix of every tree).
  const lo = to < from ? to : from;
  const hi = to < from ? from : to;
  const answer: ProofAnswer = lo === 0n ? { proof: [] } : await client.consistencyProof(lo, hi);
  if (to > from) {
    if ('refused' in answer) {
      // A bucket that lacks a tile its own checkpoint needs is damaged: named, as an alarm.
      if (client.kind === 'bucket' && answer.behind !== true) {
        return { kind: 'tile-invalid', message: `the bucket cannot prove that its checkpoint of size ${to} extends the accepted one of size ${from}: ${answer.refused}`, evidence: { ...evidence, refused: answer.refused } };
      }
      throw new MonitorError(`the log does not prove that its checkpoint of size ${to} extends the accepted one of size ${from}: ${answer.refused}`, 1);
    }
    return judgeFromLog(client, old, latest, answer, info);
  }
  // Smaller than the accepted checkpoint. Checkpoints carry no trusted order, and a stale cache
  // looks the same, so on its own this is a rollback alarm; a proof the log serves that fails
  // against the two signed checkpoints convicts it.
  if ('refused' in answer || judgeConsistency(to, from, latest.checkpoint.root, old.checkpoint.root, answer.proof, suiteOfKey(key).tree) === 'consistent') {
    return {
      kind: 'rollback',
      message: `the log serves a signed checkpoint of size ${to}, smaller than the accepted one of size ${from}${'refused' in answer ? ` (${answer.refused})` : ' (its proof shows it is a prefix: the log went back, or a cache serves a stale checkpoint)'}`,
      expected: `size >= ${from}`,
      found: `size ${to}`,
      evidence: 'refused' in answer ? { ...evidence, refused: answer.refused } : { ...evidence, proof: answer.proof.map(toHex) },
    };
  }
  return judgeFromLog(client, old, latest, answer, info);
}

function writeFraud(o: MonitorOptions, proof: FraudProof): MonitorOutcome {
  const file = o.fraudProofFile ?? `${o.stateFile}.fraud-proof.json`;
  writeFileAtomic(file, JSON.stringify(proof, null, 2) + '\n');
  return { status: 'fraud', proof, file };
}

/** Options of {@link runMonitor}. */
export interface RunMonitorOptions extends MonitorOptions {
  /** Milliseconds between polls. */
  readonly intervalMs: number;
  /** Stops the loop (SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  readonly onOutcome?: (o: MonitorOutcome) => void;
  /** A poll that could not decide, or an alarm ({@link MonitorAlarm}, with its evidence): the loop goes on. */
  readonly onError?: (err: MonitorError) => void;
}

/**
 * runMonitor polls every `intervalMs` until `signal` aborts (resolves undefined) or fraud is found
 * (resolves the fraud outcome). Alarms and polls that cannot decide are reported through
 * `onError` and the loop goes on (the next poll checks again from the saved state); a local
 * problem (exit code 2: key, state file, policy) ends the loop with that error.
 */
export async function runMonitor(o: RunMonitorOptions): Promise<MonitorOutcome | undefined> {
  while (o.signal?.aborted !== true) {
    try {
      const outcome = await monitorOnce(o);
      o.onOutcome?.(outcome);
      if (outcome.status === 'fraud') return outcome;
    } catch (err) {
      if (!(err instanceof MonitorError) || err.exitCode === 2) throw err;
      o.onError?.(err);
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, o.intervalMs);
      o.signal?.addEventListener('abort', done, { once: true });
    });
  }
  return undefined;
}
